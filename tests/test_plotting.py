"""The shared plotting helpers draw what they claim (checked on their returned data)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from edm_src import toy_mixture  # noqa: E402
from edm_src.plotting import (  # noqa: E402
    grid_points, image_grid, plot_density_1d_over_sigma, plot_density_2d, plot_score_field,
)


def test_image_grid_places_each_image_with_one_pixel_gaps():
    """Image k lands at row k // nrow, column k % nrow; gaps and empty slots are NaN."""
    images = torch.arange(5, dtype=torch.float64)[:, None, None, None].expand(5, 1, 2, 3)
    canvas = image_grid(images, nrow=3)
    assert canvas.shape == (2 * 3 - 1, 3 * 4 - 1)
    for k in range(5):
        r, c = divmod(k, 3)
        assert (canvas[r * 3 : r * 3 + 2, c * 4 : c * 4 + 3] == k).all()
    assert np.isnan(canvas[2]).all() and np.isnan(canvas[:, 3]).all()
    assert np.isnan(canvas[3:, 8:]).all()  # the sixth slot is empty


def test_density_2d_is_the_normalised_density():
    """The drawn p(x; σ) integrates to ≈ 1 over a box holding the mixture (Riemann sum)."""
    fig, ax = plt.subplots()
    extent = (-2.5, 2.5, -2.5, 2.5)
    density = plot_density_2d(ax, toy_mixture("ring", std=0.1), sigma=0.2, extent=extent, n=301)
    cell = (5 / 300) ** 2
    assert abs(density.sum() * cell - 1) < 0.01
    plt.close(fig)


def test_score_field_arrows_point_along_the_score():
    """Arrows are the unit score vectors at the grid points (where the score is not ~0)."""
    fig, ax = plt.subplots()
    ring = toy_mixture("ring")
    quiver = plot_score_field(ax, ring, sigma=0.5, n=5)
    points, _ = grid_points((-1.6, 1.6, -1.6, 1.6), 5)
    score = ring.score(points, 0.5)
    norm = score.norm(dim=1, keepdim=True)
    keep = (norm > 1e-9)[:, 0].numpy()  # the centre of the ring is a critical point
    assert keep.sum() == 24
    arrows = np.stack([quiver.U, quiver.V], 1)
    np.testing.assert_allclose(arrows[keep], (score / norm).numpy()[keep], atol=1e-12)
    plt.close(fig)


def test_density_1d_columns_are_normalised_to_their_maximum():
    """Each σ column of the 1-D heat map has maximum 1 and follows p(x; σ)."""
    fig, ax = plt.subplots()
    line = toy_mixture("line_1d")
    density = plot_density_1d_over_sigma(ax, line, [0.1, 1.0, 3.0], n=101)
    np.testing.assert_allclose(density.max(axis=0), 1.0)
    xs = torch.linspace(-3, 3, 101, dtype=torch.float64)[:, None]
    p = line.log_prob(xs, 1.0).exp().numpy()
    np.testing.assert_allclose(density[:, 1], p / p.max(), rtol=1e-12)
    plt.close(fig)
