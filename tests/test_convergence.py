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
    speedup,
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


def test_sweep_at_sigma_min_compares_the_state_before_the_last_step():
    """For N(0, s²) data the exact x̂(σ_min) is z σ_max √((σ_min² + s²)/(σ_max² + s²)) (the ODE
    scales x by √(σ² + s²)); `last_steps` None returns it, and Heun's state at σ_min converges to it
    at second order."""
    s, lo, hi = 0.5, 0.002, 80.0
    net, z = gaussian(s), randn(16, 3, seed=106)
    ref = converged_references(net, z, lo, hi, {"state": None}, rtol=1e-11)["state"]
    torch.testing.assert_close(
        ref, z * hi * math.sqrt((lo**2 + s**2) / (hi**2 + s**2)), rtol=1e-8, atol=1e-10
    )
    sweep = nfe_sweep(net, z, [16, 32, 64], ref, at="sigma_min", sigma_min=lo, sigma_max=hi)
    slope = np.polyfit(np.log(sweep["num_steps"]), np.log(sweep["median_error"]), 1)[0]
    assert abs(slope + 2) < 0.25
    assert sweep["errors"].shape == (3, 16)
    lower_median = np.sort(sweep["errors"], axis=1)[:, (16 - 1) // 2]  # torch's median: the lower
    np.testing.assert_allclose(lower_median, sweep["median_error"])


def test_sweep_at_sigma_min_keeps_the_users_callback():
    """With at='sigma_min' a callback given by the caller is still called after every step."""
    net, z = gaussian(), randn(4, 3, seed=107)
    ref = converged_references(net, z, 0.002, 80.0, {"state": None}, rtol=1e-9)["state"]
    calls = []
    nfe_sweep(net, z, [3, 5], ref, at="sigma_min", callback=lambda step: calls.append(step["i"]))
    assert calls == [0, 1, 2, 0, 1, 2, 3, 4]


def power_law_sweep(nfe, order, factors):
    """A fake nfe_sweep: sample b's error is factors[b] / NFE^order."""
    nfe = np.asarray(nfe, dtype=float)
    return {"nfe": nfe, "errors": factors[None, :] / nfe[:, None] ** order}


def test_speedup_of_second_over_first_order_is_the_nfe():
    """Base error a/n, new error a/n²: the base needs n² evaluations for new's error at n, a speed-up
    of n; every sample shares the factor a, so every bootstrap resample gives the same ratio."""
    factors = torch.rand(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.5
    base = power_law_sweep([4, 16, 64, 256, 1024], 1, factors.numpy())
    new = power_law_sweep([5, 10, 20], 2, factors.numpy())
    result = speedup(base, new, num_resamples=50)
    np.testing.assert_allclose(result["speedup"], [5, 10, 20], rtol=1e-9)
    np.testing.assert_allclose(result["low"], result["speedup"], rtol=1e-9)
    np.testing.assert_allclose(result["high"], result["speedup"], rtol=1e-9)
    assert math.isnan(speedup(base, power_law_sweep([40], 2, factors.numpy()))["speedup"][0])


def test_speedup_of_a_sampler_over_itself_is_one_and_the_band_brackets_it():
    """The same sweep as base and new gives 1 at every NFE; with unpaired per-sample factors the
    bootstrap band is not degenerate and contains the estimate; a fixed seed repeats it bitwise."""
    g = torch.Generator().manual_seed(1)
    base = power_law_sweep([8, 16, 32, 64], 1, torch.rand(40, generator=g).double().numpy() + 0.5)
    np.testing.assert_allclose(speedup(base, base)["speedup"], 1.0, rtol=1e-9)
    new = power_law_sweep([16], 1.5, torch.rand(40, generator=g).double().numpy() + 0.5)
    result = speedup(base, new, num_resamples=100, seed=3)
    assert result["low"][0] < result["speedup"][0] < result["high"][0]
    again = speedup(base, new, num_resamples=100, seed=3)
    assert (again["low"] == result["low"]).all() and (again["high"] == result["high"]).all()
