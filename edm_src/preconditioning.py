"""Network preconditioning D(x; σ) = c_skip·x + c_out·F(c_in·x; c_noise) (Table 1, Sec. 5).

A raw network F is called as `model(x_in, noise_labels, class_labels=None)` and
returns a tensor shaped like `x_in`.  Each class below wraps such a network
into a denoiser D(x; σ) with the coefficients of one column of Table 1:

* `VPPrecond`: variance preserving (Song et al. 2021), c_noise = (M − 1)·σ⁻¹(σ).
* `VEPrecond`: variance exploding (Song et al. 2021), c_noise = ln(½σ).
* `iDDPMPrecond`: improved DDPM (Nichol & Dhariwal 2021), σ snapped to the
  M + 1 discrete levels u_j, c_noise = M − 1 − j.
* `EDMPrecond`: the paper's choice (Sec. 5, App. B.6): unit-variance network
  input and training target, and the skip weight that least amplifies the
  network's error.

All four share `forward(x, sigma, class_labels=None)`, `coefficients(sigma)`,
`round_sigma(sigma)` and the attributes `sigma_min`, `sigma_max`.  As in the
paper's setup, x and σ are cast to float32 before the network sees them.
VE and EDM take ln σ (c_noise), so they need σ > 0; VP and iDDPM accept σ = 0.
"""

from __future__ import annotations

import abc
import math

import torch
from torch import nn

from ._validation import (
    MAX_LEVELS,
    all_finite,
    as_tensor,
    check_bool,
    check_callable,
    check_choice,
    check_epsilon,
    check_forwarded,
    check_integer,
    check_positive,
    check_real,
    check_sigma_range,
    check_sigma_tensor,
    check_tensor,
)
from .schedules import check_vp_betas, iddpm_alpha_bar, iddpm_u, vp_sigma, vp_sigma_inv

Coefficients = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
FLOAT32_MAX = torch.finfo(torch.float32).max


