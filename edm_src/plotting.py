"""Plotting helpers shared by the chapters (matplotlib).

Chapters call these so that the same picture (a density, a score field, a
grid of digits) looks the same on every page and is drawn by one piece of
code.  Each helper draws into a given `Axes` and returns what it drew.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.quiver import Quiver
import numpy as np
import torch

from .denoisers import GaussianMixture

Extent = tuple[float, float, float, float]


def grid_points(extent: Extent, n: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """An n×n grid over extent = (x_min, x_max, y_min, y_max) as points [n², 2] (float64)."""
    xs = torch.linspace(extent[0], extent[1], n, dtype=torch.float64)
    ys = torch.linspace(extent[2], extent[3], n, dtype=torch.float64)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")  # [n, n] each, rows = y
    return torch.stack([X.flatten(), Y.flatten()], dim=1), (n, n)


def plot_density_2d(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigma: float = 0.0,
    extent: Extent = (-1.6, 1.6, -1.6, 1.6),
    n: int = 200,
    cmap: str = "Greys",
) -> np.ndarray:
    """Draw the mollified density p(x; σ) of a 2-D mixture as an image; returns the density [n, n]."""
    points, shape = grid_points(extent, n)
    density = mixture.log_prob(points, sigma).exp().reshape(shape).numpy()
    ax.imshow(density, origin="lower", extent=extent, cmap=cmap, aspect="equal")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return density


def plot_points(ax: plt.Axes, x: torch.Tensor, **kwargs) -> None:
    """Scatter 2-D points [B, 2] with small markers."""
    x = torch.as_tensor(x).detach().cpu().numpy()
    style = dict(s=3, alpha=0.6, linewidths=0) | kwargs
    ax.scatter(x[:, 0], x[:, 1], **style)


def plot_score_field(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigma: float,
    extent: Extent = (-1.6, 1.6, -1.6, 1.6),
    n: int = 21,
    **kwargs,
) -> Quiver:
    """Quiver plot of the score ∇ log p(x; σ) on an n×n grid, arrows scaled to unit length.

    The magnitude spans orders of magnitude between σ = 0.05 and σ = 5, so only
    the direction is drawn.  Returns the quiver.
    """
    points, _ = grid_points(extent, n)
    score = mixture.score(points, sigma)  # [n², 2]
    unit = (score / score.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()  # [n², 2]
    style = dict(color="black", alpha=0.7, angles="xy", pivot="mid") | kwargs
    quiver = ax.quiver(points[:, 0].numpy(), points[:, 1].numpy(), unit[:, 0], unit[:, 1], **style)
    ax.set_aspect("equal")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return quiver


def image_grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """Tile images [B, 1, H, W] (values in [−1, 1]) into one array for `imshow`, with 1-pixel gaps."""
    images = torch.as_tensor(images).detach().cpu().to(torch.float64)
    B, _, H, W = images.shape
    ncol = -(-B // nrow)
    canvas = np.full((ncol * (H + 1) - 1, nrow * (W + 1) - 1), np.nan)
    for k in range(B):
        r, c = divmod(k, nrow)
        canvas[r * (H + 1) : r * (H + 1) + H, c * (W + 1) : c * (W + 1) + W] = images[k, 0].numpy()
    return canvas


def show_images(ax: plt.Axes, images: torch.Tensor, nrow: int | None = None, title: str | None = None) -> None:
    """Show a batch of one-channel images [B, 1, H, W] in [−1, 1] as a grid (grey, clipped)."""
    nrow = nrow or images.shape[0]
    cmap = plt.get_cmap("gray").copy()
    cmap.set_bad("white")
    ax.imshow(image_grid(images, nrow), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def plot_density_1d_over_sigma(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigmas: Sequence[float] | torch.Tensor,
    x_range: tuple[float, float] = (-3, 3),
    n: int = 300,
    cmap: str = "Blues",
) -> np.ndarray:
    """Heat map of p(x; σ) for a 1-D mixture: σ along the horizontal axis, x vertical.

    Each column is normalised to its maximum so that the shape of the density
    stays visible as it spreads out with σ.  Returns the density [n, len(sigmas)].
    """
    sigmas = torch.as_tensor(sigmas, dtype=torch.float64)
    xs = torch.linspace(*x_range, n, dtype=torch.float64)[:, None]  # [n, 1]
    density = torch.stack([mixture.log_prob(xs, s).exp() for s in sigmas], dim=1)  # [n, S]
    density = (density / density.max(dim=0).values).numpy()
    ax.pcolormesh(sigmas.numpy(), xs[:, 0].numpy(), density, cmap=cmap, shading="auto")
    ax.set_xlabel(r"noise level $\sigma$")
    ax.set_ylabel(r"$x$")
    return density
