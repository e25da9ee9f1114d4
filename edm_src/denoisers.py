"""Exact (ideal) denoisers: the settings where D(x; σ) is known in closed form.

With an exact denoiser there is no network error, so every error the book
measures is the sampler's own.  Both classes follow the `net` protocol of the
samplers, `net(x, sigma, class_labels=None) -> D(x; sigma)`, so they plug
straight into `edm_sampler` and `ablation_sampler`.

* `GaussianMixture`: p_data = Σ_k w_k N(μ_k, s_k² I).  Mollifying with
  N(0, σ² I) (Sec. 2) keeps it a mixture, p(x; σ) = Σ_k w_k N(x; μ_k, (s_k² + σ²) I),
  so p(x; σ), its score and the denoiser are all closed-form.
* `EmpiricalDenoiser`: the ideal denoiser of a finite training set (App. B.3,
  Eq. 57), which is the special case s_k = 0, w_k = 1/K.

Everything is computed in float64 with log-sum-exp responsibilities, so the
denoiser is stable from σ = 1e-4 to 1e4 and for points far from the data.
"""

from __future__ import annotations

import math

import torch

from ._validation import check_finite, check_sigma_tensor


def _output_dtype(dtype: torch.dtype) -> torch.dtype:
    """Outputs keep a floating input's dtype; integer inputs give float64."""
    return dtype if dtype.is_floating_point else torch.float64


