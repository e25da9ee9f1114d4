"""Exact denoisers: closed forms, the score–denoiser identity (Eq. 3) and Eq. 57's limits."""

import math

import pytest
import torch
from helpers import raises_naming, randn

from edm_src import EmpiricalDenoiser, GaussianMixture, load_digits, toy_mixture


def random_mixture(K=4, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(K, D, generator=g, dtype=torch.float64)
    stds = 0.1 + torch.rand(K, generator=g, dtype=torch.float64)
    weights = 0.2 + torch.rand(K, generator=g, dtype=torch.float64)
    return GaussianMixture(means, stds, weights)


def test_single_gaussian_denoiser_is_linear_shrinkage():
    """For p_data = N(μ, s² I), D(x; σ) = μ + s²/(s² + σ²)(x − μ) exactly."""
    mu, s = torch.tensor([[0.3, -1.0]], dtype=torch.float64), 0.7
    gm = GaussianMixture(mu, torch.tensor([s], dtype=torch.float64), torch.ones(1))
    x = randn(10, 2, seed=102)
    for sigma in (1e-3, 0.5, 3.0, 1e3):
        expected = mu + s**2 / (s**2 + sigma**2) * (x - mu)
        torch.testing.assert_close(gm(x, sigma), expected, rtol=1e-12, atol=1e-12)


MIXTURES = {
    "unequal widths": lambda: random_mixture(),
    "ring (equal widths)": lambda: toy_mixture("ring"),
    "line_1d (equal widths, unequal weights)": lambda: toy_mixture("line_1d", std=0.2),
    "finite data set": lambda: EmpiricalDenoiser(randn(7, 3, seed=3)),
}


@pytest.mark.parametrize("name", MIXTURES)
@pytest.mark.parametrize("sigma", [1e-2, 0.3, 2.0, 50.0])
def test_score_equals_denoiser_identity_and_autograd(name, sigma):
    """Eq. 3: ∇ₓ log p(x; σ) (by autograd of log_prob) = score = (D(x; σ) − x)/σ², for unequal
    and equal component widths (the two code paths) and a finite data set."""
    gm = MIXTURES[name]()
    x = (2 * randn(16, gm.dim, seed=103)).requires_grad_(True)
    (grad,) = torch.autograd.grad(gm.log_prob(x, sigma).sum(), x)
    x = x.detach()
    identity = (gm(x, sigma) - x) / sigma**2
    torch.testing.assert_close(grad, identity, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gm.score(x, sigma), identity, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.0, 0.05, 0.3, 2.0])
def test_equal_width_denoiser_matches_the_posterior_mean_written_out(sigma):
    """For line_1d (equal widths, weights 0.4/0.2/0.4) D(x; σ) = Σ_k r_k [μ_k + s²/(s² + σ²)(x − μ_k)],
    r_k ∝ w_k N(x; μ_k, s² + σ²), written out naively here (to 1e-12): the fast path's weights,
    widths and shrinkage all count."""
    gm = toy_mixture("line_1d", std=0.2)
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)[:, None]  # [41, 1]
    var = 0.2**2 + sigma**2
    log_r = torch.log(gm.weights) - 0.5 * (x - gm.means.T) ** 2 / var  # [41, 3]
    r = torch.softmax(log_r, dim=1)
    shrink = 0.2**2 / var
    expected = (r * (gm.means.T + shrink * (x - gm.means.T))).sum(1, keepdim=True)
    torch.testing.assert_close(gm(x, sigma), expected, rtol=1e-12, atol=1e-12)


def test_log_prob_matches_direct_formula_and_integrates_to_one():
    """log p(x; σ) equals log Σ_k w_k N(x; μ_k, (s_k²+σ²) I), and a 1-D density integrates to 1."""
    gm = random_mixture(K=3, D=2)
    x, sigma = randn(5, 2, seed=104), 0.4
    var = gm.stds**2 + sigma**2
    direct = sum(
        gm.weights[k]
        * torch.exp(-((x - gm.means[k]) ** 2).sum(1) / (2 * var[k]))
        / (2 * math.pi * var[k])
        for k in range(3)
    )
    torch.testing.assert_close(gm.log_prob(x, sigma), direct.log(), rtol=1e-12, atol=1e-12)
    line = toy_mixture("line_1d")
    grid = torch.linspace(-6, 6, 20001, dtype=torch.float64)[:, None]
    mass = torch.trapezoid(line.log_prob(grid, 0.5).exp(), grid[:, 0])
    assert abs(mass.item() - 1) < 1e-8


