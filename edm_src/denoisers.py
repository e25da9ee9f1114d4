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

from ._validation import (
    MAX_MAGNITUDE,
    all_finite,
    check_device,
    check_generator,
    check_integer,
    check_real,
    check_sigma_tensor,
    check_tensor,
)

#: The most samples one call of `sample` draws (8 GB of 1-D samples in float64).
MAX_SAMPLES = 10**9

#: The smallest σ an exact denoiser evaluates with: below it 1/σ² would leave float64's range,
#: and the responsibilities are one-hot on the nearest component to float64 precision anyway.
SIGMA_FLOOR = 1e-150


def _output_dtype(dtype: torch.dtype) -> torch.dtype:
    """Outputs keep a floating input's dtype; integer inputs give float64."""
    return dtype if dtype.is_floating_point else torch.float64


class GaussianMixture:
    """Isotropic Gaussian mixture p_data = Σ_k w_k N(μ_k, s_k² I) with exact D(x; σ).

    Args:
        means: component means μ_k, shape [K, D].
        stds: component standard deviations s_k >= 0, shape [K] (0 is a point mass).
        weights: mixture weights w_k >= 0, shape [K]; normalised to sum to one.

    Every tensor of the mixture lives on the device of `means` (`to(device)`
    makes a copy elsewhere).  Inputs `x` must be on that device and may have any
    shape [B, ...] whose trailing dimensions hold D numbers (points [B, D] or
    images [B, C, H, W] with C·H·W = D); B = 0 gives an empty result.  Outputs
    keep the shape and floating dtype of `x`.  `sigma` is a scalar or has shape
    [B] (or [B, 1, …, 1]), finite and ≥ 0.

    Cost.  One evaluation of D is one matrix product for the responsibilities
    and one for the weighted average of the means, plus a softmax over [B, K]:
    the squared distances ‖x − μ_k‖² = ‖x‖² − 2 x·μ_k + ‖μ_k‖² are never formed
    as a [B, K, D] array, and ‖x‖² drops out of the softmax when all s_k are equal.
    Stability.  Everything is scaled by 1/(s_k² + σ²) before it is summed, so
    σ up to the float64 limit gives the right limits (D → E[y] as σ → ∞) rather
    than inf/inf.
    """

    sigma_min = 0.0
    sigma_max = float("inf")

    def __init__(self, means: torch.Tensor, stds: torch.Tensor, weights: torch.Tensor):
        means = check_tensor("means", means, min_ndim=2, max_ndim=2, float_dtype=torch.float64)
        means = means.to(torch.float64)
        K, D = means.shape
        if K < 1 or D < 1:
            raise ValueError(
                f"means must have shape [K, D] with K, D >= 1, got {tuple(means.shape)}"
            )
        device = means.device
        stds = check_tensor("stds", stds, min_ndim=0, float_dtype=torch.float64)
        weights = check_tensor("weights", weights, min_ndim=0, float_dtype=torch.float64)
        if stds.shape != (K,):
            raise ValueError(
                f"stds must have shape [K] = [{K}] to match means, got {tuple(stds.shape)}"
            )
        if weights.shape != (K,):
            raise ValueError(
                f"weights must have shape [K] = [{K}] to match means, got {tuple(weights.shape)}"
            )
        if float(means.abs().max()) > MAX_MAGNITUDE:
            raise ValueError(f"means must have entries of magnitude <= {MAX_MAGNITUDE:g}")
        if (stds < 0).any() or float(stds.max()) > MAX_MAGNITUDE:
            raise ValueError(f"stds must be finite, >= 0 and <= {MAX_MAGNITUDE:g}")
        if (weights < 0).any() or not float(weights.max()) > 0:
            raise ValueError("weights must be finite, >= 0 and not all zero")
        if not all_finite(weights.sum()):  # weights near float64's limit: scale them down first
            weights = weights / weights.max()
        self.means = means  # [K, D]
        self.stds = stds.to(device=device, dtype=torch.float64)  # [K]
        weights = weights.to(device=device, dtype=torch.float64)
        self.weights = weights / weights.sum()  # [K]
        self.log_weights = torch.log(self.weights)  # [K] (-inf for empty components)
        self.batch_size: int | None = None  # evaluate at most this many queries at once
        # What every evaluation needs, computed once; components of weight 0 take no part.
        active = self.weights > 0
        self._means = means[active]  # [K', D]
        self._stds = self.stds[active]  # [K']
        self._log_weights = self.log_weights[active]  # [K']
        self._sq_norms = self._means.square().sum(1)  # [K'], ‖μ_k‖²
        self._equal_stds = bool((self._stds == self._stds[0]).all())
        self._s2 = float(self._stds[0]) ** 2  # s² when all s_k are equal
        self._uniform = bool((self._log_weights == self._log_weights[0]).all())
        # μᵀ [D, K'] for the logits' product, and [μ_k, 1] [K', D + 1] so that one product
        # gives both Σ_k e_k μ_k and Σ_k e_k (the softmax's normaliser).
        self._means_T = self._means.T.contiguous()
        self._means_one = torch.cat([self._means, torch.ones_like(self._sq_norms)[:, None]], dim=1)

    def to(self, device: torch.device | str) -> GaussianMixture:
        """A copy of the mixture with every tensor on `device` (an EmpiricalDenoiser stays one)."""
        device = check_device("device", device)
        if device is None:
            raise ValueError(
                "device must be an available torch.device or a device string, got None"
            )
        copy = type(self).__new__(type(self))
        copy.__dict__.update(
            {
                k: v.to(device) if isinstance(v, torch.Tensor) else v
                for k, v in self.__dict__.items()
            }
        )
        return copy

    # ------------------------------------------------------------------ shape
    @property
    def device(self) -> torch.device:
        """The device every tensor of the mixture lives on."""
        return self.means.device

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
        eye = torch.eye(self.dim, dtype=torch.float64, device=self.device)
        second = second + eye * (self.weights @ self.stds**2)
        return second - torch.outer(self.mean, self.mean)

    @property
    def sigma_data(self) -> float:
        """Per-coordinate standard deviation of the data, sqrt(tr Cov / D) (Sec. 5's σ_data)."""
        return math.sqrt(float(torch.trace(self.covariance)) / self.dim)

    def _flatten(
        self, x: torch.Tensor, sigma, *, positive: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validate; return (x as a tensor, x as [B, D] float64, sigma as [B or 1, 1] float64)."""
        x = check_tensor("x", x, min_ndim=1, float_dtype=torch.float64)
        if math.prod(x.shape[1:]) != self.dim:
            raise ValueError(
                f"x must have shape [B, ...] with {self.dim} numbers per sample, "
                f"got shape {tuple(x.shape)}"
            )
        if x.device != self.device:
            raise ValueError(
                f"x must be on the mixture's device {self.device} (see `to`), got {x.device}"
            )
        B = x.shape[0]
        sigma = check_sigma_tensor(sigma, batch=B, ndim=x.ndim, positive=positive)
        sigma = sigma.to(device=x.device, dtype=torch.float64).reshape(-1, 1)  # [B or 1, 1]
        return x, x.reshape(B, self.dim).to(torch.float64), sigma

    def _log_densities(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """log w_k + log N(x; μ_k, (s_k² + σ²) I) for x [B, D], sigma [B or 1, 1]: [B, K'].

        From exact squared distances, scaled by 1/√v_k (√v_k = hypot(s_k, σ)) before they
        are squared, so that neither a huge σ nor a huge x overflows.  An entry is -inf only
        where the log-density itself is below float64's range.
        """
        sd = torch.hypot(self._stds, sigma.clamp(min=SIGMA_FLOOR))  # [B or 1, K'], √v_k
        distance = torch.cdist(x, self._means, compute_mode="donot_use_mm_for_euclid_dist")
        scaled = (distance / sd) ** 2  # [B, K'], ‖x − μ_k‖²/v_k
        normaliser = self.dim * (sd.log() + 0.5 * math.log(2 * math.pi))  # (D/2) ln(2π v_k)
        return self._log_weights - 0.5 * scaled - normaliser  # [B, K']

    def _nearest_in_own_units(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Logits [b, K'] that put all the weight on the components with the smallest ‖x − μ_k‖/√v_k,
        computed in logarithms (scaled by the largest coordinate) so that no x overflows.

        The limit of the responsibilities when ‖x − μ_k‖²/v_k leaves float64's range for every k.
        """
        sd = torch.hypot(self._stds, sigma.clamp(min=SIGMA_FLOOR))  # [b or 1, K']
        diff = x[:, None, :] - self._means[None]  # [b, K', D]
        scale = diff.abs().amax(dim=2).clamp(min=torch.finfo(x.dtype).tiny)  # [b, K']
        log_distance = scale.log() + (diff / scale[..., None]).norm(dim=2).log()  # [b, K']
        reach = log_distance - sd.log()  # log(‖x − μ_k‖/√v_k)
        nearest = reach == reach.amin(dim=1, keepdim=True)
        return torch.zeros_like(reach).masked_fill_(~nearest, -math.inf)

    def _logits(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """The responsibilities' logits [B, K']: log r_k up to a constant per row, shifted so that each
        row's largest is 0; finite for every finite x and σ > 0.

        σ below `SIGMA_FLOOR` counts as `SIGMA_FLOOR`: the responsibilities are then those of the
        nearest components to float64 precision, and 1/σ² stays a number.  `sigma` is a float
        (one σ for the batch) or [B or 1, 1].
        """
        if not self._equal_stds:
            sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)
            logits = self._log_densities(x, sigma)  # [B, K']
            overflowed = ~torch.isfinite(logits).any(dim=1)  # [B]: every log-density below range
            if bool(overflowed.any()):  # then the smallest distance in units of √v_k wins
                rows = sigma if sigma.shape[0] == 1 else sigma[overflowed]
                logits[overflowed] = self._nearest_in_own_units(x[overflowed], rows)
            return logits.sub_(logits.amax(dim=1, keepdim=True).detach())
        # Equal s_k: log r_k = (x·μ_k − ½‖μ_k‖²)/v + log w_k + const, v = s² + σ².  One product
        # gives x·μ_k − ½‖μ_k‖²; it is shifted by its row maximum *before* the scaling by 1/v,
        # so that a tiny σ (a huge 1/v) cannot overflow, and a huge σ gives 1/v = 0: D = E[y].
        if isinstance(sigma, float):
            sigma = max(sigma, SIGMA_FLOOR)
            inv_var = 1 / (self._s2 + sigma * sigma)
        else:
            inv_var = 1 / (self._s2 + sigma.clamp(min=SIGMA_FLOOR) ** 2)  # [B or 1, 1]
        logits = torch.addmm(self._sq_norms, x, self._means_T, beta=-0.5)  # [B, K']
        logits.sub_(logits.amax(dim=1, keepdim=True).detach()).mul_(inv_var)
        if self._uniform:
            return logits
        logits.add_(self._log_weights)
        return logits.sub_(logits.amax(dim=1, keepdim=True).detach())

    def _posterior_mean(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """Σ_k r_k μ_k for x [B, D]: one product gives Σ e_k μ_k and Σ e_k (the normaliser) at once.

        The exponentials are taken in place: a [B, K'] array as large as the digits' is
        megabytes, and every new one costs page faults as well as a pass over memory.
        """
        weighted = self._logits(x, sigma).exp_() @ self._means_one  # [B, D + 1]
        return weighted[:, :-1] / weighted[:, -1:]  # [B, D]

    def _chunks(self, x: torch.Tensor, sigma: torch.Tensor):
        """(x, sigma) in chunks of at most `batch_size` queries (all at once if None)."""
        if self.batch_size is None or len(x) <= self.batch_size:
            return [(x, sigma)]
        sigmas = sigma.expand(len(x), 1).split(self.batch_size)
        return list(zip(x.split(self.batch_size), sigmas))

    # ----------------------------------------------------------- the maths
    def __call__(self, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
        """Exact denoiser D(x; σ) = E[y | y + n = x], n ~ N(0, σ² I).

        Per component, E[y | x, k] = μ_k + s_k²/(s_k² + σ²)(x − μ_k); D averages
        these with the responsibilities r_k ∝ w_k N(x; μ_k, (s_k² + σ²) I).
        At σ = 0 there is no noise to remove and D(x; 0) = x.
        """
        x, x_flat, sigma = self._flatten(x, sigma)  # [B, ...], [B, D], [B or 1, 1]
        parts = [self._denoise(x_b, sigma_b) for x_b, sigma_b in self._chunks(x_flat, sigma)]
        D = parts[0] if len(parts) == 1 else torch.cat(parts)  # [B, D]
        return D.reshape(x.shape).to(_output_dtype(x.dtype))

    def _denoise(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """D(x; σ) for x [B, D] float64, sigma [B or 1, 1]."""
        if self._equal_stds and sigma.numel() == 1:  # one σ for the batch: Python-float scalars
            sigma = float(sigma)
            if sigma == 0:  # no noise to remove
                return x.clone()
            D = self._posterior_mean(x, sigma)  # [B, D], Σ_k r_k μ_k
            # Σ_k r_k [μ_k + shrink (x − μ_k)] = Σ r_k μ_k + shrink (x − Σ r_k μ_k), shrink = s²/v.
            if self._s2 == 0:
                return D
            shrink = self._s2 / (self._s2 + sigma * sigma)  # s²/v; σ² may overflow to ∞: shrink = 0
            return torch.lerp(D, x, shrink)
        noiseless = sigma == 0  # [B or 1, 1]
        # σ = 0 rows are computed at σ = 1 and replaced by x below
        sigma_safe = torch.where(noiseless, 1.0, sigma).clamp(min=SIGMA_FLOOR)  # [B or 1, 1]
        shrink = self._stds**2 / (self._stds**2 + sigma_safe**2)  # [B or 1, K'], s_k²/(s_k² + σ²)
        if self._equal_stds:
            D = self._posterior_mean(x, sigma_safe)  # [B, D]
            D = torch.lerp(D, x, shrink[:, :1].expand_as(D)) if self._s2 > 0 else D
        else:
            r = self._logits(x, sigma_safe).exp_()
            r = r / r.sum(dim=1, keepdim=True)  # [B, K'] responsibilities
            D = (r * (1 - shrink)) @ self._means + (r * shrink).sum(1, keepdim=True) * x  # [B, D]
        return torch.where(noiseless, x, D)

    def _check_point_masses(self, sigma: torch.Tensor, what: str) -> None:
        """A mixture with point masses (s_k = 0) has no density, and no score, at σ = 0."""
        if bool((self._stds == 0).any()) and bool((sigma == 0).any()):
            raise ValueError(
                f"sigma must be > 0 for the {what} of a mixture with point masses (stds = 0): "
                f"p(x; 0) is then not a density"
            )

    def score(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """∇ₓ log p(x; σ) = Σ_k r_k (μ_k − x)/(s_k² + σ²), which equals (D − x)/σ² (Eq. 3).

        Where the score is beyond float64's range (a tiny σ far from the data: its size is
        about distance/σ²) this is a `ValueError` naming sigma, not an inf.
        """
        x, x_flat, sigma = self._flatten(x, sigma)  # [B, ...], [B, D], [B or 1, 1]
        self._check_point_masses(sigma, "score")
        inv_var = 1 / (self._stds**2 + sigma**2)  # [B or 1, K'] (one column if the s_k are equal)
        if self._equal_stds:  # Σ_k r_k (μ_k − x)/v = (Σ_k r_k μ_k − x)/v
            score = (self._posterior_mean(x_flat, sigma) - x_flat) * inv_var[:, :1]
        else:
            r = self._logits(x_flat, sigma).exp_()
            r = r / r.sum(dim=1, keepdim=True)  # [B, K']
            score = (r * inv_var) @ self._means - (r * inv_var).sum(1, keepdim=True) * x_flat
        if not all_finite(score):
            raise ValueError(
                "sigma is too small for these x: the score, about |x − μ|/σ², exceeds float64's range"
            )
        return score.reshape(x.shape).to(_output_dtype(x.dtype))  # [B, ...]

    def log_prob(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """log p(x; σ) of the mollified density, shape [B] (log-sum-exp over components).

        Where the log-density is below float64's range (x very far from every component
        for σ) this is a `ValueError` naming x, not -inf.
        """
        _, x_flat, sigma = self._flatten(x, sigma)
        self._check_point_masses(sigma, "log-density")
        log_p = torch.logsumexp(self._log_densities(x_flat, sigma), dim=1)  # [B]
        if not all_finite(log_p):
            raise ValueError(
                "x is too far from the mixture for this sigma: log p(x; σ) is below float64's range"
            )
        return log_p

    def sample(
        self, n: int, generator: torch.Generator | None = None, sigma: float = 0.0
    ) -> torch.Tensor:
        """Draw n samples of p(x; σ) (σ = 0: the data distribution), shape [n, D], float64.

        Draws on the mixture's device; `generator` must be on that device too.
        """
        n = check_integer("n", n, 0, MAX_SAMPLES)
        generator = check_generator("generator", generator)
        sigma = check_real("sigma", sigma, low=0.0, high=MAX_MAGNITUDE)
        if n == 0:
            return torch.empty(0, self.dim, dtype=torch.float64, device=self.device)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # [n]
        std = torch.sqrt(self.stds[k] ** 2 + sigma**2)[:, None]  # [n, 1]
        noise = torch.randn(
            n, self.dim, generator=generator, dtype=torch.float64, device=self.device
        )
        return self.means[k] + std * noise  # [n, D]


class EmpiricalDenoiser(GaussianMixture):
    """The ideal denoiser of a finite training set {y_i} (App. B.3, Eq. 57).

    D(x; σ) = Σ_i N(x; y_i, σ² I) y_i / Σ_i N(x; y_i, σ² I): a softmax-weighted
    average of the training points, which tends to the data mean as σ → ∞ and
    to the nearest training point as σ → 0.  It is the Gaussian mixture with
    zero-width components of equal weight, so it inherits `score`, `log_prob`
    and `sample` (which then draws training points); score and log-density
    need σ > 0.

    Args:
        data: training set, shape [N, ...] (e.g. the digits, [1797, 1, 8, 8]).
        batch_size: evaluate at most this many query points at once, so that
            the [B, N] matrix of responsibilities stays small for big batches.
    """

    def __init__(self, data: torch.Tensor, batch_size: int = 2048):
        data = check_tensor("data", data, min_ndim=2, float_dtype=torch.float64)
        if data.shape[0] < 1 or math.prod(data.shape[1:]) < 1:
            raise ValueError(
                f"data must have shape [N, ...] with N >= 1 and values per point, got {tuple(data.shape)}"
            )
        if float(data.abs().max()) > MAX_MAGNITUDE:
            raise ValueError(f"data must have entries of magnitude <= {MAX_MAGNITUDE:g}")
        batch_size = check_integer("batch_size", batch_size, 1)
        N = data.shape[0]
        zeros = torch.zeros(N, dtype=torch.float64, device=data.device)
        super().__init__(data.reshape(N, -1), zeros, torch.ones_like(zeros))
        self.data_shape = tuple(data.shape[1:])
        self.batch_size = batch_size
