"""Regression tests for the edges an outside audit probed (about 42,000 inputs): each line is one
root cause it found, now a ValueError naming the argument, or now a correct finite result.

Kept apart from the table of tests/test_validation.py because each case needs a particular
combination of arguments (a range, a net with odd attributes, a huge but finite value).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import raises_naming, randn  # noqa: E402

from edm_src import (  # noqa: E402  # noqa: E402  # noqa: E402
    EDMLoss,
    EmpiricalDenoiser,
    GaussianMixture,
    ablation_sampler,
    convergence,
    edm_sampler,
    losses,
    metrics,
    plotting,
    preconditioning,
    record_trajectory,
    reference,
    schedules,
    sde_sampler,
    sweeps,
    toy_mixture,
)
from edm_src.samplers import run_counted  # noqa: E402

RING = toy_mixture("ring")
Z = randn(4, 2)
AX = plt.subplots()[1]


def zero(x, sigma, class_labels=None):
    """A net that does not check its input, like a neural network."""
    return 0 * x


def net_with(**attributes):
    """A zero net with the given protocol attributes."""
    return type("Net", (), {"__call__": lambda self, x, s, c=None: 0 * x, **attributes})()


CASES = [
    # numbers that are not numbers: meta and sparse tensors, float8, huge integers
    (lambda: edm_sampler(RING, Z, sigma_max=torch.tensor(80.0, device="meta")), "sigma_max"),
    (lambda: edm_sampler(RING, torch.zeros(4, 2).to(torch.float8_e4m3fn)), "latents"),
    (lambda: edm_sampler(RING, torch.zeros(4, 2).to_sparse()), "latents"),
    (lambda: data_n(10**30), "n"),
    (lambda: toy_mixture("ring", K=10**30), "K"),
    (lambda: toy_mixture("grid", side=10**6), "side"),
    (lambda: RING.sample(10**30), "n"),
    (lambda: EDMLoss().sample_sigma((10**30,)), "shape"),
    (lambda: plotting.image_grid(torch.zeros(1, 1, 8, 8), nrow=10**12), "nrow"),
    # finite settings whose squares or exponentials leave float64 (or float32) behind
    (lambda: GaussianMixture([[0.0, 0.0]], [1e200], [1.0]), "stds"),
    (lambda: GaussianMixture([[1e200]], [0.0], [1.0]), "means"),
    (lambda: EmpiricalDenoiser(torch.tensor([[1e160, 0.0]], dtype=torch.float64)), "data"),
    (lambda: EDMLoss(sigma_data=1e200), "sigma_data"),
    (lambda: EDMLoss(P_mean=89.0), "P_mean"),
    (lambda: losses.VELoss(sigma_min=1e-300, sigma_max=1.0), "sigma_min"),
    (lambda: losses.VPLoss(beta_d=200.0), "beta_d"),
    (lambda: preconditioning.VPPrecond(None, beta_d=2000.0), "beta_d"),
    (lambda: preconditioning.EDMPrecond(None, sigma_data=1e39), "sigma_data"),
    (lambda: RING.sample(3, sigma=1e200), "sigma"),
    (lambda: schedules.vp_sigma_inv(1.0, beta_min=1e200), "beta_min"),
    (lambda: schedules.ve_sigma_inv(1e200), "sigma"),
    (lambda: schedules.vp_sigma_inv(1.0, beta_d=-1.0), "sigma"),
    (lambda: schedules.iddpm_u(M=10, C_1=2.0), "C_1"),
    (lambda: schedules.iddpm_u(M=10, C_2=1e30), "C_2"),
    # ranges that float64 cannot discretize, or that no increasing VP schedule fits
    (lambda: schedules.edm_sigma_steps(2, 1e-15, 80.0, rho=1.0), "rho"),
    (lambda: edm_sampler(RING, Z, num_steps=2, sigma_min=1e-3, sigma_max=1.0, rho=0.125), "rho"),
    (lambda: schedules.ve_sigma_steps(5, 1e-200, 80.0), "sigma_min"),
    (lambda: edm_sampler(RING, Z, sigma_min=1e-150), "sigma_min"),
    (lambda: reference.reference_samples(RING, Z, sigma_min=5e-324, sigma_max=10), "sigma_min"),
    (lambda: ablation_sampler(zero, Z, schedule="vp", sigma_min=1e-9, sigma_max=80), "sigma_min"),
    (lambda: schedules.vp_sigma_steps(5, 1.9, 2.0), "sigma_min"),
    (
        lambda: ablation_sampler(zero, Z, discretization="vp", sigma_min=1.0, epsilon_s=1e-4),
        "sigma_min",
    ),
    (
        lambda: ablation_sampler(zero, Z, discretization="ve", schedule="vp", epsilon_s=1e-158),
        "epsilon_s",
    ),
    (lambda: schedules.vp_beta_from_sigma_range(1.0, 80.0, epsilon_s=1e-310), "epsilon_s"),
    (lambda: reference.rk45_sampler(RING, Z, sigma_max=1e15), "sigma_max"),
    # values at the edge of a formula's domain
    (lambda: schedules.vp_sigma_deriv(0.0), "t"),
    (lambda: schedules.ve_sigma_deriv(0.0), "t"),
    (lambda: schedules.iddpm_alpha_bar(0.5), "j"),
    # callables and protocol attributes that are not what they claim
    (lambda: edm_sampler(net_with(round_sigma=3), Z), "net.round_sigma"),
    (lambda: edm_sampler(net_with(round_sigma=lambda self, s: 0 * s), Z), "net.round_sigma(sigma)"),
    (lambda: edm_sampler(net_with(dim=2.0), torch.zeros(4, 3)), "latents"),
    (lambda: edm_sampler(lambda x, s: x, Z), "net"),
    (lambda: edm_sampler(lambda x, s, c=None: x * math.nan, Z), "net output"),
    (lambda: EDMLoss()(lambda x, s, c=None: x * math.nan, Z), "net output"),
    (lambda: edm_sampler(zero, Z, S_churn=5, randn_like=lambda x: x * math.nan), "randn_like"),
    (
        lambda: edm_sampler(zero, Z, S_churn=5, randn_like=lambda x: x.to(torch.complex128)),
        "randn_like",
    ),
    (lambda: edm_sampler(zero, Z, S_churn=10, S_noise=1e308), "S_noise"),
    (lambda: sde_sampler(zero, Z, beta=1e62), "beta"),
    (lambda: sweeps.denoiser_error_profile(lambda x, s, c=None: x[:1], RING, Z, [0.1]), "net"),
    (lambda: metrics.pca_features(randn(10, 3), 2)(randn(5, 2)), "x"),
    # keyword arguments passed on, checked before any work
    (lambda: sweeps.metric_vs_nfe(edm_sampler, RING, Z, float, [2, 3], num_steps=4), "num_steps"),
    (
        lambda: sweeps.setting_sweep(
            edm_sampler, RING, Z, float, "S_churn", [0.0], randn_like=torch.randn_like
        ),
        "randn_like",
    ),
    (
        lambda: sweeps.setting_sweep(
            edm_sampler, zero, Z, float, "S_churn", [0.0, 1.0, "x"], num_steps=3
        ),
        "S_churn",
    ),
    (lambda: record_trajectory(reference.rk45_sampler, RING, Z), "callback"),
    (lambda: record_trajectory(lambda net, latents, **kw: latents, RING, Z), "sampler"),
    (
        lambda: preconditioning.EDMPrecond(lambda x, n, class_labels=None: x)(
            torch.zeros(2, 2), 1.0, augment_label=None
        ),
        "augment_label",
    ),
    (lambda: EDMLoss()(RING, Z, augment_pipe=lambda y: (y, None)), "augment_labels"),
    (lambda: run_counted(edm_sampler, RING, Z, foo=1), "foo"),
    # statistics of nothing, or of values whose squares overflow
    (lambda: convergence.nfe_sweep(RING, torch.zeros(0, 2), [2, 3], torch.zeros(0, 2)), "latents"),
    (lambda: convergence.per_sample_error(torch.zeros(3, 0), torch.zeros(3, 0)), "x"),
    (lambda: sweeps.denoiser_error_profile(RING, RING, torch.zeros(0, 2), [0.1]), "y"),
    (
        lambda: sweeps.whitened_frechet_distance(
            torch.zeros(3, 0), torch.zeros(0), torch.zeros(0, 0)
        ),
        "x",
    ),
    (
        lambda: metrics.frechet_distance_samples(
            randn(20, 3) * 1e100, randn(20, 3, seed=1) * 1e100
        ),
        "x",
    ),
    (
        lambda: metrics.frechet_distance_gaussians(
            torch.zeros(2, 2), torch.eye(4), torch.zeros(4), torch.eye(4)
        ),
        "mean1",
    ),
    (lambda: sweeps.spread_ratio(randn(5, 2), torch.zeros(2, 2), 1), "cov"),
    (lambda: sweeps.spread_ratio(randn(5, 2), -torch.eye(2), 1), "cov"),
    (
        lambda: metrics.fidelity_report(
            toy_mixture("two_blobs"), torch.full((4, 2), 1e200, dtype=torch.float64)
        ),
        "samples",
    ),
    # devices that hold no values
    (lambda: losses.VPLoss().sample_sigma((3,), device="meta"), "device"),
    (lambda: RING.to("meta"), "device"),
    # plots: the axes, the colour map, the style keywords, the frames, checked before drawing
    (lambda: plotting.plot_points(None, Z), "ax"),
    (lambda: plotting.plot_density_2d(AX, RING, n=4, cmap="nope"), "cmap"),
    (lambda: plotting.plot_points(AX, Z, foo=1), "kwargs"),
    (lambda: plotting.points_trace(Z, foo=1), "kwargs"),
    (lambda: plotting.show_images(AX, torch.zeros(1, 1, 2, 2), title=torch.ones(2)), "title"),
    (lambda: plotting.plot_density_2d(AX, toy_mixture("line_1d"), n=4), "mixture"),
    (lambda: plotting.image_grid(torch.zeros(1, 2, 2, 2), 1), "images"),
    (lambda: plotting.slider_figure({1: 5}, "s"), "frames[1]"),
    (lambda: plotting.slider_figure({1: [go.Scatter()]}, "s", layout={"bogus": 1}), "layout"),
    (lambda: plotting.explorable(lambda v: 5, ("s", [1, 2]), live=False), "compute(...)"),
    (lambda: plotting.explorable(lambda v: [], ("s", [[1], [2]]), live=False), "slider values"),
    (lambda: plotting.InteractiveFigure(go.Figure(), config={1: 2}), "config"),
]


def data_n(n):
    from edm_src import toy_samples

    return toy_samples("spiral", n=n)


@pytest.mark.parametrize(
    "call, name", CASES, ids=[f"{i:02d}-{name}" for i, (_, name) in enumerate(CASES)]
)
def test_edge_case_is_a_value_error_naming_the_argument(call, name):
    """The call raises a ValueError whose message starts with the argument's name."""
    with raises_naming(name):
        call()


