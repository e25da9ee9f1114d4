"""Converged PF-ODE solutions, the RK45 baseline and local truncation error (Fig. 2, App. D.1)."""

import math

import pytest
import torch
from helpers import raises_naming

from edm_src.denoisers import GaussianMixture
from edm_src.instruments.benchmarks import low_dim_mixture
from edm_src.instruments.metrics import rms_error
from edm_src.instruments.reference import (
    local_truncation_error,
    reference_samples,
    rk45_sampler,
    solve_pf_ode,
)
from edm_src.samplers import CountingNet, ablation_sampler, edm_sampler

S = 0.5  # std of the Gaussian test data N(0, S² I)


def gaussian(D=4, s=S):
    """N(0, s² I): D(x; σ) = s²/(s² + σ²) x and x(σ) = x(σ₀) √((σ² + s²)/(σ₀² + s²))."""
    return GaussianMixture(torch.zeros(1, D), torch.tensor([s]), torch.ones(1))


def latents(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.fixture(scope="module")
def mixture64():
    return low_dim_mixture()


@pytest.fixture(scope="module")
def converged(mixture64):
    """Latents z [4, 64] on the 64-D mixture, the exact state x(σ_min) and reference_samples (EDM range), to ~1e-10."""
    z = latents(4, 64)
    x_min, _ = solve_pf_ode(mixture64, z * 80, 80, 0.002, rtol=1e-11, atol=1e-11)
    return z, x_min, reference_samples(mixture64, z, rtol=1e-11, atol=1e-11)


# ------------------------------------------------------------- solve_pf_ode
def test_solve_pf_ode_matches_gaussian_closed_form():
    """For N(0, s² I) data the PF-ODE solution is x(σ) = x(σ_max) √((σ² + s²)/(σ_max² + s²)) (to ~1e-7 relative),
    in both directions of σ, and nfe counts the batched denoiser calls."""
    x_max = 80 * latents(5, 2, 2)
    factor = math.sqrt((0.002**2 + S**2) / (80**2 + S**2))
    net = CountingNet(gaussian())
    x_min, nfe = solve_pf_ode(net, x_max, 80, 0.002)
    torch.testing.assert_close(x_min, x_max * factor, rtol=1e-7, atol=0)
    assert x_min.shape == (5, 2, 2) and x_min.dtype == torch.float64 and nfe == net.nfe > 0
    back, _ = solve_pf_ode(gaussian(), x_min, 0.002, 80)
    torch.testing.assert_close(back, x_max, rtol=1e-7, atol=0)


def test_reference_samples_of_gaussian_data():
    """reference_samples = closed-form x(σ_min), then the last Euler step: D(x; σ_min) for σ(t) = t,
    and (x + D(x; σ_min))/2 for VE's σ(t) = √t, whose Euler step from t = σ_min² to 0 goes only halfway."""
    z, sigma_min, sigma_max = latents(6, 4), 0.002, 80.0
    x_min = z * sigma_max * math.sqrt((sigma_min**2 + S**2) / (sigma_max**2 + S**2))
    shrink = S**2 / (S**2 + sigma_min**2)
    ref = reference_samples(gaussian(), z, sigma_min, sigma_max)
    torch.testing.assert_close(ref, shrink * x_min, rtol=1e-7, atol=0)
    ve = reference_samples(gaussian(), z, sigma_min, sigma_max, schedule="ve")
    torch.testing.assert_close(ve, (1 + shrink) / 2 * x_min, rtol=1e-7, atol=0)


@pytest.mark.parametrize("sigma_min, eps", [(0.002, 1e-3), (0.5, 0.1)])
def test_reference_samples_with_the_vp_last_step(sigma_min, eps):
    """With σ(t), s(t) of VP (β's fitted to the range) the last Euler step from t = σ⁻¹(σ_min) to 0
    applied to the closed-form x̂(σ_min) is x − t [(σ̇/σ + ṡ/s) x − (σ̇ s/σ) D], x = s x̂ (Eq. 4),
    written out here in plain floats from Table 1 (at σ_min = 0.5 the ṡ/s term alone is 13%)."""
    z, sigma_max = latents(6, 4), 80.0
    L_min, L_max = math.log(sigma_min**2 + 1), math.log(sigma_max**2 + 1)
    beta_d = 2 * (L_min / eps - L_max) / (eps - 1)
    beta_min = L_max - 0.5 * beta_d
    t = (math.sqrt(beta_min**2 + 2 * beta_d * L_min) - beta_min) / beta_d
    sigma = math.sqrt(math.exp(0.5 * beta_d * t**2 + beta_min * t) - 1)
    sigma_dot = 0.5 * (beta_d * t + beta_min) * (sigma + 1 / sigma)
    s = 1 / math.sqrt(1 + sigma**2)
    s_dot = -sigma * sigma_dot * s**3
    x_hat = z * sigma_max * math.sqrt((sigma_min**2 + S**2) / (sigma_max**2 + S**2))
    D = S**2 / (S**2 + sigma**2) * x_hat
    x = s * x_hat
    expected = x - t * ((sigma_dot / sigma + s_dot / s) * x - sigma_dot * s / sigma * D)
    got = reference_samples(
        gaussian(), z, sigma_min, sigma_max, schedule="vp", scaling="vp", epsilon_s=eps
    )
    torch.testing.assert_close(got, expected, rtol=1e-7, atol=0)


def test_edm_sampler_converges_to_the_reference_at_order_two(mixture64, converged):
    """On the 64-D low-dimensional mixture, edm_sampler's endpoint error against reference_samples
    decays as N⁻² (Heun is second order; the reference is converged to ~1e-10)."""
    z, _, ref = converged
    Ns = torch.tensor([32.0, 64.0, 128.0], dtype=torch.float64)
    errors = torch.tensor([rms_error(edm_sampler(mixture64, z, num_steps=int(N)), ref) for N in Ns])
    x, y = Ns.log(), errors.log().to(torch.float64)
    slope = (((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()).item()
    assert slope == pytest.approx(-2, abs=0.25)


@pytest.mark.parametrize(
    "schedule, scaling, discretization", [("vp", "vp", "edm"), ("ve", "none", "ve")]
)
def test_one_trajectory_serves_every_schedule(
    mixture64, converged, schedule, scaling, discretization
):
    """Eq. 4 reparameterises the same trajectories x̂(σ) = x/s: VP- and VE-style samplers pass through the
    σ(t) = t solution at σ_min, and their outputs converge (at order 2) to reference_samples with their own last step."""
    z, x_min, _ = converged
    ref = reference_samples(
        mixture64, z, schedule=schedule, scaling=scaling, rtol=1e-11, atol=1e-11
    )
    errors, state_errors = [], []
    for N in (32, 128):
        steps = []
        out = ablation_sampler(
            mixture64,
            z,
            num_steps=N,
            sigma_min=0.002,
            sigma_max=80,
            schedule=schedule,
            scaling=scaling,
            discretization=discretization,
            callback=steps.append,
        )
        errors.append(rms_error(out, ref))
        state_errors.append(rms_error(steps[-1]["x_cur"] / steps[-1]["s_cur"], x_min))
    assert errors[1] < 1e-3 and 10 < errors[0] / errors[1] < 24
    assert state_errors[1] < 1e-3 and 10 < state_errors[0] / state_errors[1] < 24


# ------------------------------------------------------------------- RK45
def test_rk45_error_falls_as_tolerance_tightens(mixture64, converged):
    """scipy's adaptive RK45 (Fig. 2's black-box baseline) spends more NFE and gets closer to the reference
    as rtol = atol shrinks; its NFE counts every denoiser call, the final Euler step included."""
    z, _, ref = converged
    results = []
    for tol in (1e-2, 1e-3, 1e-4):
        net = CountingNet(mixture64)
        x, nfe = rk45_sampler(net, z, rtol=tol, atol=tol)
        assert nfe == net.nfe and x.shape == z.shape
        results.append((nfe, rms_error(x, ref)))
    (n1, e1), (n2, e2), (n3, e3) = results
    assert n1 < n2 < n3 and e1 > e2 > e3 and e3 < 1e-3


# ----------------------------------------------------- local truncation error
def test_lte_of_gaussian_matches_hand_computed_steps():
    """For N(0, s² I) the exact state and the step are closed-form: Euler's x + h σ/(σ² + s²) x and Heun's
    average of the two slopes; local_truncation_error returns their RMS difference from the exact next state."""
    z, sigmas = latents(3, 4), torch.tensor([10.0, 3.0, 1.0, 0.4], dtype=torch.float64)
    x = [z * 10 * math.sqrt((s**2 + S**2) / (100 + S**2)) for s in sigmas.tolist()]
    slope = lambda x, s: s / (s**2 + S**2) * x  # noqa: E731  dx/dσ = (x − D)/σ
    for solver in ("euler", "heun"):
        want = []
        for i in range(3):
            s0, s1 = sigmas[i].item(), sigmas[i + 1].item()
            step = x[i] + (s1 - s0) * slope(x[i], s0)
            if solver == "heun":
                step = x[i] + (s1 - s0) * 0.5 * (slope(x[i], s0) + slope(step, s1))
            want.append(rms_error(step, x[i + 1]))
        got = local_truncation_error(gaussian(), z, sigmas, solver=solver)
        torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float64), rtol=1e-6, atol=0)


@pytest.mark.parametrize("solver, ratio", [("heun", 8), ("euler", 4)])
def test_lte_order_on_a_uniform_grid(mixture64, solver, ratio):
    """Halving the step of a uniform σ grid divides the local error at a fixed σ by ≈ 2^(p+1):
    ≈ 8 for Heun (LTE O(h³)) and ≈ 4 for Euler (O(h²))."""
    z = latents(4, 64)
    coarse = local_truncation_error(
        mixture64, z, torch.linspace(5, 0.5, 10, dtype=torch.float64), solver
    )
    fine = local_truncation_error(
        mixture64, z, torch.linspace(5, 0.5, 19, dtype=torch.float64), solver
    )
    measured = coarse[:4] / fine[::2][:4]  # the same σ_i, step h and h/2
    assert ((measured > 0.8 * ratio) & (measured < 1.3 * ratio)).all()


def test_rho_moves_the_error_away_from_low_sigma(mixture64):
    """App. D.1: with uniform σ steps (ρ = 1) the local error explodes at the lowest σ; Eq. 5's ρ = 7
    shortens the steps there and cuts the largest per-step error by orders of magnitude."""
    from edm_src.schedules import edm_sigma_steps

    z = latents(4, 64)
    lte = {
        rho: local_truncation_error(mixture64, z, edm_sigma_steps(18, rho=rho), reference_rtol=1e-8)
        for rho in (1, 7)
    }
    assert lte[1].argmax() == 16 and lte[1].max() > 100 * lte[7].max()


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: solve_pf_ode(gaussian(), torch.zeros(2, 4), 0.0, 1.0), "sigma_start"),
        (lambda: solve_pf_ode(gaussian(), torch.zeros(2, 4), 1.0, -1.0), "sigma_end"),
        (lambda: solve_pf_ode(gaussian(), torch.zeros(2, 4), 1.0, 0.1, method="euler"), "method"),
        (lambda: solve_pf_ode(gaussian(), torch.zeros(2, 4), 1.0, 0.1, rtol=0), "rtol"),
        (lambda: reference_samples(gaussian(), torch.zeros(2, 4), sigma_min=0.0), "sigma_min"),
        (lambda: reference_samples(gaussian(), torch.zeros(2, 4), schedule="cosine"), "schedule"),
        (lambda: rk45_sampler(gaussian(), torch.full((2, 4), math.nan)), "latents"),
        (
            lambda: local_truncation_error(gaussian(), torch.zeros(2, 4), torch.tensor([1.0, 2.0])),
            "sigma_steps",
        ),
        (
            lambda: local_truncation_error(gaussian(), torch.zeros(2, 4), torch.tensor([1.0, 0.0])),
            "sigma_steps",
        ),
        (
            lambda: local_truncation_error(
                gaussian(), torch.zeros(2, 4), torch.tensor([2.0, 1.0]), "rk4"
            ),
            "solver",
        ),
    ],
)
def test_bad_inputs_raise(call, name):
    """Invalid arguments raise ValueError naming the argument."""
    with raises_naming(name):
        call()
