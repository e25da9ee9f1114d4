"""Error-vs-NFE machinery (Figure 2): references shared across schedules, sweeps, the marker, the speed-up."""

import math

import numpy as np
import pytest
import torch
from helpers import randn

from edm_src import GaussianMixture, ablation_sampler, edm_sampler, reference_samples
from edm_src.instruments.convergence import (
    converged_references,
    lowest_nfe_within,
    nfe_sweep,
    nfe_to_match,
    per_sample_error,
)


def gaussian(s=0.5, D=3):
    return GaussianMixture(
        torch.zeros(1, D, dtype=torch.float64),
        torch.tensor([s], dtype=torch.float64),
        torch.ones(1),
    )


def test_per_sample_error_is_rms_per_sample():
    """Each sample's error is the RMS of its own difference; zero for identical inputs."""
    x = torch.zeros(2, 4, dtype=torch.float64)
    y = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(
        per_sample_error(x, y), torch.tensor([1.0, 1.0], dtype=torch.float64)
    )
    assert per_sample_error(y, y).abs().max() == 0


def test_converged_references_match_reference_samples():
    """One ODE solve with several last steps equals reference_samples for each (schedule, scaling)."""
    net, z = gaussian(), randn(4, 3, seed=101)
    refs = converged_references(
        net, z, 0.02, 100.0, {"ve": ("ve", "none"), "edm": ("linear", "none")}, rtol=1e-10
    )
    for name, (schedule, scaling) in {"ve": ("ve", "none"), "edm": ("linear", "none")}.items():
        want = reference_samples(
            net, z, 0.02, 100.0, schedule=schedule, scaling=scaling, rtol=1e-10, atol=1e-10
        )
        torch.testing.assert_close(refs[name], want, rtol=1e-12, atol=1e-12)


def test_gaussian_reference_is_the_closed_form():
    """For N(0, s²) data the converged EDM sample is D(x(σ_min); σ_min) with x(σ) ∝ √(σ² + s²)."""
    s, lo, hi = 0.5, 0.002, 80.0
    z = randn(5, 3, seed=102)
    ref = converged_references(gaussian(s), z, lo, hi, {"edm": ("linear", "none")}, rtol=1e-11)[
        "edm"
    ]
    x_min = z * hi * math.sqrt((lo**2 + s**2) / (hi**2 + s**2))
    torch.testing.assert_close(ref, s**2 / (s**2 + lo**2) * x_min, rtol=1e-8, atol=1e-10)


def test_sweep_counts_nfe_and_converges_at_second_order():
    """Heun: NFE = 2N − 1, and the median error falls ~4× per doubling of N (order 2)."""
    net, z = gaussian(), randn(16, 3, seed=103)
    ref = converged_references(net, z, 0.002, 80.0, {"edm": ("linear", "none")}, rtol=1e-11)["edm"]
    sweep = nfe_sweep(
        net, z, [32, 64, 128], ref, sampler=edm_sampler, metric=lambda x: float(x.std())
    )
    assert sweep["nfe"].tolist() == [63, 127, 255]
    slope = np.polyfit(np.log(sweep["num_steps"]), np.log(sweep["median_error"]), 1)[0]
    assert abs(slope + 2) < 0.25
    assert np.isfinite(sweep["metric"]).all() and (sweep["switched"] == 0).all()


def test_sweep_passes_sampler_settings():
    """Euler through ablation_sampler costs N evaluations and converges at first order."""
    net, z = gaussian(), randn(16, 3, seed=104)
    ref = converged_references(net, z, 0.02, 100.0, {"ve": ("ve", "none")}, rtol=1e-11)["ve"]
    sweep = nfe_sweep(
        net,
        z,
        [64, 128, 256],
        ref,
        solver="euler",
        discretization="ve",
        schedule="ve",
        scaling="none",
        sigma_min=0.02,
        sigma_max=100.0,
    )
    assert sweep["nfe"].tolist() == [64, 128, 256]
    slope = np.polyfit(np.log(sweep["num_steps"]), np.log(sweep["median_error"]), 1)[0]
    assert abs(slope + 1) < 0.2
    assert math.isnan(sweep["metric"][0])


def test_lowest_nfe_within():
    """The marker is the smallest NFE within 3% of the best value; NaN if none is."""
    nfe, values = [10, 20, 40, 80], [2.0, 1.05, 1.02, 1.0]
    assert lowest_nfe_within(nfe, values, best=1.0) == 40
    assert lowest_nfe_within(nfe, values, best=1.0, tolerance=0.06) == 20
    assert math.isnan(lowest_nfe_within(nfe, values, best=0.5))


def test_nfe_to_match_interpolates_in_log_log():
    """On an exact power law e = 1/NFE² the interpolated NFE for a target is exact; outside the curve: NaN."""
    nfe = [10, 20, 40, 80]
    errors = [1 / n**2 for n in nfe]
    assert nfe_to_match(nfe, errors, 1 / 30**2) == pytest.approx(30)
    assert nfe_to_match(nfe, errors, 1.0) == 10
    assert math.isnan(nfe_to_match(nfe, errors, 1e-9))


def test_ablation_vp_sampler_converges_to_its_own_reference():
    """A VP sampler (schedule and scaling 'vp') converges to the reference with VP's last step."""
    net, z = gaussian(), randn(8, 3, seed=105)
    lo, hi = 0.0105, 152.0
    ref = converged_references(net, z, lo, hi, {"vp": ("vp", "vp")}, rtol=1e-11)["vp"]
    x = ablation_sampler(
        net,
        z,
        num_steps=256,
        sigma_min=lo,
        sigma_max=hi,
        schedule="vp",
        scaling="vp",
        discretization="edm",
    )
    assert per_sample_error(x, ref).max() < 1e-4
