"""Sweeps of sampler settings and their measures (edm_src.instruments.sweeps, Sec. 4)."""

import math

import pytest
import torch
from helpers import raises_naming

from edm_src import ImperfectDenoiser, edm_sampler, frechet_distance, low_dim_mixture, sde_sampler
from edm_src.denoisers import GaussianMixture
from edm_src.instruments.sweeps import (
    denoiser_error_profile,
    metric_vs_nfe,
    paired_bootstrap,
    seeded_randn_like,
    setting_sweep,
    spread_ratio,
    whitened_frechet_distance,
)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def exact_moments(mean, cov, B=500, seed=0):
    """B samples whose sample mean and (unbiased) sample covariance are exactly `mean` and `cov`."""
    z = randn(B, len(mean), seed=seed)
    z = z - z.mean(0)
    z = z @ torch.linalg.inv(torch.linalg.cholesky(z.T @ z / (B - 1))).T  # sample cov = I
    return mean + z @ torch.linalg.cholesky(cov).T


# ------------------------------------------------------------ noise and runs
def test_seeded_randn_like_is_reproducible():
    """Two noise sources with one seed give the same float64 draws of x's shape; another seed differs."""
    x = torch.zeros(3, 2, dtype=torch.float32)
    a, b, c = seeded_randn_like(5), seeded_randn_like(5), seeded_randn_like(6)
    first = a(x)
    assert first.shape == x.shape and first.dtype == torch.float64
    torch.testing.assert_close(first, b(x), rtol=0, atol=0)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)  # the streams stay in step
    assert not torch.equal(first, c(x))


def test_setting_sweep_reruns_the_sampler_with_common_random_numbers():
    """Each value is one sampler run from the same latents and a fresh noise stream: a swept value
    equal to a direct call's setting gives bit-identical samples, and without churn S_noise changes nothing."""
    gm, z = low_dim_mixture(dim=8, num_components=4), randn(16, 8)
    out = setting_sweep(edm_sampler, gm, z, lambda x: x, "S_churn", [0.0, 5.0], seed=3, num_steps=6)
    direct = edm_sampler(gm, z, randn_like=seeded_randn_like(3), num_steps=6, S_churn=5.0)
    torch.testing.assert_close(out[1], direct, rtol=0, atol=0)
    assert not torch.equal(out[0], out[1])
    flat = setting_sweep(
        edm_sampler, gm, z, lambda x: x.sum().item(), "S_noise", [0.9, 1.0, 1.1], num_steps=6
    )
    assert flat[0] == flat[1] == flat[2]


def test_setting_sweep_rejects_a_name_given_twice():
    """The swept keyword may not also be fixed in kwargs (nor replace the noise source)."""
    gm = low_dim_mixture(dim=4, num_components=2)
    with raises_naming("name"):
        setting_sweep(edm_sampler, gm, randn(2, 4), float, "S_churn", [1], S_churn=2)
    with raises_naming("name"):
        setting_sweep(edm_sampler, gm, randn(2, 4), float, "randn_like", [None])


def test_metric_vs_nfe_counts_the_network_evaluations():
    """Algorithm 2 makes 2N − 1 evaluations (last step Euler), Euler–Maruyama N; the metric is of the samples."""
    gm, z = low_dim_mixture(dim=8, num_components=4), randn(10, 8)
    nfe, values = metric_vs_nfe(edm_sampler, gm, z, lambda x: x, [3, 7], S_churn=2)
    assert nfe == [5, 13]
    torch.testing.assert_close(
        values[1],
        edm_sampler(gm, z, randn_like=seeded_randn_like(0), num_steps=7, S_churn=2),
        rtol=0,
        atol=0,
    )
    nfe, _ = metric_vs_nfe(sde_sampler, gm, z, lambda x: 0.0, [4, 9])
    assert nfe == [4, 9]


# ------------------------------------------------------------ measures
def test_whitened_frechet_distance_closed_form():
    """For samples with exact mean m and covariance S and a diagonal target N(μ, diag c):
    Σ (m_i − μ_i)²/c_i + Σ (√(S_ii/c_i) − 1)² — each direction counts by its *relative* error."""
    c = torch.tensor([4.0, 1.0, 1e-4], dtype=torch.float64)
    mu = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    m = mu + torch.tensor([0.2, 0.0, 0.001], dtype=torch.float64)
    S = torch.diag(c * torch.tensor([1.0, 0.64, 1.21], dtype=torch.float64))
    x = exact_moments(m, S)
    expected = (0.04 / 4 + 1e-6 / 1e-4) + ((0.8 - 1) ** 2 + (1.1 - 1) ** 2)
    assert whitened_frechet_distance(x, mu, torch.diag(c)) == pytest.approx(expected, rel=1e-9)
    # Halving the variance of the low-variance direction alone: the whitened distance is (√½ − 1)²,
    # the plain Fréchet distance 10⁴ times smaller.
    thin = exact_moments(mu, torch.diag(c * torch.tensor([1.0, 1.0, 0.5], dtype=torch.float64)))
    assert whitened_frechet_distance(thin, mu, torch.diag(c)) == pytest.approx(
        (0.5**0.5 - 1) ** 2, rel=1e-9
    )
    assert frechet_distance(thin, mu, torch.diag(c)) == pytest.approx(
        1e-4 * (0.5**0.5 - 1) ** 2, rel=1e-6
    )


