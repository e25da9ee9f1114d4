"""Metrics against a known distribution: log-likelihood, mode weights, and distances with exact answers."""

import math

import pytest
import scipy.linalg
import torch
from helpers import raises_naming

from edm_src import (
    GaussianMixture,
    fidelity_report,
    load_digits,
    mean_log_likelihood,
    mode_weights,
    toy_mixture,
)
from edm_src.instruments.metrics import (
    assign_components,
    exact_sample_scores,
    frechet_distance,
    frechet_distance_gaussians,
    frechet_distance_samples,
    nearest_neighbor_distance,
    pca_features,
    rms_error,
    sliced_wasserstein,
)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def random_covariance(D, seed):
    A = randn(D, D, seed=seed)
    return A @ A.T / D + 0.1 * torch.eye(D, dtype=torch.float64)


def test_mode_weights_of_exact_samples():
    """Exact samples of a mixture hit its components in proportion to the weights (binomial error)."""
    gm = toy_mixture("two_blobs", std=0.05)
    w = mode_weights(gm, gm.sample(40_000, generator=torch.Generator().manual_seed(0)))
    assert w.sum().item() == pytest.approx(1)
    assert ((w - gm.weights).abs() < 5 * (0.25 / 40_000) ** 0.5).all()


def test_assign_components_weighs_prior_and_widths():
    """The assignment is the posterior's argmax, log w_k − ½‖x − μ_k‖²/s_k² − D log s_k, not the
    nearest mean: the midpoint of two equal components goes to the heavier; a point nearer a
    narrow component but far out in its tails goes to the wide one."""
    heavy = GaussianMixture(
        torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64),
        torch.tensor([0.3, 0.3]),
        torch.tensor([0.1, 0.9]),
    )
    assert assign_components(heavy, torch.zeros(1, 2)).tolist() == [1]
    assert assign_components(heavy, torch.tensor([[-0.05, 0.0]])).tolist() == [1]  # prior wins
    assert assign_components(heavy, torch.tensor([[-0.9, 0.0]])).tolist() == [0]
    widths = GaussianMixture(
        torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64),
        torch.tensor([0.05, 0.5]),
        torch.ones(2),
    )
    # x = (0.4, 0): 0.4 from the narrow mean (8 of its widths), 0.6 from the wide (1.2 of its)
    assert assign_components(widths, torch.tensor([[0.4, 0.0]])).tolist() == [1]
    assert assign_components(widths, torch.tensor([[0.02, 0.0]])).tolist() == [0]
    # with equal weights and widths the nearest mean decides: no term may be left out unnoticed
    x = torch.tensor([[0.3, 0.0]])
    log_post = (
        torch.log(widths.weights)
        - 0.5 * torch.cdist(x.double(), widths.means).square() / widths.stds**2
    )
    log_post = log_post - 2 * torch.log(widths.stds)
    assert assign_components(widths, x).tolist() == log_post.argmax(dim=1).tolist()


def test_mode_weights_detect_a_missing_mode():
    """Samples all placed on one component give weight 1 there and 0 elsewhere."""
    gm = toy_mixture("ring", K=4)
    w = mode_weights(gm, gm.means[:1].expand(100, 2))
    torch.testing.assert_close(w, torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))


def test_mean_log_likelihood_of_a_gaussian_is_minus_entropy():
    """For N(0, s² I) in D dims, E[log p] = −D/2 · log(2πe s²); samples estimate it."""
    gm = toy_mixture("line_1d", std=0.1)
    single = type(gm)(
        torch.zeros(1, 2, dtype=torch.float64),
        torch.tensor([0.3], dtype=torch.float64),
        torch.ones(1),
    )
    x = single.sample(100_000, generator=torch.Generator().manual_seed(1))
    assert mean_log_likelihood(single, x) == pytest.approx(
        -math.log(2 * math.pi * math.e * 0.09), abs=0.02
    )


def test_fidelity_report_separates_good_and_bad_samples():
    """Exact samples score like the reference; blurred samples score lower and miss weights."""
    gm = toy_mixture("two_blobs", std=0.05)
    good = fidelity_report(gm, gm.sample(4000, generator=torch.Generator().manual_seed(5)))
    bad = fidelity_report(
        gm, gm.sample(4000, sigma=0.3, generator=torch.Generator().manual_seed(5))
    )
    assert abs(good["loglik_samples"] - good["loglik_data"]) < 0.1
    assert bad["loglik_samples"] < good["loglik_samples"] - 1
    assert good["max_weight_error"] < 0.03


# --------------------------------------------------------------- rms_error
def test_rms_error():
    """rms_error is 0 on identical batches and |c| for a constant offset c; shapes must match."""
    x = randn(5, 1, 8, 8)
    assert rms_error(x, x) == 0
    assert rms_error(x + 0.3, x) == pytest.approx(0.3, rel=1e-12)
    with raises_naming("y"):
        rms_error(x, x.reshape(5, 64))


