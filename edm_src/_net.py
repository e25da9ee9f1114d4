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

import inspect
import math
import weakref
from collections.abc import Callable

import torch

from ._validation import (
    MIN_SAMPLING_SIGMA,
    all_finite,
    cached_per_callable,
    check_callable,
    check_integer,
    check_real,
    check_sigma_range,
    check_sigma_tensor,
    check_tensor,
)

Net = Callable[..., torch.Tensor]


_SIGNATURE_PROBLEMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _signature_problem(net: Net) -> str | None:
    """None if net can be called as net(x, sigma, class_labels), else its signature, as text."""
    try:
        signature = inspect.signature(net)
    except (TypeError, ValueError):  # no signature to read (a builtin): the call itself will tell
        return None
    try:
        signature.bind(None, None, None)
    except TypeError:
        return str(signature)
    return None


def check_net(net: Net, name: str = "net") -> Net:
    """A callable denoiser that can be called as net(x, sigma, class_labels) (see the module docstring)."""
    check_callable(name, net)
    problem = cached_per_callable(_SIGNATURE_PROBLEMS, net, _signature_problem)
    if problem is not None:
        raise ValueError(
            f"{name} must accept (x, sigma, class_labels=None), got a callable {problem}"
        )
    return net


def net_sigma_range(net: Net) -> tuple[float, float]:
    """(net.sigma_min, net.sigma_max), defaulting to (0, ∞) when the net does not say."""
    sigma_min = check_real("net.sigma_min", getattr(net, "sigma_min", 0.0), low=0.0)
    sigma_max = check_real(
        "net.sigma_max", getattr(net, "sigma_max", math.inf), low=0.0, allow_inf=True
    )
    return sigma_min, sigma_max


def net_round_sigma(net: Net, sigma: torch.Tensor, *, positive: bool = False) -> torch.Tensor:
    """net.round_sigma(sigma) as a float64 tensor on sigma's device (identity when absent).

    The result must be noise levels of sigma's shape (> 0 with `positive`: a sampler's time
    steps); anything else is a `ValueError` naming `net.round_sigma`.
    """
    round_sigma = getattr(net, "round_sigma", None)
    if round_sigma is None:
        return sigma
    check_callable("net.round_sigma", round_sigma)
    rounded = check_sigma_tensor(round_sigma(sigma), "net.round_sigma(sigma)", positive=positive)
    if rounded.shape != sigma.shape:
        raise ValueError(
            f"net.round_sigma(sigma) must keep sigma's shape {tuple(sigma.shape)}, "
            f"got {tuple(rounded.shape)}"
        )
    return rounded.to(device=sigma.device, dtype=torch.float64)


def net_clamp_range(net: Net, sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """Intersect [sigma_min, sigma_max] with the range the net supports."""
    sigma_min = check_real("sigma_min", sigma_min, low=0.0, allow_inf=True)
    sigma_max = check_real("sigma_max", sigma_max, low=0.0, allow_inf=True)
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
    if sigma_min < MIN_SAMPLING_SIGMA:
        raise ValueError(
            f"sigma_min must be >= {MIN_SAMPLING_SIGMA:g} once clamped to the net's range, got "
            f"{sigma_min:g}: the samplers step from σ_min to 0 themselves, and the Heun correction "
            "divides by σ_min, which amplifies float64 rounding beyond the data's scale below that"
        )
    return sigma_min, sigma_max


def check_latents(net: Net, latents: torch.Tensor, name: str = "latents") -> torch.Tensor:
    """Latents x ~ N(0, I) of shape [B, ...] as a finite float64 tensor (B = 0 is allowed).

    When the net declares its data dimension (`net.dim`), each sample must hold that many numbers.
    """
    latents = check_tensor(name, latents, min_ndim=1, float_dtype=torch.float64)
    dim = getattr(net, "dim", None)
    dim = None if dim is None else check_integer("net.dim", dim, 1)
    per_sample = math.prod(latents.shape[1:])
    if dim is not None and per_sample != dim:
        raise ValueError(
            f"{name} must have shape [B, ...] with net.dim = {dim} numbers per sample, "
            f"got shape {tuple(latents.shape)}"
        )
    return latents.to(torch.float64)


def check_returned(name: str, value: object, x: torch.Tensor, *, finite: bool) -> torch.Tensor:
    """What the callable `name` (a net, a noise source) returned for x: a real floating tensor
    shaped like x, and finite if asked; anything else is a `ValueError` naming the callable."""
    if not isinstance(value, torch.Tensor) or value.shape != x.shape:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(
            f"{name} must return a real floating tensor shaped like x {tuple(x.shape)}, got {got}"
        )
    if not value.is_floating_point():
        raise ValueError(
            f"{name} must return a real floating tensor shaped like x {tuple(x.shape)}, "
            f"got dtype {value.dtype}"
        )
    if finite and not all_finite(value):
        raise ValueError(f"{name} output must be finite: {name} returned NaN or infinite values")
    return value


def net_output(denoised: object, x: torch.Tensor, *, finite: bool = False) -> torch.Tensor:
    """The net's output D(x; σ) as float64, checked to be a tensor shaped like x (and finite, if asked).

    The ODE solvers ask for finiteness: an adaptive solver given NaN shrinks its step for ever.
    """
    denoised = check_returned("net", denoised, x, finite=finite)
    return denoised if denoised.dtype == torch.float64 else denoised.to(torch.float64)