def test_edge_cases_that_now_compute():
    """Where the value exists, it is computed: a root mean square beyond 1e154, weights near
    float64's maximum, an empty batch, a density that underflows over the whole plotted range,
    and the probability-flow ODE (β = 0) of sde_sampler, which draws no noise."""
    assert metrics.rms_error([1e300], [-1e300]) == 2e300
    heavy = GaussianMixture([[0.0, 0.0], [1.0, 1.0]], [0.1, 0.1], [1e308, 1e308])
    torch.testing.assert_close(heavy.weights, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert convergence.per_sample_error(torch.zeros(0, 2), torch.zeros(0, 2)).shape == (0,)
    density = plotting.plot_density_1d_over_sigma(
        AX, toy_mixture("line_1d"), [0.1], x_range=(100, 101)
    )
    assert (density == 0).all()
    nan_noise = lambda x: torch.full_like(x, math.nan)  # noqa: E731
    out = sde_sampler(RING, Z, beta=0.0, randn_like=nan_noise)
    assert torch.isfinite(out).all()


def test_a_solve_that_does_not_converge_stops_with_an_error(monkeypatch):
    """A net that is not deterministic makes an adaptive solver shrink its steps without end:
    the solve stops after MAX_SOLVER_NFE evaluations (lowered here to keep the test short) with a
    ValueError naming the net, instead of running for hours."""
    monkeypatch.setattr(reference, "MAX_SOLVER_NFE", 2000)
    noisy = lambda x, s, c=None: x + 1e-3 * torch.randn_like(x)  # noqa: E731
    with raises_naming("net"):
        reference.solve_pf_ode(noisy, Z, 10.0, 0.1)