# -------------------------------------------------------- Fréchet distance
def test_frechet_distance_of_isotropic_gaussians():
    """FD(N(0, I), N(m, s² I)) = ‖m‖² + D(1 − s)² (commuting covariances: ‖C₁^½ − C₂^½‖_F²)."""
    D, m, s = 5, randn(5), 0.3
    eye = torch.eye(D, dtype=torch.float64)
    got = frechet_distance_gaussians(torch.zeros(D), eye, m, s**2 * eye)
    assert got == pytest.approx(m.square().sum().item() + D * (1 - s) ** 2, rel=1e-12)


def test_frechet_distance_general_covariances_is_symmetric_and_matches_scipy():
    """For non-commuting C₁, C₂: tr (C₁^½ C₂ C₁^½)^½ = tr (C₁C₂)^½ (scipy's sqrtm), and the distance is symmetric."""
    m1, m2, C1, C2 = (
        randn(6, seed=1),
        randn(6, seed=2),
        random_covariance(6, 3),
        random_covariance(6, 4),
    )
    cross = scipy.linalg.sqrtm((C1 @ C2).numpy()).real.trace()
    want = (m1 - m2).square().sum().item() + C1.trace().item() + C2.trace().item() - 2 * cross
    assert frechet_distance_gaussians(m1, C1, m2, C2) == pytest.approx(want, rel=1e-10)
    assert frechet_distance_gaussians(m2, C2, m1, C1) == pytest.approx(want, rel=1e-10)
    assert frechet_distance_gaussians(m1, C1, m1, C1) == pytest.approx(0, abs=1e-12)


def test_frechet_distance_against_an_exact_mixture():
    """Exact samples of a mixture are within sampling error of its exact mean/covariance; samples of
    p(x; σ) are off by the closed form Σ_i (√(λ_i + σ²) − √λ_i)² (same mean, covariance C + σ² I)."""
    gm = toy_mixture("two_blobs", std=0.05)
    g = torch.Generator().manual_seed(0)
    good = frechet_distance(gm.sample(20_000, generator=g), gm.mean, gm.covariance)
    blurred = frechet_distance(gm.sample(20_000, generator=g, sigma=0.3), gm.mean, gm.covariance)
    lam = torch.linalg.eigvalsh(gm.covariance)
    want = ((lam + 0.09).sqrt() - lam.sqrt()).square().sum().item()
    assert good < 2e-3 and blurred == pytest.approx(want, rel=0.05)


def test_frechet_distance_samples_is_zero_on_itself_and_symmetric():
    """FD of a sample set with itself is 0; FD(x, y) = FD(y, x); shifting y by m adds ‖m‖² exactly."""
    x, y, m = randn(300, 4, seed=1), 1.5 * randn(200, 4, seed=2), randn(4, seed=3)
    assert frechet_distance_samples(x, x) == pytest.approx(0, abs=1e-10)
    assert frechet_distance_samples(x, y) == pytest.approx(frechet_distance_samples(y, x), rel=1e-9)
    assert frechet_distance_samples(x, y + m) - frechet_distance_samples(x, y) == pytest.approx(
        (m - x.mean(0) + y.mean(0)).square().sum().item()
        - (y.mean(0) - x.mean(0)).square().sum().item(),
        rel=1e-8,
    )


# ------------------------------------------------------ sliced Wasserstein
def test_sliced_wasserstein_of_shifts():
    """SW₂ is 0 on identical sets, exactly |c| for a 1-D shift by c, and for a shift by m in D dimensions
    (y = x + m, so each projection is shifted by θ·m) √(mean_θ (θ·m)²) ≈ ‖m‖/√D, growing with |m|."""
    x = randn(500, 1)
    assert sliced_wasserstein(x, x) == 0
    assert sliced_wasserstein(x, x + 0.7) == pytest.approx(0.7, rel=1e-12)
    x, m = randn(500, 8), randn(8, seed=5)
    values = [sliced_wasserstein(x, x + a * m, num_projections=4000) for a in (0.5, 1.0, 2.0)]
    assert values[1] == pytest.approx(m.norm().item() / math.sqrt(8), rel=0.05)
    assert values[0] < values[1] < values[2]
    assert sliced_wasserstein(x, x + m) == sliced_wasserstein(x, x + m)  # fixed default seed


def test_sliced_wasserstein_separates_distributions():
    """Two sample sets of one distribution are close (sampling error); a wider distribution is far."""
    a, b, c = randn(2000, 3, seed=1), randn(2000, 3, seed=2), 2 * randn(2000, 3, seed=3)
    assert sliced_wasserstein(a, b) < 0.1 < 0.3 < sliced_wasserstein(a, c)