class _Precond(nn.Module, abc.ABC):
    """Shared forward pass; subclasses supply `coefficients` (one Table 1 column).

    `model` is the raw network F, or None for a preconditioner used only for its
    coefficients (Table 1 as functions of σ).
    """

    sigma_min: float
    sigma_max: float
    #: σ must be > 0 (True where c_noise takes ln σ).
    positive_sigma: bool = False

    def __init__(self, model: nn.Module | None):
        super().__init__()
        self.model = check_callable("model", model, allow_none=True)

    def _sigma(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """σ checked (finite, >= 0, or > 0 for VE and EDM) as a floating tensor, at least float32
        (σ² of a float16 σ overflows at σ = 256)."""
        sigma = check_sigma_tensor(sigma, positive=self.positive_sigma)
        return sigma if sigma.dtype in (torch.float32, torch.float64) else sigma.float()

    @abc.abstractmethod
    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        """(c_skip, c_out, c_in, c_noise) at `sigma`, each with sigma's shape."""

    def round_sigma(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """Continuous-σ models accept any σ: the identity, as a (checked) tensor."""
        return self._sigma(sigma)

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor | float,
        class_labels: torch.Tensor | None = None,
        force_fp32: bool = False,
        **model_kwargs,
    ) -> torch.Tensor:
        """D(x; σ) = c_skip·x + c_out·F(c_in·x; c_noise) for x of shape [B, ...].

        `sigma` is a scalar or holds one value per sample ([B], or [B, 1, ..., 1]
        as the losses pass it).  Extra keyword arguments (e.g. `augment_labels`)
        go to the raw network unchanged.  If the raw network returns more
        channels than x has (iDDPM's learned variances), the first ones are
        used.  Returns float32 with the shape of x.  `force_fp32` is accepted
        for compatibility with the paper's setup, where it disables fp16; here
        everything already runs in float32.
        """
        if self.model is None:
            raise ValueError("model is None: this preconditioner has no raw network to evaluate")
        check_bool("force_fp32", force_fp32)
        x = check_tensor("x", x, min_ndim=2, float_dtype=torch.float32).to(torch.float32)
        if not all_finite(x):  # a float64 x beyond float32's range
            raise ValueError("x must be within float32's range: the network runs in float32")
        B = x.shape[0]
        sigma = check_sigma_tensor(sigma, batch=B, ndim=x.ndim, positive=self.positive_sigma)
        if sigma.numel() and float(sigma.max()) > FLOAT32_MAX:
            raise ValueError(f"sigma must be <= {FLOAT32_MAX:.3g}: the network runs in float32")
        sigma = sigma.to(device=x.device, dtype=torch.float32).reshape(-1).expand(B)  # [B]
        c_skip, c_out, c_in, c_noise = self.coefficients(sigma)  # each [B]
        bcast = (B,) + (1,) * (x.ndim - 1)  # [B, 1, ..., 1]
        check_forwarded("model", self.model, model_kwargs | {"class_labels": class_labels})
        F_x = self.model(
            c_in.reshape(bcast) * x, c_noise, class_labels=class_labels, **model_kwargs
        )
        ok = isinstance(F_x, torch.Tensor) and F_x.ndim == x.ndim
        if not ok or F_x.shape[0] != B or F_x.shape[1] < x.shape[1] or F_x.shape[2:] != x.shape[2:]:
            got = tuple(F_x.shape) if isinstance(F_x, torch.Tensor) else type(F_x).__name__
            raise ValueError(
                f"model must return a tensor shaped like its input {tuple(x.shape)} "
                f"(or with extra channels), got {got}"
            )
        F_x = F_x[:, : x.shape[1]].to(torch.float32)  # [B, ...], drop extra output channels
        if not all_finite(F_x):
            raise ValueError("model must return finite values, got NaN or infinite entries")
        D_x = c_skip.reshape(bcast) * x + c_out.reshape(bcast) * F_x
        return D_x


class VPPrecond(_Precond):
    """Variance-preserving preconditioning (Table 1, column VP).

    σ(t) = √(exp(½β_d t² + β_min t) − 1) for t ∈ [ε_t, 1]; c_skip = 1,
    c_out = −σ, c_in = 1/√(σ² + 1), c_noise = (M − 1)·σ⁻¹(σ), so the network
    sees the DDPM-style time label in [0, M − 1] and predicts the noise ε.
    """

    def __init__(
        self,
        model: nn.Module,
        beta_d: float = 19.9,
        beta_min: float = 0.1,
        M: int = 1000,
        epsilon_t: float = 1e-5,
    ):
        super().__init__(model)
        self.beta_d, self.beta_min = check_vp_betas(beta_d, beta_min)
        self.M = check_integer("M", M, 1, MAX_LEVELS)
        self.epsilon_t = check_epsilon("epsilon_t", epsilon_t)
        self.sigma_min = float(self.sigma(self.epsilon_t))  # σ(ε_t) ≈ 0.0010
        self.sigma_max = float(self.sigma(1.0))  # σ(1) ≈ 152

    def sigma(self, t: torch.Tensor | float) -> torch.Tensor:
        """σ(t) = √(exp(½β_d t² + β_min t) − 1) (Table 1)."""
        return vp_sigma(t, self.beta_d, self.beta_min)

    def sigma_inv(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """σ⁻¹(σ) = (√(β_min² + 2β_d ln(σ² + 1)) − β_min) / β_d (Table 1)."""
        return vp_sigma_inv(sigma, self.beta_d, self.beta_min)

    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        sigma = self._sigma(sigma)
        c_skip = torch.ones_like(sigma)
        c_out = -sigma
        c_in = 1 / (sigma**2 + 1).sqrt()
        c_noise = (self.M - 1) * self.sigma_inv(sigma)
        return c_skip, c_out, c_in, c_noise


class VEPrecond(_Precond):
    """Variance-exploding preconditioning (Table 1, column VE).

    c_skip = 1, c_out = σ, c_in = 1, c_noise = ln(½σ): the raw network sees
    x unscaled and predicts the (negated, unit-variance) noise direction.
    """

    positive_sigma = True  # c_noise = ln(½σ)

    def __init__(self, model: nn.Module, sigma_min: float = 0.02, sigma_max: float = 100):
        super().__init__(model)
        self.sigma_min, self.sigma_max = check_sigma_range(
            sigma_min, sigma_max, allow_zero_min=False
        )

    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        sigma = self._sigma(sigma)
        c_skip = torch.ones_like(sigma)
        c_out = sigma
        c_in = torch.ones_like(sigma)
        half = 0.5 * sigma
        # ln(½σ) as Table 1 writes it; ln σ − ln 2 where ½σ underflows (subnormal σ)
        c_noise = torch.where(half > 0, half.log(), sigma.log() - math.log(2))
        return c_skip, c_out, c_in, c_noise


class iDDPMPrecond(_Precond):
    """Improved-DDPM preconditioning (Table 1, column iDDPM).

    The network was trained only at the M + 1 levels u_0 > … > u_M = 0 of the
    cosine schedule ᾱ_j = sin²(½π j / (M(C₂ + 1))), so `round_sigma` snaps σ to
    the nearest u_j and c_noise = M − 1 − j is the DDPM step index.  Otherwise
    as VP: c_skip = 1, c_out = −σ, c_in = 1/√(σ² + 1).  The levels come from
    the recursion run in float32, as in the paper's reference setup (see
    `schedules.iddpm_u`); the smallest ones differ from exact arithmetic by up
    to ~5e-4 relative.  iDDPM networks also predict variances: a raw network
    may return extra channels, and only the first C (those of x) are used.
    """

    u: torch.Tensor  # [M + 1], u_0 > … > u_M = 0

    def __init__(self, model: nn.Module, C_1: float = 0.001, C_2: float = 0.008, M: int = 1000):
        super().__init__(model)
        u = iddpm_u(M, C_1, C_2, dtype=torch.float32)  # [M + 1]; checks C_1, C_2 > 0 and M >= 1
        self.C_1, self.C_2 = check_positive("C_1", C_1), check_positive("C_2", C_2)
        self.M = check_integer("M", M, 1)
        self.register_buffer("u", u)
        self.sigma_min = float(u[self.M - 1])  # smallest non-zero level u_{M-1}
        self.sigma_max = float(u[0])

    def alpha_bar(self, j: torch.Tensor | int) -> torch.Tensor:
        """ᾱ_j = sin²(½π j / (M(C₂ + 1))), the cosine schedule (float64)."""
        return iddpm_alpha_bar(j, self.M, self.C_2)

    def round_sigma(self, sigma: torch.Tensor | float, return_index: bool = False) -> torch.Tensor:
        """Snap each σ to its nearest level u_j (or return j); keeps sigma's shape.

        A binary search among the sorted levels (O(log M) per σ, no [B, M + 1] table);
        at an exact tie between two levels the larger one (smaller j) wins.
        """
        return_index = check_bool("return_index", return_index)
        sigma = self._sigma(sigma)
        dtype = torch.promote_types(sigma.dtype, self.u.dtype)
        ascending = self.u.flip(0).to(device=sigma.device, dtype=dtype)  # [M + 1], u_M = 0 … u_0
        s = sigma.reshape(-1).to(dtype).contiguous()  # [n]
        above = torch.searchsorted(ascending, s).clamp(1, self.M)  # first level >= σ (at least 1)
        below = above - 1
        nearer_below = (s - ascending[below]).abs() < (ascending[above] - s).abs()
        j = self.M - torch.where(nearer_below, below, above)  # index into u (descending)
        j = j.reshape(sigma.shape)
        return j if return_index else self.u.to(sigma.device)[j].to(sigma.dtype)

    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        sigma = self._sigma(sigma)
        c_skip = torch.ones_like(sigma)
        c_out = -sigma
        c_in = 1 / (sigma**2 + 1).sqrt()
        c_noise = (self.M - 1 - self.round_sigma(sigma, return_index=True)).to(sigma.dtype)
        return c_skip, c_out, c_in, c_noise


class EDMPrecond(_Precond):
    """The paper's preconditioning (Table 1, column EDM; Sec. 5, App. B.6).

    For data of standard deviation σ_d and noise n ~ N(0, σ²):
    c_in = 1/√(σ² + σ_d²) gives the network unit-variance input; c_skip =
    σ_d²/(σ² + σ_d²) and c_out = σσ_d/√(σ² + σ_d²) give its training target
    F_target = (y − c_skip(y + n))/c_out unit variance with the least
    amplification c_out of the network's error; c_noise = ¼ ln σ is empirical.
    """

    positive_sigma = True  # c_noise = ¼ ln σ

    def __init__(
        self,
        model: nn.Module,
        sigma_min: float = 0,
        sigma_max: float = float("inf"),
        sigma_data: float = 0.5,
    ):
        super().__init__(model)
        self.sigma_min, self.sigma_max = check_sigma_range(sigma_min, sigma_max, allow_inf_max=True)
        # σ_data and σ pass through float32 in the network: keep their squares in its range
        self.sigma_data = check_real("sigma_data", sigma_data, low=1e-15, high=1e15)

    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        sigma = self._sigma(sigma)
        sigma_data = self.sigma_data
        # √(σ² + σ_d²) as hypot(σ, σ_d): no overflow of σ² for large σ (c_out → σ_d, not 0).
        norm = torch.hypot(sigma, torch.as_tensor(sigma_data, dtype=sigma.dtype))
        c_skip = (sigma_data / norm) ** 2
        c_out = sigma * sigma_data / norm
        c_in = 1 / norm
        c_noise = sigma.log() / 4
        return c_skip, c_out, c_in, c_noise


#: The training targets of `TargetPrecond`: what the raw network F_θ is asked to output.
TARGETS = ("edm", "D", "eps", "score")


def unit_variance_c_out(
    c_skip: torch.Tensor | float, sigma: torch.Tensor | float, sigma_data: float
) -> torch.Tensor:
    """The c_out that gives the effective target unit variance for a given c_skip (App. B.6, step 2):
    c_out² = (1 − c_skip)²σ_d² + c_skip²σ², for data of standard deviation σ_d."""
    c_skip = as_tensor("c_skip", c_skip, float_dtype=torch.float64)
    if not all_finite(c_skip):
        raise ValueError("c_skip must be finite")
    sigma = check_sigma_tensor(sigma)
    sigma_data = check_real("sigma_data", sigma_data, low=1e-15, high=1e15)
    return ((1 - c_skip) ** 2 * sigma_data**2 + c_skip**2 * sigma**2).sqrt()


def target_coefficients(
    target: str, sigma: torch.Tensor, sigma_data: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out) at `sigma` for a network that predicts `target` (Sec. 5, App. B.6).

    D_θ = c_skip·x + c_out·F_θ, so F_θ's target is F_target = (y − c_skip·x)/c_out:

    * ``'D'``: c_skip = 0, c_out = σ_d: F_θ predicts the clean data y (scaled to unit variance);
    * ``'eps'``: c_skip = 1, c_out = −σ: F_θ predicts the noise ε = n/σ (DDPM's choice, as VP);
    * ``'score'``: c_skip = 1, c_out = σ²: F_θ predicts the score (y − x)/σ² = ∇ log p(x | y; σ);
    * ``'edm'``: c_skip = σ_d²/(σ² + σ_d²), c_out = σσ_d/√(σ² + σ_d²), the c_skip that
      minimises c_out under a unit-variance target (App. B.6, step 3).

    For 'D', 'eps' and 'edm' F_target has unit variance when the data do (App. B.6, step 2:
    c_out² = (1 − c_skip)²σ_d² + c_skip²σ²); the score's has variance 1/σ².
    """
    target = check_choice("target", target, TARGETS)
    sigma = check_sigma_tensor(sigma)
    sigma = sigma if sigma.dtype in (torch.float32, torch.float64) else sigma.float()
    sigma_data = check_real("sigma_data", sigma_data, low=1e-15, high=1e15)
    if target == "D":
        return torch.zeros_like(sigma), torch.full_like(sigma, sigma_data)
    if target == "eps":
        return torch.ones_like(sigma), -sigma
    if target == "score":
        return torch.ones_like(sigma), sigma**2
    norm = torch.hypot(sigma, torch.as_tensor(sigma_data, dtype=sigma.dtype))
    return (sigma_data / norm) ** 2, sigma * sigma_data / norm


class TargetPrecond(EDMPrecond):
    """EDM's c_in = 1/√(σ² + σ_d²) and c_noise = ¼ ln σ with the (c_skip, c_out) of a chosen
    training target (`target_coefficients`): 'edm', 'D', 'eps' or 'score'.

    With ``target='edm'`` this is `EDMPrecond`.  The book trains one network per target
    (Chapter 4: what the network learns; Chapter 5: c_skip in isolation), each with
    `losses.TargetLoss`, whose λ = 1/c_out² weights its own target uniformly.
    """

    def __init__(
        self,
        model: nn.Module,
        target: str = "edm",
        sigma_min: float = 0,
        sigma_max: float = float("inf"),
        sigma_data: float = 0.5,
    ):
        super().__init__(model, sigma_min=sigma_min, sigma_max=sigma_max, sigma_data=sigma_data)
        self.target = check_choice("target", target, TARGETS)

    def coefficients(self, sigma: torch.Tensor | float) -> Coefficients:
        _, _, c_in, c_noise = super().coefficients(sigma)
        c_skip, c_out = target_coefficients(self.target, self._sigma(sigma), self.sigma_data)
        return c_skip, c_out, c_in, c_noise
