"""Training losses: E_σ E_y E_n [λ(σ) ‖D(y + n; σ) − y‖²] (Eq. 2, Table 1).

A loss differs between the model families only in two rows of Table 1:
`sample_sigma` draws σ from p_train and `weight` is λ(σ).  Calling a loss
returns the per-element weighted squared error, shaped like the images, so
that the caller chooses how to reduce it (sum, mean, per-σ binning for Fig. 5a).

* `VPLoss`: σ = σ(t), t ~ U(ε_t, 1); λ = 1/σ².
* `VELoss`: ln σ ~ U(ln σ_min, ln σ_max); λ = 1/σ².
* `EDMLoss`: ln σ ~ N(P_mean, P_std²); λ = (σ² + σ_d²)/(σσ_d)² = 1/c_out², so
  the network's own target is weighted uniformly across σ (Sec. 5, step 4).

`p_train_density(sigma)` is the density of ln σ under p_train, in closed form,
for overlaying p_train on a loss-vs-σ plot (Fig. 5a).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence

import torch

from ._net import check_net, check_returned
from ._validation import (
    all_finite,
    check_callable,
    check_choice,
    check_device,
    check_epsilon,
    check_forwarded,
    check_generator,
    check_integer,
    check_magnitude,
    check_real,
    check_sequence,
    check_sigma_range,
    check_sigma_tensor,
    check_tensor,
)
from .preconditioning import TARGETS, target_coefficients
from .schedules import check_vp_betas, vp_sigma, vp_sigma_inv


def _check_shape(name: str, shape: Sequence[int] | int) -> tuple[int, ...]:
    """A tensor shape: an integer >= 0 or a sequence of them, as a tuple."""
    sizes = (
        [shape] if not isinstance(shape, (list, tuple, torch.Size)) else check_sequence(name, shape)
    )
    sizes = tuple(check_integer(name, n, 0, 10**9) for n in sizes)
    if math.prod(sizes) > 10**9:
        raise ValueError(f"{name} must have at most 10⁹ elements, got {sizes}")
    return sizes


def _inverse_square(sigma: torch.Tensor | float) -> torch.Tensor:
    """1/σ² for σ > 0; a σ so small that 1/σ² leaves float64's range is a ValueError naming sigma."""
    weight = 1 / check_sigma_tensor(sigma, positive=True) ** 2
    if not all_finite(weight):
        raise ValueError("sigma is too small: the loss weight 1/σ² exceeds the range of its dtype")
    return weight


#: The smallest σ_min of a loss's p_train: σ is drawn in float32, and λ = 1/σ² must stay a number.
MIN_LOSS_SIGMA = 1e-15