# ------------------------------------------------- nearest neighbour, PCA
def test_nearest_neighbor_distance():
    """Training points are at distance 0 from the data (their own index); an offset c in every pixel
    gives RMS distance |c| when c is small (the neighbour stays the same)."""
    data = randn(300, 1, 4, 4)
    d, index = nearest_neighbor_distance(data[:50], data, batch_size=16, return_index=True)
    assert (d == 0).all() and (index == torch.arange(50)).all()
    torch.testing.assert_close(
        nearest_neighbor_distance(data[:50] + 1e-3, data),
        torch.full((50,), 1e-3, dtype=torch.float64),
        rtol=1e-9,
        atol=0,
    )


def test_pca_features_of_digits():
    """pca_features projects onto the top-k principal axes: on the data, the features have mean 0 and
    diagonal covariance with the k largest eigenvalues of the data covariance, in decreasing order;
    a Fréchet distance in that space is 0 for the data and sees added noise."""
    data = load_digits(torch.float64)
    features = pca_features(data, k=16)
    f = features(data)  # [1797, 16]
    assert f.shape == (1797, 16)
    torch.testing.assert_close(f.mean(0), torch.zeros(16, dtype=torch.float64), rtol=0, atol=1e-12)
    cov = torch.cov(f.T)
    eigenvalues = torch.linalg.eigvalsh(torch.cov(data.reshape(1797, -1).T)).flip(0)[:16]
    torch.testing.assert_close(cov, torch.diag(eigenvalues), rtol=0, atol=1e-10)
    assert (eigenvalues.diff() <= 0).all()
    torch.testing.assert_close(features.variances, eigenvalues, rtol=1e-10, atol=0)
    assert frechet_distance_samples(features(data), f) == pytest.approx(0, abs=1e-10)
    # Noise N(0, σ² I) adds σ² to every feature's variance: FD ≈ Σ_i (√(λ_i + σ²) − √λ_i)².
    noisy = frechet_distance_samples(features(data + 0.3 * randn(*data.shape)), f)
    assert noisy == pytest.approx(
        ((eigenvalues + 0.09).sqrt() - eigenvalues.sqrt()).square().sum().item(), rel=0.2
    )


@pytest.mark.parametrize(
    "call, name",
    [
        (
            lambda: frechet_distance_gaussians(
                torch.zeros(2), torch.eye(2), torch.zeros(2), torch.eye(3)
            ),
            "cov2",
        ),
        (lambda: frechet_distance(torch.zeros(1, 2), torch.zeros(2), torch.eye(2)), "x"),
        (
            lambda: frechet_distance_samples(torch.zeros(3, 2), torch.zeros(3, 4)),
            "y",
        ),
        (lambda: sliced_wasserstein(torch.zeros(3, 2), torch.zeros(4, 2)), "y"),
        (
            lambda: sliced_wasserstein(torch.zeros(3, 2), torch.zeros(3, 2), num_projections=0),
            "num_projections",
        ),
        (lambda: nearest_neighbor_distance(torch.full((2, 2), math.nan), torch.zeros(3, 2)), "x"),
        (lambda: pca_features(torch.zeros(5, 3), k=4), "k"),
    ],
)
def test_bad_inputs_raise(call, name):
    """Invalid arguments raise ValueError whose message starts with the argument's name."""
    with raises_naming(name):
        call()


def test_mode_coverage_sees_a_dropped_mode():
    """The total-variation distance between component shares and weights is about √(K/n)-small
    for exact samples, and equals the dropped weight when a mode's samples are removed."""
    from edm_src.data import toy_mixture
    from edm_src.instruments.metrics import assign_components, mode_coverage

    ring = toy_mixture("ring", std=0.05)
    g = torch.Generator().manual_seed(0)
    x = ring.sample(20_000, generator=g)
    exact = mode_coverage(ring, x)
    assert exact < 3 * math.sqrt(8 / 20_000)
    kept = x[assign_components(ring, x) != 0]  # drop every sample of component 0
    dropped = mode_coverage(ring, kept)
    assert abs(dropped - 1 / 8) < 0.01
    assert mode_coverage(ring, x[assign_components(ring, x) == 3]) == pytest.approx(7 / 8)


def test_exact_sample_scores_are_the_metric_of_seeded_sets_of_exact_samples():
    """Set k is mixture.sample(n, Generator().manual_seed(first_seed + k)): the same seeds give the
    same sets (so two pages quote one spread), and the scores come back in set order."""
    mixture = toy_mixture("ring", std=0.05)
    scores = exact_sample_scores(mixture, lambda x: x, 7, num_sets=3, first_seed=11)
    assert len(scores) == 3
    for k, x in enumerate(scores):
        expected = mixture.sample(7, generator=torch.Generator().manual_seed(11 + k))
        assert torch.equal(x, expected)
    means = exact_sample_scores(mixture, lambda x: float(x.mean()), 7, num_sets=3, first_seed=11)
    assert means == [float(x.mean()) for x in scores]
