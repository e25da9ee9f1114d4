"""Data sets ship offline and are scaled as documented; metrics are right on known cases."""

import math

import pytest
import torch

from edm_src import (
    TOY_MIXTURES, TOY_SAMPLES, fidelity_report, load_digit_labels, load_digits,
    mean_log_likelihood, mode_weights, published, toy_mixture, toy_samples,
)


def test_digits_shape_range_and_labels():
    """The 1,797 scikit-learn digits as [1797, 1, 8, 8] in [−1, 1], pixel levels k/8 − 1, labels 0…9."""
    x = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    torch.testing.assert_close((x + 1) * 8, ((x + 1) * 8).round())
    labels = load_digit_labels()
    assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))


@pytest.mark.parametrize("name", TOY_MIXTURES)
def test_toy_mixtures_are_normalised_mixtures(name):
    """Each toy mixture has weights summing to one and samples of its own dimension."""
    gm = toy_mixture(name, std=0.1)
    assert abs(gm.weights.sum().item() - 1) < 1e-12
    assert gm.sample(10).shape == (10, gm.dim)


def test_ring_geometry():
    """'ring' puts K means on the circle of the given radius, equally spaced."""
    gm = toy_mixture("ring", K=6, radius=2.0)
    torch.testing.assert_close(gm.means.norm(dim=1), torch.full((6,), 2.0, dtype=torch.float64))
    angles = torch.atan2(gm.means[:, 1], gm.means[:, 0]).remainder(2 * math.pi).sort().values
    torch.testing.assert_close(angles.diff(), torch.full((5,), math.pi / 3, dtype=torch.float64))


@pytest.mark.parametrize("name", TOY_SAMPLES)
def test_toy_samples_reproducible_and_bounded(name):
    """Sample toys are [n, 2], deterministic given the seed, and roughly within [−1.5, 1.5]²."""
    a, b = toy_samples(name, n=500, seed=3), toy_samples(name, n=500, seed=3)
    assert a.shape == (500, 2)
    torch.testing.assert_close(a, b)
    assert a.abs().max() < 1.5
    assert not torch.allclose(a, toy_samples(name, n=500, seed=4))


def test_mode_weights_of_exact_samples():
    """Exact samples of a mixture hit its components in proportion to the weights (binomial error)."""
    gm = toy_mixture("two_blobs", std=0.05)
    w = mode_weights(gm, gm.sample(40_000, generator=torch.Generator().manual_seed(0)))
    assert w.sum().item() == pytest.approx(1)
    assert ((w - gm.weights).abs() < 5 * (0.25 / 40_000) ** 0.5).all()


def test_mode_weights_detect_a_missing_mode():
    """Samples all placed on one component give weight 1 there and 0 elsewhere."""
    gm = toy_mixture("ring", K=4)
    w = mode_weights(gm, gm.means[:1].expand(100, 2))
    torch.testing.assert_close(w, torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))


def test_mean_log_likelihood_of_a_gaussian_is_minus_entropy():
    """For N(0, s² I) in D dims, E[log p] = −D/2 · log(2πe s²); samples estimate it."""
    gm = toy_mixture("line_1d", std=0.1)
    single = type(gm)(torch.zeros(1, 2, dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64), torch.ones(1))
    x = single.sample(100_000, generator=torch.Generator().manual_seed(1))
    assert mean_log_likelihood(single, x) == pytest.approx(-math.log(2 * math.pi * math.e * 0.09), abs=0.02)


def test_fidelity_report_separates_good_and_bad_samples():
    """Exact samples score like the reference; blurred samples score lower and miss weights."""
    gm = toy_mixture("two_blobs", std=0.05)
    good = fidelity_report(gm, gm.sample(4000, generator=torch.Generator().manual_seed(5)))
    bad = fidelity_report(gm, gm.sample(4000, sigma=0.3, generator=torch.Generator().manual_seed(5)))
    assert abs(good["loglik_samples"] - good["loglik_data"]) < 0.1
    assert bad["loglik_samples"] < good["loglik_samples"] - 1
    assert good["max_weight_error"] < 0.03


def test_published_speedups():
    """The paper's NFE ratios: 256/35 for VP, 8192/27 for VE."""
    assert published.speedup("VP (CIFAR-10)") == pytest.approx(256 / 35)
    assert published.speedup("VE (CIFAR-10)") == pytest.approx(8192 / 27)