class _Loss(abc.ABC):
    """Shared `__call__`; subclasses supply `sample_sigma`, `weight`, `p_train_density`."""

    @abc.abstractmethod
    def sample_sigma(
        self,
        shape: Sequence[int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Draw σ ~ p_train with the given shape (on `device`, else the generator's)."""

    @abc.abstractmethod
    def weight(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """The loss weight λ(σ) of Table 1."""

    @abc.abstractmethod
    def p_train_density(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """Density of ln σ under p_train, evaluated at `sigma`."""

    @staticmethod
    def _rand_kwargs(shape, generator, device) -> tuple[tuple[int, ...], dict]:
        """The checked shape, and the keywords of the draw: on `device`, else the generator's."""
        shape = _check_shape("shape", shape)
        generator = check_generator("generator", generator)
        device = check_device("device", device)
        if device is None and generator is not None:
            device = generator.device
        return shape, dict(generator=generator, device=device)

    def __call__(
        self,
        net: Callable[..., torch.Tensor],
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        augment_pipe: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """λ(σ)·(D(y + n; σ) − y)², one σ per sample, shaped like `images`.

        Random draws, in order: σ ~ p_train (shape [B, 1, ..., 1]), then the
        augmentation (if any), then n ~ N(0, σ²).  σ and n come from `generator`
        (the global generator if None, as in the paper's setup), so a seeded
        generator makes the loss reproducible bit for bit.  With `augment_pipe`,
        `y, augment_labels = augment_pipe(images)` and the net also gets
        `augment_labels=augment_labels`.  Integer images become float32.
        """
        check_net(net)
        check_callable("augment_pipe", augment_pipe, allow_none=True)
        if augment_pipe is not None:  # the net then gets augment_labels=…: it must take them
            check_forwarded("net", net, {"augment_labels": None})
        generator = check_generator("generator", generator)
        images = check_tensor("images", images, min_ndim=1)
        dim = getattr(net, "dim", None)  # a net that declares its data dimension (`net.dim`)
        if dim is not None and math.prod(images.shape[1:]) != check_integer("net.dim", dim, 1):
            raise ValueError(
                f"images must have shape [B, ...] with net.dim = {dim} numbers per sample, "
                f"got shape {tuple(images.shape)}"
            )
        shape = (images.shape[0],) + (1,) * (images.ndim - 1)  # [B, 1, ..., 1]
        sigma = self.sample_sigma(
            shape, generator=generator, device=images.device
        )  # [B, 1, ..., 1]
        weight = self.weight(sigma)  # [B, 1, ..., 1]
        if augment_pipe is None:
            y = images
            net_kwargs = {}
        else:
            augmented = augment_pipe(images)
            if not (isinstance(augmented, tuple) and len(augmented) == 2):
                raise ValueError(
                    "augment_pipe must return a pair (augmented images, augment_labels)"
                )
            y = check_tensor("augment_pipe(images)", augmented[0], min_ndim=1)
            if y.shape != images.shape:
                raise ValueError(
                    f"augment_pipe(images) must keep the images' shape {tuple(images.shape)}, "
                    f"got {tuple(y.shape)}"
                )
            net_kwargs = dict(augment_labels=augmented[1])
        noise = torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
        n = noise * sigma  # [B, ...]
        D_yn = net(y + n, sigma, labels, **net_kwargs)  # [B, ...]
        D_yn = check_returned("net", D_yn, y, finite=False)  # [B, ...], shaped like y
        loss = weight * (D_yn - y) ** 2
        if not all_finite(loss):
            raise ValueError("net output must be finite: the loss came out NaN or infinite")
        return loss


class VPLoss(_Loss):
    """Variance-preserving loss (Table 1, column VP): t ~ U(ε_t, 1), σ = σ(t), λ = 1/σ²."""

    def __init__(self, beta_d: float = 19.9, beta_min: float = 0.1, epsilon_t: float = 1e-5):
        self.beta_d, self.beta_min = check_vp_betas(beta_d, beta_min)
        self.epsilon_t = check_epsilon("epsilon_t", epsilon_t)

    def sample_sigma(self, shape, generator=None, device=None) -> torch.Tensor:
        shape, kwargs = self._rand_kwargs(shape, generator, device)
        u = torch.rand(shape, **kwargs)
        t = 1 + u * (self.epsilon_t - 1)
        return vp_sigma(t, self.beta_d, self.beta_min)

    def weight(self, sigma) -> torch.Tensor:
        return _inverse_square(sigma)

    def p_train_density(self, sigma) -> torch.Tensor:
        """t = σ⁻¹(σ) has density 1/(1 − ε_t) on [ε_t, 1], and since
        σ² = exp(½β_d t² + β_min t) − 1, dt/d ln σ = 2σ² / ((σ² + 1)(β_d t + β_min))."""
        sigma = check_sigma_tensor(sigma)
        t = vp_sigma_inv(sigma, self.beta_d, self.beta_min)
        dt_dlog_sigma = 2 * sigma**2 / ((sigma**2 + 1) * (self.beta_d * t + self.beta_min))
        inside = (t >= self.epsilon_t) & (t <= 1)
        return torch.where(inside, dt_dlog_sigma / (1 - self.epsilon_t), 0.0)


class VELoss(_Loss):
    """Variance-exploding loss (Table 1, column VE): ln σ ~ U(ln σ_min, ln σ_max), λ = 1/σ²."""

    def __init__(self, sigma_min: float = 0.02, sigma_max: float = 100):
        self.sigma_min, self.sigma_max = check_sigma_range(
            sigma_min, sigma_max, allow_zero_min=False
        )
        if self.sigma_min < MIN_LOSS_SIGMA:  # σ is drawn in float32, and λ = 1/σ²
            raise ValueError(f"sigma_min must be >= {MIN_LOSS_SIGMA:g}, got {sigma_min!r}")

    def sample_sigma(self, shape, generator=None, device=None) -> torch.Tensor:
        shape, kwargs = self._rand_kwargs(shape, generator, device)
        u = torch.rand(shape, **kwargs)
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** u

    def weight(self, sigma) -> torch.Tensor:
        return _inverse_square(sigma)

    def p_train_density(self, sigma) -> torch.Tensor:
        sigma = check_sigma_tensor(sigma)
        inside = (sigma >= self.sigma_min) & (sigma <= self.sigma_max)
        return torch.where(inside, 1 / math.log(self.sigma_max / self.sigma_min), 0.0)


class EDMLoss(_Loss):
    """The paper's loss (Table 1, column EDM; Sec. 5).

    ln σ ~ N(P_mean, P_std²) concentrates training on the intermediate σ where
    the loss can actually be reduced (Fig. 5a); λ(σ) = (σ² + σ_d²)/(σσ_d)² =
    1/c_out(σ)² makes the effective weight on ‖F_θ − F_target‖² equal to one.
    """

    def __init__(self, P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5):
        # σ = exp(P_mean + P_std·n) is drawn in float32, and λ ∝ 1/σ²: keep 10 std's in range.
        self.P_mean = check_real("P_mean", P_mean, low=-25.0, high=25.0)
        self.P_std = check_real("P_std", P_std, low=0.0, high=2.5, low_open=True)
        self.sigma_data = check_magnitude("sigma_data", sigma_data)

    def sample_sigma(self, shape, generator=None, device=None) -> torch.Tensor:
        shape, kwargs = self._rand_kwargs(shape, generator, device)
        rnd_normal = torch.randn(shape, **kwargs)
        return (rnd_normal * self.P_std + self.P_mean).exp()

    def weight(self, sigma) -> torch.Tensor:
        """λ(σ) = (σ² + σ_d²)/(σ σ_d)², evaluated as 1/σ² + 1/σ_d² so that a large σ gives 1/σ_d²
        rather than ∞/∞."""
        return _inverse_square(sigma) + 1 / self.sigma_data**2

    def p_train_density(self, sigma) -> torch.Tensor:
        z = (check_sigma_tensor(sigma, positive=True).log() - self.P_mean) / self.P_std
        return (-0.5 * z**2).exp() / (self.P_std * math.sqrt(2 * math.pi))


class TargetLoss(EDMLoss):
    """EDM's p_train (ln σ ~ N(P_mean, P_std²)) with λ(σ) = 1/c_out(σ)² for a chosen target.

    The loss of a `TargetPrecond` network: λ·c_out² = 1 weights ‖F_θ − F_target‖²
    uniformly for its own target (App. B.6, step 4), so that networks asked to
    predict y ('D'), the noise ('eps'), the score ('score') or EDM's mixture
    ('edm', where this is `EDMLoss`) differ only in what F_θ must output.
    """

    def __init__(
        self, target: str = "edm", P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5
    ):
        super().__init__(P_mean=P_mean, P_std=P_std, sigma_data=sigma_data)
        self.target = check_choice("target", target, TARGETS)

    def weight(self, sigma) -> torch.Tensor:
        """λ(σ) = 1/c_out(σ)² (`preconditioning.target_coefficients`)."""
        if self.target == "edm":
            return super().weight(sigma)
        sigma = check_sigma_tensor(sigma, positive=True)
        _, c_out = target_coefficients(self.target, sigma, self.sigma_data)
        weight = 1 / c_out**2
        if not all_finite(weight):
            raise ValueError(
                "sigma is too small: the loss weight 1/c_out² exceeds its dtype's range"
            )
        return weight


def _check_loss(loss: object, name: str = "loss") -> _Loss:
    """`loss` if it is one of this module's losses, else a ValueError naming `name`."""
    if not isinstance(loss, _Loss):
        raise ValueError(
            f"{name} must be an edm_src loss (VPLoss, VELoss, EDMLoss, …), got {loss!r}"
        )
    return loss


def effective_weight(loss: _Loss, precond: object, sigma: torch.Tensor | float) -> torch.Tensor:
    """The weight training gives the raw network's error at σ: p_train(ln σ)·λ(σ)·c_out(σ)².

    The loss E_σ[λ(σ)‖D_θ − y‖²] is E_σ[λ(σ)c_out(σ)²‖F_θ − F_target‖²] (Eq. 7, App. B.6
    step 4), so σ's share of the training effort on F_θ is its density under p_train times
    λ·c_out².  Each family's own pair has λ·c_out² = 1 (VP and VE: λ = 1/σ², c_out = ±σ;
    EDM: λ = 1/c_out²), so the effort follows p_train alone; a mixed pair (VE's loss with
    EDM's preconditioning, Table 2's config D) reweights it.  `precond` is any
    preconditioner of `edm_src.preconditioning` (its `coefficients`); σ > 0.
    """
    loss = _check_loss(loss)
    coefficients = getattr(precond, "coefficients", None)
    if not callable(coefficients):
        raise ValueError(f"precond must be an edm_src preconditioner, got {precond!r}")
    sigma = check_sigma_tensor(sigma, positive=True)
    sigma = sigma if sigma.dtype in (torch.float32, torch.float64) else sigma.to(torch.float64)
    c_out = coefficients(sigma)[1]
    return loss.p_train_density(sigma) * loss.weight(sigma) * c_out**2
