"""The one validation layer: every public function converts and checks its arguments here.

Each check *returns the converted value*, and callers go on with that value,
never with the raw argument.  Each failure is a `ValueError` whose message
starts with the argument's name and says what is allowed, raised before any
work is done, so that a reader who mistypes a setting in a notebook cell sees
at once what went wrong.  Failed conversions (`float('x')`, `int(None)`,
`torch.as_tensor(object())`) become such `ValueError`s too, never a
`TypeError` from deep inside a computation.

Conventions:

* numbers are Python ints and floats, NumPy scalars, or one-element tensors;
  strings, None and booleans are not numbers (`rho='7'` is rejected, not read);
* integers must be integral (2.0 is 2; 2.7 is an error, not truncated);
* tensors (`check_tensor`) may be given as tensors, NumPy arrays or nested
  lists of real numbers; integer arrays become floating point; NaN and ±inf
  are rejected;
* noise levels σ are finite and ≥ 0 (> 0 where a formula takes ln σ or 1/σ).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

#: The most time steps a sampler or discretization accepts.  A million steps would allocate
#: gigabytes and run for hours; no experiment in the book needs more than a few thousand.
MAX_NUM_STEPS = 100_000

#: The most discrete levels (M of iDDPM, Table 1) accepted: the paper uses M = 1000.
MAX_LEVELS = 1_000_000

#: The largest finite σ_max of a sampling range, a discretization or a loss.  Far beyond any
#: data scale (the paper's largest is σ_max = 152), and small enough that σ², as VE's t = σ²
#: and the losses' 1/σ² need, stays a number even in float32.
MAX_SIGMA = 1e6

#: The smallest σ_min of a sampling range.  The last Heun correction divides by σ_min: below
#: this, float64 rounding in x − D(x; σ) is amplified beyond the data's scale.
MIN_SAMPLING_SIGMA = 1e-10

#: The smallest ε_s, ε_t (the VP schedule's first time): below it σ(ε) is lost to rounding.
MIN_EPSILON = 1e-10

#: The largest magnitude of data values (means, training points, component widths) and of
#: the constants that scale them (σ_data): their squares must stay numbers.
MAX_MAGNITUDE = 1e100

#: The floating dtypes a tensor argument may have (float8 types support almost nothing).
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _describe(value: Any) -> str:
    """A short description of a bad value for an error message (no huge reprs)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


