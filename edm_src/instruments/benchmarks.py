"""The book's benchmarks for sampling experiments, built once and reused on every page.

Each benchmark has an exact denoiser, so a sampler's error is measurable
without a trained network (Chapter 3 reproduces Fig. 2, Fig. 4, Fig. 5b and
App. D.1 on them):

* `ring_2d`: a 2-D ring of 8 Gaussians, for pictures of trajectories;
* `low_dim_mixture`: a 64-D mixture whose components lie on a curved 2-D
  surface, scaled to σ_data = 0.5 — the image-like benchmark;
* `digits_benchmark`: the 8×8 digits with the ideal denoiser of the finite set (Eq. 57);
* `DiscreteLevels`: restricts a denoiser to discrete noise levels, as an iDDPM
  network is (Table 1), for Figure 2's iDDPM column;
* `ImperfectDenoiser`: wraps an exact denoiser with a controlled error that
  mimics a trained network's, for the stochastic-sampling experiments (Sec. 4).
"""

from __future__ import annotations

import math

import torch

from .._net import Net, check_net, net_output, net_round_sigma, net_sigma_range
from .._validation import (
    check_integer,
    check_magnitude,
    check_positive,
    check_real,
    check_seed,
    check_sequence,
    check_sigma_tensor,
    check_tensor,
)
from ..data import load_digits, toy_mixture
from ..denoisers import EmpiricalDenoiser, GaussianMixture

SIGMA_DATA = 0.5  # EDM's σ_data (Sec. 5): images in [−1, 1]


def ring_2d() -> GaussianMixture:
    """The 2-D ring of 8 equal Gaussians (radius 1, std 0.05): `toy_mixture('ring', std=0.05)`."""
    return toy_mixture("ring", std=0.05)


def low_dim_mixture(
    dim: int = 64,
    intrinsic_dim: int = 2,
    num_components: int = 32,
    std: float = 0.02,
    seed: int = 0,
) -> GaussianMixture:
    """A mixture in `dim` dimensions whose component means lie on a curved `intrinsic_dim`-dimensional surface.

    Why: images lie near a low-dimensional manifold of their pixel space, and
    the curvature of the probability-flow trajectories — hence the truncation
    error that Sec. 3 and App. D.1 study — comes from how the denoiser's output
    swings between far-apart, tightly concentrated modes as σ falls.  An
    isotropic Gaussian has almost straight trajectories; this mixture has the
    image-like structure: low intrinsic dimension, curved, well-separated narrow modes.

    Construction (deterministic given `seed`): latent angles u ∈ [0, 2π)^intrinsic_dim
    drawn uniformly, one per component; the smooth torus map
    φ(u) = (cos k u_j / k, sin k u_j / k) for j < intrinsic_dim and harmonics k = 1, 2, 3;
    a fixed random isometric embedding of φ into R^dim (orthonormal columns,
    or a Gaussian matrix if φ has more coordinates than `dim`); then the means
    are centred and scaled so that the per-coordinate data std
    √(tr Cov/D) = σ_data = 0.5 (EDM's value for images in [−1, 1]).  Equal
    weights, component std `std` per coordinate.
    """
    dim = check_integer("dim", dim, 1, 100_000)
    intrinsic_dim = check_integer("intrinsic_dim", intrinsic_dim, 1, 1000)
    num_components = check_integer("num_components", num_components, 2, 10**6)
    std = check_positive("std", std)
    if std >= SIGMA_DATA:
        raise ValueError(f"std must be smaller than sigma_data = {SIGMA_DATA}, got {std}")
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    u = (
        2 * math.pi * torch.rand(num_components, intrinsic_dim, generator=g, dtype=torch.float64)
    )  # [K, d]
    k = torch.arange(1, 4, dtype=torch.float64)  # harmonics, [3]
    ku = u[:, :, None] * k  # [K, d, 3]
    phi = torch.cat([(ku.cos() / k).flatten(1), (ku.sin() / k).flatten(1)], dim=1)  # [K, F], F = 6d
    F = phi.shape[1]
    embedding = torch.randn(dim, F, generator=g, dtype=torch.float64)  # [D, F]
    embedding = (
        torch.linalg.qr(embedding).Q if dim >= F else embedding / math.sqrt(F)
    )  # orthonormal columns
    means = phi @ embedding.T  # [K, D]
    means = means - means.mean(0)
    # Per-coordinate variance = mean ‖μ_k‖²/D + std² (equal weights, centred); solve for the scale.
    scale = math.sqrt((SIGMA_DATA**2 - std**2) / float(means.square().sum(1).mean() / dim))
    stds = torch.full((num_components,), std, dtype=torch.float64)
    return GaussianMixture(scale * means, stds, torch.ones(num_components, dtype=torch.float64))