class GaussianMixture:
    """Isotropic Gaussian mixture p_data = Σ_k w_k N(μ_k, s_k² I) with exact D(x; σ).

    Args:
        means: component means μ_k, shape [K, D].
        stds: component standard deviations s_k >= 0, shape [K] (0 is a point mass).
        weights: mixture weights w_k >= 0, shape [K]; normalised to sum to one.

    Inputs `x` may have any shape [B, ...] whose trailing dimensions hold D
    numbers (points [B, D] or images [B, C, H, W] with C·H·W = D); outputs keep
    the shape and dtype of `x`.  `sigma` is a scalar or has shape [B].
    """

    sigma_min = 0.0
    sigma_max = float("inf")

    def __init__(self, means: torch.Tensor, stds: torch.Tensor, weights: torch.Tensor):
        means = torch.as_tensor(means, dtype=torch.float64)
        stds = torch.as_tensor(stds, dtype=torch.float64)
        weights = torch.as_tensor(weights, dtype=torch.float64)
        if means.ndim != 2:
            raise ValueError(f"means must have shape [K, D], got shape {tuple(means.shape)}")
        K = means.shape[0]
        if stds.shape != (K,):
            raise ValueError(
                f"stds must have shape [K] = [{K}] to match means, got {tuple(stds.shape)}"
            )
        if weights.shape != (K,):
            raise ValueError(
                f"weights must have shape [K] = [{K}] to match means, got {tuple(weights.shape)}"
            )
        check_finite("means", means)
        if not torch.isfinite(stds).all() or (stds < 0).any():
            raise ValueError("stds must be finite and >= 0")
        if not torch.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be finite, >= 0 and not all zero")
        self.means = means  # [K, D]
        self.stds = stds  # [K]
        self.weights = weights / weights.sum()  # [K]
        self.log_weights = torch.log(self.weights)  # [K] (-inf for empty components)

    # ------------------------------------------------------------------ shape
    @property
    def dim(self) -> int:
        """The data dimension D."""
        return self.means.shape[1]

    @property
    def mean(self) -> torch.Tensor:
        """Exact mean of p_data, E[y] = Σ_k w_k μ_k, shape [D]."""
        return self.weights @ self.means

    @property
    def covariance(self) -> torch.Tensor:
        """Exact covariance of p_data, Σ_k w_k (s_k² I + μ_k μ_kᵀ) − E[y]E[y]ᵀ, shape [D, D]."""
        second = (self.means.T * self.weights) @ self.means  # [D, D]
        second = second + torch.eye(self.dim, dtype=torch.float64) * (self.weights @ self.stds**2)
        return second - torch.outer(self.mean, self.mean)

    @property
    def sigma_data(self) -> float:
        """Per-coordinate standard deviation of the data, sqrt(tr Cov / D) (Sec. 5's σ_data)."""
        return math.sqrt(float(torch.trace(self.covariance)) / self.dim)

    def _flatten(self, x: torch.Tensor, sigma) -> tuple[torch.Tensor, torch.Tensor]:
        """x → [B, D] float64 and sigma → [B, 1] float64, with validation."""
        x = torch.as_tensor(x)
        if x.ndim < 1 or x[0].numel() != self.dim:
            raise ValueError(
                f"x must have shape [B, ...] with {self.dim} numbers per sample, "
                f"got shape {tuple(x.shape)}"
            )
        B = x.shape[0]
        sigma = check_sigma_tensor(sigma).to(device=x.device, dtype=torch.float64)
        if sigma.numel() not in (1, B):
            raise ValueError(
                f"sigma must be a scalar or have shape [B] = [{B}], got {tuple(sigma.shape)}"
            )
        sigma = sigma.reshape(-1, 1).expand(B, 1)  # [B, 1]
        return x.reshape(B, self.dim).to(torch.float64), sigma

    def _posterior(self, x: torch.Tensor, sigma: torch.Tensor):
        """Log-density terms and responsibilities r_k(x; σ) of the mollified mixture.

        Returns (log_terms [B, K], var [B, K]) where
        log_terms_k = log w_k + log N(x; μ_k, (s_k² + σ²) I).
        """
        means, stds = self.means.to(x.device), self.stds.to(x.device)
        var = stds**2 + sigma**2  # [B, K]
        sq_dist = torch.cdist(x, means).square()  # [B, K]
        log_terms = (
            self.log_weights.to(x.device)
            - 0.5 * sq_dist / var
            - 0.5 * self.dim * torch.log(2 * math.pi * var)
        )  # [B, K]
        return log_terms, var

    # ----------------------------------------------------------- the maths
    def __call__(self, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
        """Exact denoiser D(x; σ) = E[y | y + n = x], n ~ N(0, σ² I).

        Per component, E[y | x, k] = μ_k + s_k²/(s_k² + σ²)(x − μ_k); D averages
        these with the responsibilities r_k ∝ w_k N(x; μ_k, (s_k² + σ²) I).
        At σ = 0 there is no noise to remove and D(x; 0) = x.
        """
        x = torch.as_tensor(x)
        shape, dtype = x.shape, x.dtype
        x, sigma = self._flatten(x, sigma)  # [B, D], [B, 1]
        noiseless = sigma == 0  # [B, 1]
        log_terms, var = self._posterior(x, torch.where(noiseless, 1.0, sigma))  # [B, K]
        r = torch.softmax(log_terms, dim=1)  # [B, K] responsibilities
        shrink = self.stds.to(x.device) ** 2 / var  # [B, K] = s_k²/(s_k² + σ²)
        means = self.means.to(x.device)
        # Σ_k r_k [μ_k + shrink_k (x − μ_k)] = Σ r_k (1 − shrink_k) μ_k + (Σ r_k shrink_k) x
        D = (r * (1 - shrink)) @ means + (r * shrink).sum(1, keepdim=True) * x  # [B, D]
        D = torch.where(noiseless, x, D)
        return D.reshape(shape).to(_output_dtype(dtype))

    def score(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """∇ₓ log p(x; σ) = Σ_k r_k (μ_k − x)/(s_k² + σ²), which equals (D − x)/σ² (Eq. 3)."""
        x = torch.as_tensor(x)
        shape, dtype = x.shape, x.dtype
        x, sigma = self._flatten(x, sigma)
        log_terms, var = self._posterior(x, sigma)
        r = torch.softmax(log_terms, dim=1)  # [B, K]
        means = self.means.to(x.device)
        score = (r / var) @ means - (r / var).sum(1, keepdim=True) * x  # [B, D]
        return score.reshape(shape).to(_output_dtype(dtype))

    def log_prob(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """log p(x; σ) of the mollified density, shape [B] (log-sum-exp over components)."""
        x, sigma = self._flatten(x, sigma)
        log_terms, _ = self._posterior(x, sigma)
        return torch.logsumexp(log_terms, dim=1)  # [B]

    def sample(
        self, n: int, generator: torch.Generator | None = None, sigma: float = 0.0
    ) -> torch.Tensor:
        """Draw n samples of p(x; σ) (σ = 0: the data distribution), shape [n, D], float64."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # [n]
        std = torch.sqrt(self.stds[k] ** 2 + float(sigma) ** 2)[:, None]  # [n, 1]
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return self.means[k] + std * noise  # [n, D]


class EmpiricalDenoiser(GaussianMixture):
    """The ideal denoiser of a finite training set {y_i} (App. B.3, Eq. 57).

    D(x; σ) = Σ_i N(x; y_i, σ² I) y_i / Σ_i N(x; y_i, σ² I): a softmax-weighted
    average of the training points, which tends to the data mean as σ → ∞ and
    to the nearest training point as σ → 0.  It is the Gaussian mixture with
    zero-width components of equal weight, so it inherits `score`, `log_prob`
    and `sample` (which then draws training points).

    Args:
        data: training set, shape [N, ...] (e.g. the digits, [1797, 1, 8, 8]).
        batch_size: evaluate at most this many query points at once, so that
            the [B, N] distance matrix stays small for big batches.
    """

    def __init__(self, data: torch.Tensor, batch_size: int = 2048):
        data = torch.as_tensor(data)
        if data.ndim < 2 or data.shape[0] < 1:
            raise ValueError(f"data must have shape [N, ...] with N >= 1, got {tuple(data.shape)}")
        N = data.shape[0]
        super().__init__(data.reshape(N, -1), torch.zeros(N), torch.ones(N))
        self.data_shape = tuple(data.shape[1:])
        self.batch_size = int(batch_size)

    def __call__(self, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
        """Eq. 57, evaluated in chunks of `batch_size` query points."""
        x = torch.as_tensor(x)
        if x.ndim < 1 or x.shape[0] <= self.batch_size:
            return super().__call__(x, sigma, class_labels)
        sigma = check_sigma_tensor(sigma).reshape(-1)  # [1] or [B]
        if sigma.numel() not in (1, x.shape[0]):
            return super().__call__(x, sigma, class_labels)  # raises the shape error
        sigma = sigma.expand(x.shape[0]) if sigma.numel() == 1 else sigma  # [B]
        parts = [
            super(EmpiricalDenoiser, self).__call__(x_b, sigma_b)
            for x_b, sigma_b in zip(x.split(self.batch_size), sigma.split(self.batch_size))
        ]
        return torch.cat(parts)  # [B, ...]