def test_whitened_frechet_distance_is_affine_invariant_and_zero_at_the_target():
    """Mapping samples and target by the same invertible x ↦ A x + b leaves it unchanged;
    samples with the target's exact moments score 0."""
    D = 5
    cov = torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.1, 0.01], dtype=torch.float64))
    mean = randn(D, seed=1)
    x = exact_moments(mean + 0.1, cov * 1.3, seed=2)
    A, b = randn(D, D, seed=3) + 3 * torch.eye(D, dtype=torch.float64), randn(D, seed=4)
    before = whitened_frechet_distance(x, mean, cov)
    after = whitened_frechet_distance(x @ A.T + b, A @ mean + b, A @ cov @ A.T)
    assert after == pytest.approx(before, rel=1e-8)
    assert whitened_frechet_distance(exact_moments(mean, cov), mean, cov) == pytest.approx(
        0, abs=1e-10
    )


@pytest.mark.parametrize(
    "args, name",
    [
        ((randn(10, 3), torch.zeros(3), torch.zeros(3, 3)), "cov"),
        ((randn(10, 3), torch.zeros(3), torch.eye(2)), "cov"),
        ((randn(10, 4), torch.zeros(3), torch.eye(3)), "x"),
    ],
)
def test_whitened_frechet_distance_bad_inputs(args, name):
    """A singular or mis-shaped covariance, or samples of the wrong dimension, raise ValueError naming it."""
    with raises_naming(name):
        whitened_frechet_distance(*args)


def test_spread_ratio_measures_the_low_variance_directions():
    """Samples with the data's covariance give 1; shrinking the k lowest-variance directions by a factor r
    gives r², whatever happens in the others."""
    eig = torch.tensor([5.0, 2.0, 0.01, 0.01], dtype=torch.float64)
    Q = torch.linalg.qr(randn(4, 4, seed=5)).Q
    cov = Q @ torch.diag(eig) @ Q.T
    assert spread_ratio(exact_moments(torch.zeros(4), cov), cov, 2) == pytest.approx(1, rel=1e-10)
    scaled = Q @ torch.diag(eig * torch.tensor([3.0, 0.5, 0.81, 0.81], dtype=torch.float64)) @ Q.T
    assert spread_ratio(exact_moments(torch.zeros(4), scaled), cov, 2) == pytest.approx(
        0.81, rel=1e-10
    )
    with raises_naming("k"):
        spread_ratio(randn(5, 4), cov, 5)


def test_denoiser_error_profile_closed_form():
    """For N(0, s² I) data the over-denoising error is δ(σ)(D − x) = −δ(σ) σ²/(s² + σ²) x, so its RMS is
    δ(σ) σ²/(s² + σ²) · RMS(x); an error-free wrapper gives 0."""
    s = 0.5
    gaussian = GaussianMixture(torch.zeros(1, 3), torch.tensor([s]), torch.ones(1))
    net = ImperfectDenoiser(gaussian, delta=0.05, sigma_delta=0.5)
    y = randn(200, 3, seed=6) * s
    sigmas = [0.01, 0.3, 2.0]
    noise = randn(200, 3, seed=9)  # the profile's own draw with seed=9
    profile = denoiser_error_profile(net, gaussian, y, sigmas, seed=9)
    for value, sigma in zip(profile, sigmas):
        x = y + sigma * noise
        expected = (
            net.delta_of_sigma(sigma) * sigma**2 / (s**2 + sigma**2) * x.square().mean().sqrt()
        )
        assert value.item() == pytest.approx(expected.item(), rel=1e-12)
    exact = ImperfectDenoiser(gaussian, delta=0.0)
    assert denoiser_error_profile(exact, gaussian, y, sigmas).abs().max() == 0
    assert math.isfinite(profile.sum().item())


def test_paired_bootstrap_standard_error_of_the_mean_and_pairing():
    """For metric = mean of a scalar, the bootstrap variance tends to the plug-in variance / B (Efron), so the
    replicates' std matches sqrt(mean((x − x̄)²)/B); with the same indices in every run, a run shifted by a
    constant differs from the original by exactly that constant in every replicate (paired SE = 0), while
    an independent run's difference has the SE of two independent means, √2 times larger."""
    B = 400
    x = randn(B, seed=1)
    other = randn(B, seed=2)
    reps = paired_bootstrap(
        lambda v: v.mean().item(), [x, x + 3.0, other], num_resamples=4000, seed=3
    )
    assert reps.shape == (4000, 3) and reps.dtype == torch.float64
    se = x.sub(x.mean()).square().mean().div(B).sqrt().item()
    assert reps[:, 0].std().item() == pytest.approx(se, rel=0.05)
    torch.testing.assert_close(
        reps[:, 1] - reps[:, 0], torch.full((4000,), 3.0, dtype=torch.float64)
    )
    assert (reps[:, 2] - reps[:, 0]).std().item() == pytest.approx(math.sqrt(2) * se, rel=0.08)
    again = paired_bootstrap(
        lambda v: v.mean().item(), [x, x + 3.0, other], num_resamples=4000, seed=3
    )
    torch.testing.assert_close(reps, again, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(runs=[torch.zeros(3), torch.zeros(4)]), "runs"),
        (dict(runs=[torch.zeros(1)]), "runs"),
        (dict(runs=[]), "runs"),
        (dict(runs=[torch.zeros(3)], num_resamples=1), "num_resamples"),
    ],
)
def test_paired_bootstrap_bad_inputs(kwargs, name):
    with raises_naming(name):
        paired_bootstrap(lambda v: v.mean().item(), **kwargs)