# ------------------------------------------------------------------ numbers
def _scalar(name: str, value: Any) -> Any:
    """A one-element tensor or array, or a NumPy scalar, as the Python number it holds."""
    if isinstance(value, torch.Tensor) and (value.device.type == "meta" or value.is_sparse):
        raise ValueError(f"{name} must be a number, got {_describe(value)} on {value.device}")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise ValueError(f"{name} must be a single number, got {_describe(value)}")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def as_float(name: str, value: Any) -> float:
    """`value` as a Python float, or a `ValueError` naming `name` if it is not a real number.

    NaN and ±inf are returned as such; the range checks below reject them.
    """
    if type(value) is float:  # the common case, first: validation runs on every call
        return value
    value = _scalar(name, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {_describe(value)}")
    try:
        return float(value)
    except (OverflowError, ValueError):
        raise ValueError(
            f"{name} must be a real number of float64 range, got {_describe(value)}"
        ) from None


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number in the interval given by `low`/`high` (closed unless `*_open`), as a float.

    NaN is always rejected; ±inf only with `allow_inf` (and then still subject to the bounds).
    """
    v = as_float(name, value)
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if math.isnan(v) or (math.isinf(v) and not allow_inf) or too_low or too_high:
        kind = "a number" if allow_inf else "a finite number"
        interval = _interval(low, high, low_open, high_open)
        raise ValueError(f"{name} must be {kind}{interval}, got {_describe(value)}")
    return v


def _interval(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return (" " + " and ".join(parts)) if parts else ""


def check_positive(
    name: str, value: Any, *, allow_zero: bool = False, allow_inf: bool = False
) -> float:
    """A real number > 0 (≥ 0 with `allow_zero`; finite unless `allow_inf`), as a float."""
    return check_real(name, value, low=0.0, low_open=not allow_zero, allow_inf=allow_inf)


def check_unit_interval(name: str, value: Any) -> float:
    """A number in (0, 1), as a float."""
    return check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def check_epsilon(name: str, value: Any) -> float:
    """ε_s or ε_t, the VP schedule's first time: a number in [`MIN_EPSILON`, 1), as a float."""
    return check_real(name, value, low=MIN_EPSILON, high=1.0, high_open=True)


def check_magnitude(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A scale such as σ_data: a number in (1/MAX_MAGNITUDE, MAX_MAGNITUDE] (0 too with
    `allow_zero`), so that its square and its inverse square are numbers."""
    v = check_positive(name, value, allow_zero=allow_zero)
    if v > MAX_MAGNITUDE or (0 < v < 1 / MAX_MAGNITUDE):
        raise ValueError(
            f"{name} must be between {1 / MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {value!r}"
        )
    return v


def check_integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """An integral number in [minimum, maximum], as an int (2.0 is 2; 2.7, NaN, '2' are errors)."""
    if type(value) is int and value >= minimum and (maximum is None or value <= maximum):
        return value  # the common case, first
    bound = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    number = _scalar(name, value)
    integral = isinstance(number, numbers.Integral) or (
        isinstance(number, float) and math.isfinite(number) and number.is_integer()
    )
    if isinstance(number, bool) or not integral:
        raise ValueError(f"{name} must be an integer {bound}, got {_describe(value)}")
    number = int(number)
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be an integer {bound}, got {_describe(value)}")
    return number


def check_num_steps(num_steps: Any, name: str = "num_steps") -> int:
    """A discretization needs at least two points t_0 > t_{N-1}, and at most `MAX_NUM_STEPS`."""
    return check_integer(name, num_steps, 2, MAX_NUM_STEPS)


def check_bool(name: str, value: Any) -> bool:
    """True or False (also NumPy's booleans); anything else is an error."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def check_seed(name: str, value: Any) -> int:
    """A seed for `torch.Generator.manual_seed`: an integer in [0, 2⁶⁴)."""
    return check_integer(name, value, 0, 2**64 - 1)


# --------------------------------------------------------- names and objects
def check_choice(name: str, value: Any, allowed: Iterable[str], what: str | None = None) -> str:
    """`value` if it is one of `allowed`, else an error naming the options (and what they are)."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        kind = f"a known {what}" if what else "supported"
        raise ValueError(f"{name}={_describe(value)} is not {kind}; allowed values: {options}")
    return value


def check_callable(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """A callable (a net, a metric, a noise source); None too with `allow_none`."""
    if value is None and allow_none:
        return None
    if not callable(value):
        kind = "a callable or None" if allow_none else "a callable"
        raise ValueError(f"{name} must be {kind}, got {_describe(value)}")
    return value


def check_generator(name: str, value: Any) -> torch.Generator | None:
    """A `torch.Generator` or None (the global generator)."""
    if value is not None and not isinstance(value, torch.Generator):
        raise ValueError(f"{name} must be a torch.Generator or None, got {_describe(value)}")
    return value


def check_device(name: str, value: Any) -> torch.device | None:
    """A device (a `torch.device` or a string such as 'cpu') or None, as a `torch.device`.

    The device must also exist on this machine (a tensor can be made there).
    """
    if value is None:
        return None
    if isinstance(value, (str, torch.device)):
        try:
            device = torch.device(value)
            torch.empty(0, device=device)
            if device.type != "meta":  # meta tensors hold no values
                return device
        except (RuntimeError, ValueError, AssertionError):
            pass
    raise ValueError(
        f"{name} must be an available torch.device, a device string such as 'cpu', or None, "
        f"got {_describe(value)}"
    )


def check_dtype(name: str, value: Any, *, floating: bool = True) -> torch.dtype:
    """A torch floating-point dtype (any dtype with `floating=False`)."""
    if not isinstance(value, torch.dtype) or (floating and not value.is_floating_point):
        kind = "a floating-point torch.dtype" if floating else "a torch.dtype"
        raise ValueError(f"{name} must be {kind} (e.g. torch.float32), got {_describe(value)}")
    return value


def check_keywords(name: str, kwargs: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Reject keyword arguments that a function does not know (`toy_mixture('ring', k=4)`)."""
    allowed = tuple(allowed)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        options = ", ".join(allowed) if allowed else "none"
        raise ValueError(f"{unknown[0]} is not a keyword argument of {name}; allowed: {options}")


def cached_per_callable(cache: weakref.WeakKeyDictionary, fn: Any, compute: Any) -> Any:
    """`compute(fn)`, kept in `cache` while fn lives: what a signature says costs tens of
    microseconds to read, and samplers ask at every call.

    The key is the function itself (a bound method's function), or the class of a callable
    object, whose `__call__` signature all its instances share.  A key that cannot be weakly
    referenced is computed again each time.
    """
    key = getattr(fn, "__func__", fn) if inspect.ismethod(fn) else fn
    key = key if inspect.isfunction(key) else type(fn)
    with contextlib.suppress(KeyError, TypeError):
        return cache[key]
    value = compute(fn)
    with contextlib.suppress(TypeError):
        cache[key] = value
    return value


_KEYWORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _read_keywords(fn: Any) -> tuple[str, ...] | None:
    """The keyword arguments fn takes, or None if it takes **kwargs or has no signature to read."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): fn checks for itself
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in parameters if p.kind in kinds)


def check_forwarded(
    name: str, fn: Any, kwargs: Mapping[str, Any], reserved: Iterable[str] = ()
) -> None:
    """Keyword arguments passed on to `fn` (named `name` in messages) must be keywords it takes,
    and none of those in `reserved`, which the caller passes to fn itself.

    Checked against fn's signature before any work, unless fn takes **kwargs itself.
    """
    taken = sorted(set(kwargs) & set(reserved))
    if taken:
        raise ValueError(f"{taken[0]} is set by the caller and cannot be given for {name}")
    allowed = cached_per_callable(_KEYWORDS, fn, _read_keywords)
    if allowed is None:
        return
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"{unknown[0]} is not a keyword argument of {name}; its keywords: {', '.join(allowed)}"
        )


def check_sequence(name: str, value: Any, *, min_length: int = 0) -> list:
    """A list or tuple (or another non-string iterable) of at least `min_length` items, as a list."""
    if isinstance(value, (str, bytes, Mapping)) or value is None:
        raise ValueError(f"{name} must be a sequence, got {_describe(value)}")
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence, got {_describe(value)}") from None
    if len(items) < min_length:
        raise ValueError(f"{name} must have at least {min_length} items, got {len(items)}")
    return items


# ------------------------------------------------------------------ ranges
def check_sigma_range(
    sigma_min: Any,
    sigma_max: Any,
    *,
    allow_zero_min: bool = True,
    allow_inf_max: bool = False,
) -> tuple[float, float]:
    """0 ≤ sigma_min < sigma_max, as floats.

    sigma_min > 0 unless `allow_zero_min`; sigma_max ≤ `MAX_SIGMA`, or also ∞ with
    `allow_inf_max` (a preconditioner's or a denoiser's range may be unbounded).
    """
    sigma_min = check_real(
        "sigma_min", sigma_min, low=0.0, low_open=not allow_zero_min, high=MAX_SIGMA
    )
    if allow_inf_max and as_float("sigma_max", sigma_max) == math.inf:
        sigma_max = math.inf
    else:
        sigma_max = check_real("sigma_max", sigma_max, low=0.0, low_open=True, high=MAX_SIGMA)
    if not sigma_min < sigma_max:
        raise ValueError(
            f"sigma_min must be smaller than sigma_max, got sigma_min={sigma_min!r}, "
            f"sigma_max={sigma_max!r}"
        )
    return sigma_min, sigma_max


# ----------------------------------------------------------------- tensors
def as_tensor(name: str, value: Any, *, float_dtype: torch.dtype | None = None) -> torch.Tensor:
    """`value` as a real floating tensor: tensors pass through, arrays and nested lists are converted.

    Integer (and unsigned) inputs become `float_dtype` (torch's default dtype if None);
    booleans, complex numbers, strings and other objects are errors.
    """
    if not isinstance(value, torch.Tensor):
        if value is None or isinstance(value, (str, bytes, Mapping)):
            raise ValueError(
                f"{name} must be a tensor or an array of numbers, got {_describe(value)}"
            )
        try:
            value = torch.as_tensor(
                np.asarray(value) if not isinstance(value, np.ndarray) else value
            )
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise ValueError(
                f"{name} must be a tensor or an array of numbers, got {_describe(value)}"
            ) from None
    if value.dtype == torch.bool or value.is_complex():
        raise ValueError(f"{name} must hold real numbers, got {_describe(value)}")
    if value.layout != torch.strided:
        raise ValueError(f"{name} must be a dense tensor, got layout {value.layout}")
    if value.is_floating_point() and value.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be float16, bfloat16, float32 or float64, got {value.dtype}")
    if value.device.type == "meta":
        raise ValueError(f"{name} must hold values, got a tensor on the 'meta' device")
    if not value.is_floating_point():
        value = value.to(float_dtype or torch.get_default_dtype())
    return value


def check_tensor(
    name: str,
    value: Any,
    *,
    min_ndim: int = 1,
    max_ndim: int | None = None,
    finite: bool = True,
    float_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A real floating tensor with `min_ndim` ≤ ndim ≤ `max_ndim` and (if `finite`) no NaN or ±inf.

    The latents, points and images of the package: type, dimensions and finiteness in one check.
    """
    x = as_tensor(name, value, float_dtype=float_dtype)
    if x.ndim < min_ndim or (max_ndim is not None and x.ndim > max_ndim):
        want = f"{min_ndim}" if max_ndim == min_ndim else f"at least {min_ndim}"
        if max_ndim is not None and max_ndim != min_ndim:
            want = f"{min_ndim} to {max_ndim}"
        layout = " ([B, ...]: a batch of samples)" if min_ndim >= 1 else ""
        raise ValueError(f"{name} must have {want} dimensions{layout}, got shape {tuple(x.shape)}")
    return check_finite(name, x) if finite else x


def all_finite(x: torch.Tensor) -> bool:
    """Whether every entry of x is finite: one cheap sum when it is (a NaN or ±inf makes the
    sum non-finite), and the exact elementwise test only when the sum is not finite."""
    return math.isfinite(float(x.detach().sum())) or bool(torch.isfinite(x).all())


def check_finite(name: str, x: torch.Tensor) -> torch.Tensor:
    """Reject NaN or infinite entries of a tensor (for example a net's output)."""
    if not all_finite(x):
        raise ValueError(f"{name} must be finite; got NaN or infinite entries")
    return x


def check_samples(
    name: str, value: Any, *, dim: int | None = None, min_count: int = 0
) -> torch.Tensor:
    """A batch of samples [B, ...] (B ≥ `min_count`, `dim` numbers each if given) as float64 [B, D], finite."""
    x = check_tensor(name, value, min_ndim=1, float_dtype=torch.float64)
    if len(x) < min_count:
        raise ValueError(
            f"{name} must hold at least {min_count} samples, got shape {tuple(x.shape)}"
        )
    per_sample = math.prod(x.shape[1:])
    if per_sample < 1:
        raise ValueError(
            f"{name} must hold at least one value per sample, got shape {tuple(x.shape)}"
        )
    if dim is not None and per_sample != dim:
        raise ValueError(
            f"{name} must have shape [B, ...] with {dim} numbers per sample, got shape {tuple(x.shape)}"
        )
    return x.reshape(len(x), per_sample).to(torch.float64)


def check_sigma_tensor(
    sigma: Any,
    name: str = "sigma",
    *,
    batch: int | None = None,
    ndim: int | None = None,
    positive: bool = False,
) -> torch.Tensor:
    """Noise levels σ: finite and ≥ 0 (> 0 with `positive`), as a floating tensor.

    Python numbers become float64 tensors, so that σ = 0.4 stays 0.4 (not its
    float32 rounding) in the float64 computations downstream.  With `batch` = B,
    σ must be a scalar (one element) or hold one value per sample: shape [B] or
    [B, 1, …, 1] with at most `ndim` dimensions (the ndim of x).  Returns σ
    unchanged in shape; callers reshape it.
    """
    if isinstance(sigma, (torch.Tensor, np.ndarray, list, tuple)):
        s = as_tensor(name, sigma, float_dtype=torch.float64)
    else:
        s = torch.tensor(as_float(name, sigma), dtype=torch.float64)
    bound = "> 0" if positive else ">= 0"
    if s.numel() == 1:  # the common case: one Python-side test instead of several tensor ops
        v = float(s)
        if not (math.isfinite(v) and (v > 0 if positive else v >= 0)):
            raise ValueError(f"{name} must be finite and {bound}, got {v!r}")
        return s
    if s.numel() > 0:  # one reduction: NaN propagates into the minimum, ±inf shows in the extremes
        low, high = (float(v) for v in torch.aminmax(s.detach()))
        if not (math.isfinite(low) and math.isfinite(high) and (low > 0 if positive else low >= 0)):
            raise ValueError(
                f"{name} must be finite and {bound}, got {_describe(sigma)} with bad entries"
            )
    if batch is not None:
        per_sample = s.ndim >= 1 and s.shape[0] == batch and all(n == 1 for n in s.shape[1:])
        if not per_sample or (ndim is not None and s.ndim > max(ndim, 1)):
            raise ValueError(
                f"{name} must be a scalar or hold one value per sample, shape [B] or [B, 1, ..., 1] "
                f"with B = {batch}, got shape {tuple(s.shape)}"
            )
    return s
