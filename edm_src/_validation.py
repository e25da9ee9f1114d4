"""Argument checks shared by every module.

Each check raises a `ValueError` whose message names the argument and what is
allowed, *before* any work is done, so a reader who mistypes a setting in a
notebook cell sees at once what went wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """Return `value` if it is one of `allowed`, else raise naming the options."""
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {options}")
    return value


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Require a finite real number > 0 (or >= 0 with `allow_zero`)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or (v < 0 if allow_zero else v <= 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_integer(name: str, value: int, minimum: int) -> int:
    """Require an integer >= `minimum` (e.g. M, the number of iDDPM levels)."""
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_unit_interval(name: str, value: float) -> float:
    """Require 0 < value < 1 (e.g. ε_s, ε_t: the smallest time of the VP schedule)."""
    v = check_positive(name, value)
    if v >= 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return v


def check_num_steps(num_steps: int) -> int:
    """A discretization needs at least two points t_0 > t_{N-1}."""
    return check_integer("num_steps", num_steps, 2)


def check_sigma_range(sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """Require 0 <= sigma_min < sigma_max."""
    check_positive("sigma_min", sigma_min, allow_zero=True)
    if math.isnan(float(sigma_max)) or float(sigma_max) <= float(sigma_min):
        raise ValueError(
            f"sigma_min must be smaller than sigma_max, got sigma_min={sigma_min!r}, "
            f"sigma_max={sigma_max!r}"
        )
    return float(sigma_min), float(sigma_max)


def check_sampling_range(sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """A sampler's range: finite 0 <= sigma_min < sigma_max."""
    check_positive("sigma_max", sigma_max)
    return check_sigma_range(sigma_min, sigma_max)


def check_sigma_tensor(sigma: torch.Tensor | float, name: str = "sigma") -> torch.Tensor:
    """Noise levels must be finite and non-negative; returns `sigma` as a tensor.

    Python numbers become float64 tensors, so that σ = 0.4 stays 0.4 (not its
    float32 rounding) in the float64 computations downstream.
    """
    s = sigma if isinstance(sigma, torch.Tensor) else torch.tensor(sigma, dtype=torch.float64)
    if not torch.isfinite(s).all() or (s < 0).any():
        raise ValueError(f"{name} must be finite and >= 0, got {sigma!r}")
    return s


def check_finite(name: str, x: torch.Tensor) -> torch.Tensor:
    """Reject NaN or infinite entries (for example in sampler latents)."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite; got NaN or infinite entries")
    return x
