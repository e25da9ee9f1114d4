"""The `net` protocol shared by the samplers, the ODE solvers and the wrappers, checked in one place.

A denoiser is any callable `net(x, sigma, class_labels=None)` returning D(x; σ)
(Eq. 2–3) with the shape of x.  Optional attributes are honoured, with
defaults when absent:

* `net.sigma_min`, `net.sigma_max`: the σ range it supports, (0, ∞) by
  default; a sampling range is clamped to it;
* `net.round_sigma(sigma)`: snaps σ to a level the network knows (identity by
  default), e.g. the discrete levels u_j of an iDDPM network; it must be
  idempotent (rounding a rounded level changes nothing);
* `net.dim`: the number of values per sample (the exact denoisers have it), so
  that latents of the wrong size are reported as such before any work.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._validation import (
    all_finite,
    check_callable,
    check_real,
    check_sigma_range,
    check_sigma_tensor,
    check_tensor,
)

Net = Callable[..., torch.Tensor]


def check_net(net: Net, name: str = "net") -> Net:
    """A callable denoiser (see the module docstring)."""
    return check_callable(name, net)


def net_sigma_range(net: Net) -> tuple[float, float]:
    """(net.sigma_min, net.sigma_max), defaulting to (0, ∞) when the net does not say."""
    sigma_min = check_real("net.sigma_min", getattr(net, "sigma_min", 0.0), low=0.0)
    sigma_max = check_real(
        "net.sigma_max", getattr(net, "sigma_max", math.inf), low=0.0, allow_inf=True
    )
    return sigma_min, sigma_max


def net_round_sigma(net: Net, sigma: torch.Tensor) -> torch.Tensor:
    """net.round_sigma(sigma) as a float64 tensor on sigma's device (identity when absent).

    The result must be noise levels of sigma's shape; anything else is a `ValueError`
    naming `net.round_sigma`.
    """
    round_sigma = getattr(net, "round_sigma", None)
    if round_sigma is None:
        return sigma
    rounded = check_sigma_tensor(round_sigma(sigma), "net.round_sigma(sigma)")
    if rounded.shape != sigma.shape:
        raise ValueError(
            f"net.round_sigma(sigma) must keep sigma's shape {tuple(sigma.shape)}, "
            f"got {tuple(rounded.shape)}"
        )
    return rounded.to(device=sigma.device, dtype=torch.float64)


def net_clamp_range(net: Net, sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """Intersect [sigma_min, sigma_max] with the range the net supports."""
    net_min, net_max = net_sigma_range(net)
    sigma_min, sigma_max = max(sigma_min, net_min), min(sigma_max, net_max)
    if not sigma_min < sigma_max:
        raise ValueError(
            f"sigma_min must be smaller than sigma_max after clamping to the net's range "
            f"[{net_min}, {net_max}], got sigma_min={sigma_min}, sigma_max={sigma_max}"
        )
    return sigma_min, sigma_max


def sampling_range(net: Net, sigma_min: object, sigma_max: object) -> tuple[float, float]:
    """A sampling range [σ_min, σ_max] (finite, 0 < σ_min < σ_max) clamped to the net's.

    σ_min = 0 is not a sampling range: the samplers' last Heun correction ends at
    t_{N−1} = σ⁻¹(σ_min) and divides by σ there (their own final step to t_N = 0
    is Euler), and the ODE solvers integrate in ln σ.
    """
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max)
    sigma_min, sigma_max = net_clamp_range(net, sigma_min, sigma_max)
    if sigma_min <= 0:
        raise ValueError(
            "sigma_min must be > 0 once clamped to the net's range: the samplers step from "
            "σ_min to 0 themselves, and the Heun correction divides by σ_min"
        )
    return sigma_min, sigma_max


def check_latents(net: Net, latents: torch.Tensor, name: str = "latents") -> torch.Tensor:
    """Latents x ~ N(0, I) of shape [B, ...] as a finite float64 tensor (B = 0 is allowed).

    When the net declares its data dimension (`net.dim`), each sample must hold that many numbers.
    """
    latents = check_tensor(name, latents, min_ndim=1, float_dtype=torch.float64)
    dim = getattr(net, "dim", None)
    per_sample = math.prod(latents.shape[1:])
    if isinstance(dim, int) and per_sample != dim:
        raise ValueError(
            f"{name} must have shape [B, ...] with net.dim = {dim} numbers per sample, "
            f"got shape {tuple(latents.shape)}"
        )
    return latents.to(torch.float64)


def net_output(denoised: object, x: torch.Tensor, *, finite: bool = False) -> torch.Tensor:
    """The net's output D(x; σ) as float64, checked to be a tensor shaped like x (and finite, if asked).

    The ODE solvers ask for finiteness: an adaptive solver given NaN shrinks its step for ever.
    """
    if not isinstance(denoised, torch.Tensor) or denoised.shape != x.shape:
        got = (
            tuple(denoised.shape) if isinstance(denoised, torch.Tensor) else type(denoised).__name__
        )
        raise ValueError(f"net must return a tensor shaped like x {tuple(x.shape)}, got {got}")
    if finite and not all_finite(denoised):
        raise ValueError("net output must be finite: the net returned NaN or infinite values")
    return denoised if denoised.dtype == torch.float64 else denoised.to(torch.float64)
