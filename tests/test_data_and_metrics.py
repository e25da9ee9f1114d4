"""Data sets ship offline and are scaled as documented; the published numbers are consistent.

(The metric tests live in test_metrics.py.)
"""

import math

import pytest
import torch

from edm_src import (
    TOY_MIXTURES,
    TOY_SAMPLES,
    load_digit_labels,
    load_digits,
    published,
    toy_mixture,
    toy_samples,
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
    assert gm.sample(10, generator=torch.Generator().manual_seed(0)).shape == (10, gm.dim)


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


def test_published_speedups():
    """The paper's NFE ratios: 256/35 for VP, 8192/27 for VE."""
    assert published.speedup("VP (CIFAR-10)") == pytest.approx(256 / 35)
    assert published.speedup("VE (CIFAR-10)") == pytest.approx(8192 / 27)


def test_published_table2_consistent():
    """Table 2's rows are A–F, its final CIFAR-10 conditional rows are the headline FID, and FFHQ
    VE improves from config A to D (the paper's 25.95 → 3.39)."""
    assert list(published.TABLE2_ROWS) == list("ABCDEF")
    headline = published.HEADLINE_FID["CIFAR-10 conditional"][0]
    for column, rows in published.TABLE2_FID.items():
        assert set(rows) <= set(published.TABLE2_ROWS), column
    assert published.TABLE2_FID["CIFAR-10 conditional VP"]["F"] == headline
    assert published.TABLE2_FID["CIFAR-10 conditional VE"]["F"] == headline
    ffhq = published.TABLE2_FID["FFHQ 64×64 VE"]
    assert (ffhq["A"], ffhq["D"]) == (25.95, 3.39)
