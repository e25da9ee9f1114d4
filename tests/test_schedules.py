"""Table 1's schedules σ(t), scalings s(t) and time discretizations."""

import math

import pytest
import torch
from helpers import raises_naming

from edm_src.schedules import (
    default_sigma_range,
    edm_sigma_steps,
    get_scaling,
    get_schedule,
    get_sigma_steps,
    iddpm_sigma_steps,
    iddpm_u,
    ve_sigma_steps,
    vp_beta_from_sigma_range,
    vp_scaling,
    vp_scaling_deriv,
    vp_sigma,
    vp_sigma_deriv,
    vp_sigma_inv,
    vp_sigma_steps,
)

EDM_GRID_18 = "80 57.6 40.8 28.4 19.4 12.9 8.40 5.32 3.26 1.92 1.09 0.585 0.296 0.140 0.060 0.023 0.0075 0.002"


def test_edm_grid_matches_the_paper_for_18_steps():
    """Eq. 5 with σ ∈ [0.002, 80], ρ = 7, N = 18 gives the paper's printed steps (to the printed digits)."""
    steps = edm_sigma_steps(18)
    assert steps.dtype == torch.float64 and steps.shape == (18,)
    for value, printed in zip(steps.tolist(), EDM_GRID_18.split()):
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        assert abs(value - float(printed)) <= 0.5 * 10**-decimals, (value, printed)


def test_vp_default_range():
    """With β_d = 19.9, β_min = 0.1: σ(ε_s = 10⁻³) ≈ 0.0105 and σ(1) ≈ 152 (the VP sampler's range)."""
    assert vp_sigma(1e-3).item() == pytest.approx(0.0105, abs=5e-5)
    assert vp_sigma(1.0).item() == pytest.approx(152.0, abs=0.5)
    assert default_sigma_range("vp") == (vp_sigma(1e-3).item(), vp_sigma(1.0).item())
    assert default_sigma_range("ve") == (0.02, 100)
    assert default_sigma_range("iddpm") == (0.002, 81)
    assert default_sigma_range("edm") == (0.002, 80)


def test_vp_sigma_inverse_is_inverse():
    """σ⁻¹(σ(t)) = t and σ(σ⁻¹(σ)) = σ for the VP schedule, also with other β's."""
    t = torch.linspace(1e-4, 1, 101, dtype=torch.float64)
    for beta_d, beta_min in [(19.9, 0.1), (5.0, 2.0)]:
        torch.testing.assert_close(vp_sigma_inv(vp_sigma(t, beta_d, beta_min), beta_d, beta_min), t)
    sigma = torch.logspace(-3, 2, 51, dtype=torch.float64)
    torch.testing.assert_close(vp_sigma(vp_sigma_inv(sigma)), sigma)


def test_vp_scaling_is_one_over_sqrt_one_plus_sigma_squared():
    """VP's s(t) = 1/√(e^{½β_d t² + β_min t}) equals 1/√(1 + σ(t)²), and ṡ = −σ σ̇ s³ (Eq. 4)."""
    t = torch.linspace(1e-3, 1, 50, dtype=torch.float64)
    torch.testing.assert_close(vp_scaling(t), 1 / (1 + vp_sigma(t) ** 2).sqrt())
    torch.testing.assert_close(
        vp_scaling_deriv(t), -vp_sigma(t) * vp_sigma_deriv(t) * vp_scaling(t) ** 3
    )