def test_stable_over_sigma_range_and_far_from_data():
    """No NaN/inf from σ = 1e-4 to 1e4, even 1e3 away from the data; limits are right.

    Far away, the posterior collapses on the nearest component k, so
    D = μ_k + s²/(s² + σ²)(x − μ_k); at huge σ, D → E[y].
    """
    gm = toy_mixture("ring", std=0.05)
    x = torch.tensor([[1e3, 0.0], [0.0, -1e3], [1.0, 0.0]], dtype=torch.float64)
    for sigma in torch.logspace(-4, 4, 17, dtype=torch.float64):
        for f in (gm(x, sigma), gm.score(x, sigma), gm.log_prob(x, sigma)):
            assert torch.isfinite(f).all()
    mu_nearest = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    for sigma in (1e-4, 0.1, 1.0):
        shrink = 0.05**2 / (0.05**2 + sigma**2)
        torch.testing.assert_close(
            gm(x[:2], sigma), mu_nearest + shrink * (x[:2] - mu_nearest), atol=1e-9, rtol=1e-9
        )
    torch.testing.assert_close(gm(x[2:], 1e4), gm.mean[None], atol=1e-6, rtol=0)


def test_sample_moments_match_exact_mean_and_covariance():
    """Samples reproduce the exact mean and covariance (within sampling error), also mollified."""
    gm = random_mixture(K=3, D=2, seed=1)
    g = torch.Generator().manual_seed(0)
    y = gm.sample(200_000, generator=g)
    assert y.shape == (200_000, 2)
    torch.testing.assert_close(y.mean(0), gm.mean, atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(y.T), gm.covariance, atol=0.03, rtol=0)
    x = gm.sample(200_000, generator=g, sigma=2.0)
    torch.testing.assert_close(
        torch.cov(x.T), gm.covariance + 4 * torch.eye(2, dtype=torch.float64), atol=0.1, rtol=0
    )


def test_denoiser_is_posterior_mean_by_monte_carlo():
    """D(x; σ) = E[y | y + n = x]: regress y on x by Monte Carlo near a fixed x (1-D)."""
    gm = toy_mixture("line_1d", std=0.2)
    g = torch.Generator().manual_seed(1)
    sigma = 0.5
    y = gm.sample(2_000_000, generator=g)
    x = y + sigma * torch.randn(y.shape, generator=g, dtype=torch.float64)
    near = (x[:, 0] - 0.2).abs() < 0.01
    mc = y[near].mean()
    exact = gm(torch.tensor([[0.2]], dtype=torch.float64), sigma)[0, 0]
    assert abs(mc - exact) < 5 * y[near].std() / near.sum().sqrt()


def test_shapes_dtypes_and_net_protocol():
    """Images [B, C, H, W] and points [B, D]; σ scalar or [B]; dtype of x is kept."""
    gm = random_mixture(K=2, D=12)
    x = randn(4, 3, 2, 2, seed=111, dtype=torch.float32)
    out = gm(x, torch.tensor([0.1, 0.2, 0.3, 0.4]))
    assert out.shape == x.shape and out.dtype == torch.float32
    per_sample = torch.cat([gm(x[i : i + 1], s) for i, s in enumerate([0.1, 0.2, 0.3, 0.4])])
    torch.testing.assert_close(out, per_sample)
    assert gm.sigma_min == 0 and gm.sigma_max == float("inf")


def test_empirical_denoiser_batched_equals_one_at_a_time():
    """Eq. 57 evaluated in chunks (small batch_size) equals one query at a time."""
    data = load_digits()[:300]
    x = data[:7].double() + 0.3 * randn(7, 1, 8, 8, seed=106)
    sigma = torch.tensor([0.05, 0.1, 0.3, 1.0, 3.0, 10.0, 0.002], dtype=torch.float64)
    full = EmpiricalDenoiser(data, batch_size=3)(x, sigma)
    single = torch.cat([EmpiricalDenoiser(data)(x[i : i + 1], sigma[i]) for i in range(7)])
    torch.testing.assert_close(full, single, rtol=1e-12, atol=1e-12)


def test_empirical_denoiser_matches_eq57_directly():
    """D(x; σ) = Σ_i N(x; y_i, σ²I) y_i / Σ_i N(x; y_i, σ²I), written out naively."""
    data = randn(20, 5, seed=107)
    x, sigma = randn(3, 5, seed=108), 0.8
    w = torch.exp(-((x[:, None] - data[None]) ** 2).sum(-1) / (2 * sigma**2))  # [3, 20]
    torch.testing.assert_close(
        EmpiricalDenoiser(data)(x, sigma), (w @ data) / w.sum(1, keepdim=True)
    )