def digits_benchmark() -> tuple[torch.Tensor, EmpiricalDenoiser]:
    """The 1,797 8×8 digits in [−1, 1] as float64 [1797, 1, 8, 8], and their ideal denoiser (Eq. 57)."""
    data = load_digits(torch.float64)  # [1797, 1, 8, 8]
    return data, EmpiricalDenoiser(data)


class DiscreteLevels:
    """A denoiser that can be evaluated only at discrete noise levels, like an iDDPM network.

    iDDPM's network is conditioned on the index of the nearest level,
    c_noise = M − 1 − argmin_j |u_j − σ| (Table 1, column iDDPM), so it knows
    the M levels u_j and nothing between them.  This wrapper gives an exact
    denoiser the same restriction: its `round_sigma` snaps σ to the nearest of
    `levels` (the samplers then place every time step on a level), and each
    call evaluates the wrapped net at the rounded σ.  `levels` are positive
    noise levels [M]; `schedules.iddpm_u()[:-1]` are iDDPM's (u_M = 0 is left out).
    """

    def __init__(self, net: Net, levels: torch.Tensor):
        self.net = check_net(net)
        levels = check_tensor("levels", levels, max_ndim=1).to(torch.float64)
        if len(levels) == 0 or bool((levels <= 0).any()):
            raise ValueError(
                f"levels must be a non-empty 1-D tensor of noise levels > 0, got {levels.tolist()[:8]}"
            )
        self.levels = levels.sort().values  # [M], ascending

    @property
    def sigma_min(self) -> float:
        return max(net_sigma_range(self.net)[0], self.levels[0].item())

    @property
    def sigma_max(self) -> float:
        return min(net_sigma_range(self.net)[1], self.levels[-1].item())

    @property
    def dim(self) -> int | None:
        """The wrapped net's data dimension, if it declares one."""
        return getattr(self.net, "dim", None)

    def round_sigma(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """The nearest level u_j to each σ (Table 1's argmin_j |u_j − σ|), float64 with σ's shape."""
        sigma = check_sigma_tensor(sigma).to(torch.float64)
        levels = self.levels.to(sigma.device)
        nearest = (sigma.reshape(-1, 1) - levels).abs().argmin(dim=1)  # [S]
        return levels[nearest].reshape(sigma.shape)

    def __call__(
        self, x: torch.Tensor, sigma: torch.Tensor | float, class_labels=None
    ) -> torch.Tensor:
        """D(x; u_j) at the level u_j nearest to σ."""
        x = check_tensor("x", x, min_ndim=1)
        sigma = check_sigma_tensor(sigma, batch=len(x), ndim=x.ndim)
        return net_output(self.net(x, self.round_sigma(sigma), class_labels), x)


class ImperfectDenoiser:
    """An exact denoiser with a controlled error that mimics a trained network's (Sec. 4).

    D̃(x; σ) = D(x; σ) + δ(σ)(D(x; σ) − x) + bias · w(σ) c_out(σ) g(x), where

    * δ(σ) = delta / (1 + (σ/sigma_delta)²) makes D̃ remove slightly too much
      noise (delta > 0), most strongly at low σ — the error the paper suspects
      in L2-trained denoisers (Sec. 4) and offers as the reason for S_noise > 1
      and the S_tmin window (Chapter 3.4 measures whether they help against
      it); sigma_delta = ∞ gives a constant δ;
    * g(x) = tanh(A x + b) is a fixed, smooth, bounded random field (A, b drawn
      from `seed`, A scaled by 1/(σ_data √D) so that data-sized x gives O(1)
      arguments), scaled by c_out(σ) = σ σ_data/√(σ² + σ_data²) because a
      network's error is amplified by c_out (Sec. 5); w(σ) is a smooth window
      that is ≈ 1 for σ inside `bias_sigma` = (lo, hi) and ≈ 0 outside
      (logistic in ln σ with slope 4), so the ODE it drives stays smooth.

    With delta = 0 and bias = 0 it is exactly the wrapped denoiser.  It follows
    the `net(x, sigma, class_labels=None)` protocol (x [B, ...], σ scalar or
    [B]), keeps x's floating dtype and passes through the wrapped net's
    sigma_min, sigma_max and round_sigma.
    """

    def __init__(
        self,
        net: Net,
        delta: float = 0.05,
        sigma_delta: float = 0.5,
        bias: float = 0.0,
        bias_sigma: tuple[float, float] = (0.2, 5.0),
        seed: int = 0,
        sigma_data: float = SIGMA_DATA,
    ):
        self.net = check_net(net)
        # δ of a few percent and a bias of order 1 are the error models of Chapter 3.4
        self.delta = check_real("delta", delta, low=-100.0, high=100.0)
        self.bias = check_real("bias", bias, low=-1e6, high=1e6)
        # ∞ is allowed: a constant δ
        self.sigma_delta = check_real(
            "sigma_delta", sigma_delta, low=0.0, low_open=True, allow_inf=True
        )
        interval = check_sequence("bias_sigma", bias_sigma)
        if len(interval) != 2:
            raise ValueError(f"bias_sigma must be an interval (lo, hi), got {bias_sigma!r}")
        lo, hi = (check_positive("bias_sigma", v) for v in interval)
        if not lo < hi:
            raise ValueError(
                f"bias_sigma must be an interval (lo, hi) with lo < hi, got {bias_sigma!r}"
            )
        self.bias_sigma, self.seed = (lo, hi), check_seed("seed", seed)
        self.sigma_data = check_magnitude("sigma_data", sigma_data)
        self._fields: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------- net protocol
    @property
    def sigma_min(self) -> float:
        return net_sigma_range(self.net)[0]

    @property
    def sigma_max(self) -> float:
        return net_sigma_range(self.net)[1]

    @property
    def dim(self) -> int | None:
        """The wrapped net's data dimension, if it declares one."""
        return getattr(self.net, "dim", None)

    def round_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        """The wrapped net's round_sigma (identity when it has none)."""
        return net_round_sigma(self.net, check_sigma_tensor(sigma).to(torch.float64))

    # ------------------------------------------------------- the error
    def delta_of_sigma(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """δ(σ) = delta / (1 + (σ/sigma_delta)²), float64 with σ's shape."""
        sigma = check_sigma_tensor(sigma).to(torch.float64)
        return self.delta / (1 + (sigma / self.sigma_delta) ** 2)

    def bias_window(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """w(σ) = logistic(4 ln(σ/lo)) · logistic(4 ln(hi/σ)): ≈ 1 inside bias_sigma, ≈ 0 outside."""
        log_sigma = check_sigma_tensor(sigma).to(torch.float64).clamp(min=1e-300).log()
        lo, hi = self.bias_sigma
        return torch.sigmoid(4 * (log_sigma - math.log(lo))) * torch.sigmoid(
            4 * (math.log(hi) - log_sigma)
        )

    def field(self, x: torch.Tensor) -> torch.Tensor:
        """g(x) = tanh(A x + b) for x [B, ...] (A [D, D], b [D] fixed by seed and D), float64 [B, ...]."""
        x = check_tensor("x", x, min_ndim=1)
        D = math.prod(x.shape[1:])
        key = (D, str(x.device))
        if key not in self._fields:
            g = torch.Generator().manual_seed(self.seed)
            A = torch.randn(D, D, generator=g, dtype=torch.float64) / (
                self.sigma_data * math.sqrt(D)
            )
            b = torch.randn(D, generator=g, dtype=torch.float64)
            self._fields[key] = (A.to(x.device), b.to(x.device))
        A, b = self._fields[key]
        return torch.tanh(x.reshape(len(x), D).to(torch.float64) @ A.T + b).reshape(x.shape)

    def __call__(
        self, x: torch.Tensor, sigma: torch.Tensor | float, class_labels=None
    ) -> torch.Tensor:
        """D̃(x; σ) = D + δ(σ)(D − x) + bias · w(σ) c_out(σ) g(x)."""
        x = check_tensor("x", x, min_ndim=1, float_dtype=torch.float64)
        dtype = x.dtype
        sigma = check_sigma_tensor(sigma, batch=len(x), ndim=x.ndim)
        denoised = net_output(self.net(x, sigma, class_labels), x)  # [B, ...], float64
        x64 = x.to(torch.float64)
        sigma = sigma.to(device=x.device, dtype=torch.float64)
        sigma = sigma.reshape((-1,) + (1,) * (x.ndim - 1))  # [1 or B, 1, ...]
        out = denoised + self.delta_of_sigma(sigma) * (denoised - x64)
        if self.bias != 0:
            c_out = sigma * self.sigma_data / (sigma**2 + self.sigma_data**2).sqrt()
            out = out + self.bias * self.bias_window(sigma) * c_out * self.field(x64)
        return out.to(dtype)
