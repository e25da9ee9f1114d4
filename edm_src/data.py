"""Data the book can use offline: the 8×8 digits and 2-D / 1-D toy distributions.

Nothing here downloads anything.  The digits ship inside scikit-learn; the toy
distributions are generated.  Where a toy distribution is a Gaussian mixture
it is returned as a `GaussianMixture`, so its exact denoiser, score and
density are known; sample-based toys pair with `EmpiricalDenoiser`.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    check_choice,
    check_dtype,
    check_integer,
    check_keywords,
    check_magnitude,
    check_positive,
    check_seed,
)
from .denoisers import GaussianMixture


def load_digits(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """scikit-learn's 1,797 handwritten 8×8 digits scaled to [−1, 1], shape [1797, 1, 8, 8].

    The raw pixels are integers 0…16; we map them linearly to [−1, 1], the
    range the paper's image models use.  `dtype` must be a floating-point dtype
    (an integer dtype would round the 17 grey levels to −1, 0 and 1).
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    dtype = check_dtype("dtype", dtype)
    pixels = torch.as_tensor(_sk_load_digits().images, dtype=torch.float64)  # [1797, 8, 8]
    return (pixels / 8.0 - 1.0).unsqueeze(1).to(dtype)  # [1797, 1, 8, 8]


def load_digit_labels() -> torch.Tensor:
    """Class labels 0…9 of `load_digits`, shape [1797]."""
    from sklearn.datasets import load_digits as _sk_load_digits

    return torch.as_tensor(_sk_load_digits().target, dtype=torch.int64)


TOY_MIXTURES = ("ring", "grid", "two_blobs", "line_1d")
#: The keyword arguments each toy mixture takes besides `std`.
TOY_MIXTURE_KEYWORDS = {"ring": ("K", "radius"), "grid": ("side",), "two_blobs": (), "line_1d": ()}


def toy_mixture(name: str, std: float = 0.05, **kwargs) -> GaussianMixture:
    """A toy Gaussian mixture whose exact denoiser is known.

    * ``'ring'``: ``K`` (default 8) equal components on a circle of ``radius`` (default 1) in 2-D;
    * ``'grid'``: a ``side``×``side`` (default 5) grid of equal components on [−1, 1]² in 2-D;
    * ``'two_blobs'``: two 2-D components of unequal weight (0.7/0.3) at (−0.6, −0.3) and (0.7, 0.5),
      the larger one wider (std and 2·std);
    * ``'line_1d'``: a 1-D mixture with components at −1, 0.3 and 1 (weights 0.4, 0.2, 0.4),
      the book's 1-D picture of p(x; σ).

    Args:
        name: one of `TOY_MIXTURES`.
        std: the components' standard deviation (> 0).
        kwargs: only those of `TOY_MIXTURE_KEYWORDS[name]`; any other is an error.
    """
    check_choice("name", name, TOY_MIXTURES)
    check_keywords(f"toy_mixture({name!r})", kwargs, TOY_MIXTURE_KEYWORDS[name])
    std = check_magnitude("std", std)
    if name == "ring":
        K = check_integer("K", kwargs.get("K", 8), 1, 10**6)
        radius = check_magnitude("radius", kwargs.get("radius", 1.0))
        angle = 2 * math.pi * torch.arange(K, dtype=torch.float64) / K  # [K]
        means = radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # [K, 2]
        return GaussianMixture(means, torch.full((K,), std, dtype=torch.float64), torch.ones(K))
    if name == "grid":
        side = check_integer("side", kwargs.get("side", 5), 1, 1000)
        ticks = torch.linspace(-1, 1, side, dtype=torch.float64)  # [side]
        means = torch.cartesian_prod(ticks, ticks)  # [side², 2]
        return GaussianMixture(
            means, torch.full((side * side,), std, dtype=torch.float64), torch.ones(side * side)
        )
    if name == "two_blobs":
        means = torch.tensor([[-0.6, -0.3], [0.7, 0.5]], dtype=torch.float64)
        return GaussianMixture(
            means, torch.tensor([std, 2 * std], dtype=torch.float64), torch.tensor([0.7, 0.3])
        )
    means = torch.tensor([[-1.0], [0.3], [1.0]], dtype=torch.float64)  # 'line_1d', [3, 1]
    return GaussianMixture(
        means, torch.full((3,), std, dtype=torch.float64), torch.tensor([0.4, 0.2, 0.4])
    )


TOY_SAMPLES = ("moons", "spiral")


def toy_samples(name: str, n: int = 1000, noise: float = 0.03, seed: int = 0) -> torch.Tensor:
    """A finite 2-D data set, shape [n, 2] float64, scaled to roughly [−1, 1]².

    Pair it with `EmpiricalDenoiser` for its exact (finite-data) denoiser.
    ``'moons'`` is scikit-learn's two interleaving half circles; ``'spiral'``
    a two-turn Archimedean spiral.  ``noise`` is the standard deviation of the
    Gaussian jitter added to each point.
    """
    check_choice("name", name, TOY_SAMPLES)
    n = check_integer("n", n, 1, 10**8)
    noise = check_positive("noise", noise, allow_zero=True)
    seed = check_seed("seed", seed)
    g = torch.Generator().manual_seed(seed)
    if name == "moons":
        from sklearn.datasets import make_moons

        points, _ = make_moons(n_samples=n, noise=0.0, random_state=seed % 2**32)
        x = torch.as_tensor(points, dtype=torch.float64)  # [n, 2], in [-1, 2] × [-0.5, 1]
        x = (x - torch.tensor([0.5, 0.25], dtype=torch.float64)) / 1.5
    else:
        r = torch.rand(n, generator=g, dtype=torch.float64)  # [n], position along the arm
        angle = 4 * math.pi * r
        x = 0.9 * r[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)  # [n, 2]
    return x + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)