def test_zero_noise_returns_input():
    """D(x; 0) = x: with no noise there is nothing to remove (also for point masses)."""
    data = load_digits()[:50]
    x = randn(4, 1, 8, 8, seed=109)
    torch.testing.assert_close(EmpiricalDenoiser(data)(x, 0.0), x, rtol=0, atol=0)
    out = EmpiricalDenoiser(data)(x, torch.tensor([0.0, 0.1, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out[[0, 2]], x[[0, 2]], rtol=0, atol=0)
    assert torch.isfinite(out).all()


def test_empirical_denoiser_limits_on_all_digits():
    """All 1,797 digits (64-D): σ → ∞ gives the data mean; σ = 0.002 gives the nearest digit."""
    data = load_digits().double()
    den = EmpiricalDenoiser(data)
    g = torch.Generator().manual_seed(0)
    x = data[:200] + 0.2 * torch.randn(200, 1, 8, 8, generator=g, dtype=torch.float64)
    out = den(x, 0.002)
    assert torch.isfinite(out).all()
    nearest = torch.cdist(x.flatten(1), data.flatten(1)).argmin(1)
    torch.testing.assert_close(out, data[nearest], atol=1e-9, rtol=0)
    torch.testing.assert_close(den(x, 1e4), data.mean(0).expand_as(x), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(means=torch.zeros(3), stds=torch.ones(3), weights=torch.ones(3)), "means"),
        (dict(means=torch.zeros(3, 2), stds=torch.ones(2), weights=torch.ones(3)), "stds"),
        (dict(means=torch.zeros(3, 2), stds=torch.ones(3), weights=torch.ones(4)), "weights"),
        (dict(means=torch.zeros(3, 2), stds=-torch.ones(3), weights=torch.ones(3)), "stds"),
        (dict(means=torch.zeros(3, 2), stds=torch.ones(3), weights=-torch.ones(3)), "weights"),
    ],
)
def test_mixture_parameter_errors(kwargs, match):
    """Shape mismatches and invalid values in the mixture parameters are ValueErrors naming them."""
    with raises_naming(match):
        GaussianMixture(**kwargs)


def test_call_errors():
    """Negative σ, wrong sizes and unknown toy names are ValueErrors naming the argument."""
    gm = random_mixture(D=3)
    with raises_naming("sigma"):
        gm(torch.zeros(2, 3), -0.1)
    with raises_naming("sigma"):
        gm(torch.zeros(2, 3), torch.ones(3))
    with raises_naming("x must"):
        gm(torch.zeros(2, 4), 1.0)
    with raises_naming("name"):
        toy_mixture("spirals")


def test_extreme_noise_levels_give_the_right_limits():
    """σ beyond 1e154 (σ² overflows) gives D = E[y], for equal and unequal widths; σ below 1e-150
    (1/σ² overflows) gives the nearest training point; x so far out that every ‖x − μ‖²/v
    overflows still goes to the component that explains it best, the widest."""
    ring, blobs = toy_mixture("ring"), toy_mixture("two_blobs")
    x = randn(4, 2, seed=7)
    for mixture in (ring, blobs):
        for sigma in (1e154, 1e200, 1.7e308):
            torch.testing.assert_close(
                mixture(x, sigma), mixture.mean.expand_as(x), rtol=0, atol=1e-12
            )
    data = randn(6, 2, seed=8)
    empirical = EmpiricalDenoiser(data)
    nearest = data[torch.cdist(x, data).argmin(dim=1)]
    for sigma in (1e-160, 1e-300, 5e-324):
        torch.testing.assert_close(empirical(x, sigma), nearest, rtol=0, atol=0)
    far = torch.tensor([[1e200, 0.0]], dtype=torch.float64)
    D = blobs(far, 1.0)
    assert torch.isfinite(D).all()
    s_wide, mu_wide = blobs.stds[1], blobs.means[1]  # the wider component: std 2·0.05
    shrink = s_wide**2 / (s_wide**2 + 1.0)
    torch.testing.assert_close(D, mu_wide + shrink * (far - mu_wide))


def test_out_of_range_scores_and_densities_are_errors_naming_the_argument():
    """A score beyond float64 (tiny σ, far from the data) is a ValueError naming sigma; a
    log-density below float64's range (x astronomically far) one naming x."""
    empirical = EmpiricalDenoiser(randn(6, 2, seed=9))
    with raises_naming("sigma"):
        empirical.score(torch.tensor([[3.0, 0.0]], dtype=torch.float64), 1e-160)
    with raises_naming("x"):
        empirical.log_prob(torch.tensor([[1e160, 0.0]], dtype=torch.float64), 1e-150)