@pytest.mark.parametrize("schedule", ["vp", "ve", "linear"])
@pytest.mark.parametrize("scaling", ["vp", "none"])
def test_derivatives_match_autograd_and_inverses(schedule, scaling):
    """σ̇ and ṡ equal the autograd derivatives of σ and s, and σ⁻¹∘σ = id, for every schedule/scaling."""
    sigma, sigma_deriv, sigma_inv = get_schedule(schedule)
    s, s_deriv = get_scaling(scaling, sigma, sigma_deriv)
    t = torch.linspace(0.01, 1.0, 40, dtype=torch.float64).requires_grad_()
    (grad_sigma,) = torch.autograd.grad(sigma(t).sum(), t)
    s_t = s(t)  # s = 1 is a constant: its derivative is 0
    grad_s = torch.autograd.grad(s_t.sum(), t)[0] if s_t.requires_grad else torch.zeros_like(t)
    t = t.detach()
    torch.testing.assert_close(sigma_deriv(t), grad_sigma, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(s_deriv(t), grad_s, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(sigma_inv(sigma(t)), t, rtol=1e-10, atol=1e-12)


def test_derivatives_match_central_differences():
    """σ̇ of each schedule matches the central difference (σ(t+h) − σ(t−h))/2h to O(h²)."""
    t, h = torch.tensor([0.05, 0.3, 0.9], dtype=torch.float64), 1e-6
    for name in ("vp", "ve", "linear"):
        sigma, sigma_deriv, _ = get_schedule(name)
        torch.testing.assert_close(
            sigma_deriv(t), (sigma(t + h) - sigma(t - h)) / (2 * h), rtol=1e-6, atol=0
        )


def test_vp_beta_from_sigma_range_recovers_defaults_and_fits_other_ranges():
    """Solving σ(ε_s) = σ_min, σ(1) = σ_max for (β_d, β_min) gives back (19.9, 0.1) from the default range."""
    beta_d, beta_min = vp_beta_from_sigma_range(vp_sigma(1e-3).item(), vp_sigma(1.0).item(), 1e-3)
    assert beta_d == pytest.approx(19.9, rel=1e-10) and beta_min == pytest.approx(0.1, rel=1e-8)
    beta_d, beta_min = vp_beta_from_sigma_range(0.002, 80, 1e-3)
    assert vp_sigma(1e-3, beta_d, beta_min).item() == pytest.approx(0.002, rel=1e-10)
    assert vp_sigma(1.0, beta_d, beta_min).item() == pytest.approx(80, rel=1e-12)


def test_iddpm_levels():
    """The iDDPM levels decrease from u_0 to u_M = 0, and with σ_max = 81 the first kept level is u_8 ≈ 80.2."""
    u = iddpm_u()
    assert u.shape == (1001,) and u.dtype == torch.float64
    assert u[-1] == 0 and (u[:-1] > u[1:]).all()
    assert u[8].item() == pytest.approx(80.2, abs=0.01) and u[7] > 81 > u[8]
    steps = iddpm_sigma_steps(18, 0.002, 81)
    assert (
        steps[0] == u[8] and steps[-1] == u[999]
    )  # u_{M−1} ≈ 0.0064 is the smallest level ≥ 0.002
    assert set(steps.tolist()) <= set(u.tolist())


@pytest.mark.parametrize(
    "num_steps, sigma_max", [(18, 81.0), (5, 80.0), (9, 80.0), (50, 81.0), (256, 81.0)]
)
def test_iddpm_steps_pick_evenly_spaced_levels(num_steps, sigma_max):
    """Step i is kept level round((K − 1)/(N − 1)·i), ties to even, for every i.

    With σ_max = 80 the kept levels are u_9 … u_999 (K = 991); N = 5 then has an
    exact tie at i = 3 ((990/4)·3 = 742.5), which goes to the even index 742.
    """
    u = iddpm_u()
    kept = [v for v in u.tolist() if 0.002 <= v <= sigma_max]
    K = len(kept)
    expected = []
    for i in range(num_steps):
        x = (K - 1) / (num_steps - 1) * i
        k = math.floor(x + 0.5) if x % 1 != 0.5 else 2 * round(x / 2)  # ties to even
        expected.append(kept[k])
    assert iddpm_sigma_steps(num_steps, 0.002, sigma_max).tolist() == expected
    if (num_steps, sigma_max) == (5, 80.0):
        assert K == 991 and expected[3] == kept[742]


@pytest.mark.parametrize("discretization", ["vp", "ve", "iddpm", "edm"])
def test_each_discretization_spans_its_range(discretization):
    """Every discretization is descending from σ_max (iDDPM: the largest level ≤ σ_max) down to σ_min
    (exactly for vp/ve/edm; iDDPM: the smallest level ≥ σ_min)."""
    sigma_min, sigma_max = default_sigma_range(discretization)
    steps = get_sigma_steps(discretization, 25, sigma_min, sigma_max)
    assert steps.shape == (25,) and steps.dtype == torch.float64
    assert (steps[:-1] > steps[1:]).all()
    if discretization == "iddpm":
        assert 80 < steps[0] <= sigma_max and sigma_min <= steps[-1] < 0.01
    else:
        assert steps[0].item() == pytest.approx(sigma_max, rel=1e-12)
        assert steps[-1].item() == pytest.approx(sigma_min, rel=1e-12)


def test_ve_and_vp_steps_follow_table_1():
    """VE steps are geometric in σ (t_i = σ_max²(σ_min²/σ_max²)^{i/(N−1)});
    VP steps are σ(t) at evenly spaced t ∈ [ε_s, 1]."""
    steps = ve_sigma_steps(6, 0.02, 100)
    ratios = steps[1:] / steps[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, (0.02 / 100) ** (1 / 5)))
    beta_d, beta_min = vp_beta_from_sigma_range(0.01, 100, 1e-3)
    t = 1 + torch.arange(6, dtype=torch.float64) / 5 * (1e-3 - 1)
    torch.testing.assert_close(vp_sigma_steps(6, 0.01, 100), vp_sigma(t, beta_d, beta_min))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: edm_sigma_steps(1), "num_steps"),
        (lambda: edm_sigma_steps(2.5), "num_steps"),
        (lambda: edm_sigma_steps(10, rho=0), "rho"),
        (lambda: edm_sigma_steps(10, 80, 0.002), "sigma_min"),
        (lambda: ve_sigma_steps(10, -1, 10), "sigma_min"),
        (lambda: vp_sigma_steps(10, 0.01, 100, epsilon_s=1.5), "epsilon_s"),
        (lambda: iddpm_sigma_steps(1, 0.002, 81), "num_steps"),
        (lambda: iddpm_u(C_1=0), "C_1"),
        (lambda: get_schedule("cosine"), "name"),
        (lambda: get_scaling("ve", None, None), "name"),
        (lambda: get_sigma_steps("ddim", 10, 0.002, 80), "discretization"),
        (lambda: default_sigma_range("ddim"), "discretization"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(call, name):
    """Invalid settings raise ValueError whose message names the offending argument."""
    with raises_naming(name):
        call()
