"""Noise schedules σ(t), scalings s(t) and time discretizations (Table 1).

The paper separates a diffusion model's sampler into independent choices
(Table 1): the noise schedule σ(t), the signal scaling s(t) (Eq. 4:
x = s(t) x̂), and the time steps t_0 > … > t_{N−1} at which the ODE is solved.
This module implements each column's choice as a plain function so that the
samplers, the preconditioners and the book's plots share one definition.

Conventions: every function accepts a float or a tensor and returns a tensor;
tensors keep their dtype (pass float64 for exact work), floats become float64.
Times t and noise levels σ must be finite and ≥ 0 (a `ValueError` naming the
argument otherwise), so a schedule never returns NaN for an accepted input.
The VP formulas are evaluated exactly as Table 1 writes them (exp(·) − 1 and
ln(σ² + 1), not expm1/log1p), so that float32 results match the paper's
reference setup, whose pretrained VP networks were driven by these values.
The `*_sigma_steps` functions return the N noise levels σ_0 > … > σ_{N−1} as a
float64 tensor [N], without the final σ_N = 0 that the samplers append.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable

import torch

from ._validation import (
    MAX_LEVELS,
    all_finite,
    check_callable,
    check_choice,
    check_dtype,
    check_epsilon,
    check_integer,
    check_num_steps,
    check_positive,
    check_real,
    check_sigma_range,
    check_sigma_tensor,
    check_tensor,
)

Fn = Callable[[torch.Tensor], torch.Tensor]

#: The smallest non-zero σ_min of a VP schedule: below it ln(σ² + 1) rounds to 0 in float64.
MIN_VP_SIGMA = 1e-7

SCHEDULES = ("vp", "ve", "linear")
SCALINGS = ("vp", "none")
DISCRETIZATIONS = ("vp", "ve", "iddpm", "edm")


def _as_tensor(t: torch.Tensor | float, name: str = "t") -> torch.Tensor:
    """A time (or σ) ≥ 0 as a tensor: tensors keep their floating dtype; numbers become float64."""
    return check_sigma_tensor(t, name)


def _vp_betas(beta_d: float, beta_min: float) -> tuple[float, float]:
    """β_d and β_min as floats: finite, |β| <= 1e12 (a refitted β_min may be negative)."""
    return (
        check_real("beta_d", beta_d, low=-1e12, high=1e12),
        check_real("beta_min", beta_min, low=-1e12, high=1e12),
    )


def _vp_time(
    t: torch.Tensor | float, beta_d: float, beta_min: float, *, positive: bool = False
) -> torch.Tensor:
    """A VP time t ≥ 0 (> 0 with `positive`) at which ½β_d t² + β_min t = ln(σ(t)² + 1) ≥ 0,
    so that σ(t) is real, and small enough that exp(½β_d t² + β_min t) is a number of t's dtype."""
    t = check_sigma_tensor(t, "t", positive=positive)
    exponent = 0.5 * beta_d * t**2 + beta_min * t
    if bool((exponent < 0).any()):
        raise ValueError(
            f"t must lie where ½β_d t² + β_min t >= 0 (so that σ(t)² = exp(·) − 1 >= 0); "
            f"with beta_d={beta_d:g}, beta_min={beta_min:g} some t given are outside"
        )
    limit = math.log(torch.finfo(t.dtype).max)
    if bool((exponent >= limit).any()):
        raise ValueError(
            f"t must be small enough that ½β_d t² + β_min t < {limit:.0f}: with beta_d={beta_d:g}, "
            f"beta_min={beta_min:g} σ(t) overflows {t.dtype} (the VP schedule runs over t ∈ [ε, 1])"
        )
    return t


# The formulas.  Each public function below checks its arguments, then evaluates one of
# these; the samplers evaluate them directly on time grids they have already checked.
def _vp_sigma(t: torch.Tensor, beta_d: float, beta_min: float) -> torch.Tensor:
    return ((0.5 * beta_d * t**2 + beta_min * t).exp() - 1).sqrt()


def _vp_sigma_deriv(t: torch.Tensor, beta_d: float, beta_min: float) -> torch.Tensor:
    sigma = _vp_sigma(t, beta_d, beta_min)
    return 0.5 * (beta_d * t + beta_min) * (sigma + 1 / sigma)


def _vp_sigma_inv(sigma: torch.Tensor, beta_d: float, beta_min: float) -> torch.Tensor:
    log_sigma2_plus_1 = (sigma**2 + 1).log()  # as Table 1 writes it
    if sigma.numel() and bool((sigma > 1e15).any()):  # where σ² could overflow: 2 ln σ, exactly
        log_sigma2_plus_1 = torch.where(sigma > 1e15, 2 * sigma.log(), log_sigma2_plus_1)
    return ((beta_min**2 + 2 * beta_d * log_sigma2_plus_1).sqrt() - beta_min) / beta_d


def _vp_scaling(t: torch.Tensor, beta_d: float, beta_min: float) -> torch.Tensor:
    return (-0.5 * (0.5 * beta_d * t**2 + beta_min * t)).exp()


def _vp_scaling_deriv(t: torch.Tensor, beta_d: float, beta_min: float) -> torch.Tensor:
    return -0.5 * (beta_d * t + beta_min) * _vp_scaling(t, beta_d, beta_min)  # = −σσ̇s³


def _ve_sigma(t: torch.Tensor) -> torch.Tensor:
    return t.sqrt()


def _ve_sigma_deriv(t: torch.Tensor) -> torch.Tensor:
    return 0.5 / t.sqrt()


def _ve_sigma_inv(sigma: torch.Tensor) -> torch.Tensor:
    return sigma**2


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def _ones(t: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(t)


def _zeros(t: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(t)


# --------------------------------------------------------------------------- VP
def vp_sigma(t: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1) -> torch.Tensor:
    """VP noise schedule σ(t) = √(exp(½β_d t² + β_min t) − 1) (Table 1, column VP)."""
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    return _vp_sigma(_vp_time(t, beta_d, beta_min), beta_d, beta_min)


def vp_sigma_deriv(
    t: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1
) -> torch.Tensor:
    """σ̇(t) = ½(β_d t + β_min) exp(½β_d t² + β_min t)/σ(t) = ½(β_d t + β_min)(σ + 1/σ) for VP.

    (The second form uses exp(½β_d t² + β_min t) = σ(t)² + 1.)
    """
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    # σ̇ ∝ 1/σ is infinite at t = 0, where σ = 0: t must be > 0
    return _vp_sigma_deriv(_vp_time(t, beta_d, beta_min, positive=True), beta_d, beta_min)


def vp_sigma_inv(
    sigma: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1
) -> torch.Tensor:
    """σ⁻¹(σ) = (√(β_min² + 2β_d ln(σ² + 1)) − β_min) / β_d, the positive root of
    ½β_d t² + β_min t = ln(σ² + 1) (Table 1's VP inverse, used by c_noise and p_train)."""
    sigma = _as_tensor(sigma, "sigma")
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    if beta_d == 0:
        raise ValueError("beta_d must be non-zero to invert σ(t) (the root divides by β_d)")
    t = _vp_sigma_inv(sigma, beta_d, beta_min)
    if not all_finite(t):  # a decreasing or humped schedule (β_d < 0) does not reach every σ
        raise ValueError(
            f"sigma must lie within the range of the VP schedule with beta_d={beta_d:g}, "
            f"beta_min={beta_min:g}: some σ given have no σ⁻¹(σ)"
        )
    return t


def vp_scaling(
    t: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1
) -> torch.Tensor:
    """VP scaling s(t) = 1/√(1 + σ(t)²) = exp(−½(½β_d t² + β_min t)) (Table 1, Eq. 4)."""
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    return _vp_scaling(_vp_time(t, beta_d, beta_min), beta_d, beta_min)


def vp_scaling_deriv(
    t: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1
) -> torch.Tensor:
    """ṡ(t) = −σ(t) σ̇(t) s(t)³, the derivative of s = (1 + σ²)^(−½)."""
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    return _vp_scaling_deriv(_vp_time(t, beta_d, beta_min), beta_d, beta_min)


def vp_beta_from_sigma_range(
    sigma_min: float, sigma_max: float, epsilon_s: float = 1e-3
) -> tuple[float, float]:
    """(β_d, β_min) such that the VP schedule has σ(ε_s) = sigma_min and σ(1) = sigma_max.

    Writing L(σ) = ln(σ² + 1), the two conditions are the linear equations
    ½β_d ε_s² + β_min ε_s = L(sigma_min) and ½β_d + β_min = L(sigma_max), so
    β_d = 2(L_min/ε_s − L_max)/(ε_s − 1) and β_min = L_max − ½β_d.
    With (σ(10⁻³), σ(1)) of the default schedule this returns (19.9, 0.1).
    """
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max)
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    if 0 < sigma_min < MIN_VP_SIGMA:
        raise ValueError(
            f"sigma_min must be 0 or >= {MIN_VP_SIGMA:g} for the VP schedule, got {sigma_min:g}: "
            "below that σ² + 1 rounds to 1 in ln(σ² + 1), as Table 1 writes it"
        )
    L_min, L_max = math.log(sigma_min**2 + 1), math.log(sigma_max**2 + 1)
    beta_d = 2 * (L_min / epsilon_s - L_max) / (epsilon_s - 1)
    beta_min = L_max - 0.5 * beta_d
    # σ(t) must increase on [ε_s, 1]: the exponent's slope β_d t + β_min >= 0 at both ends.
    if beta_d * epsilon_s + beta_min < 0 or beta_d + beta_min < 0:
        raise ValueError(
            f"sigma_min={sigma_min:g} and sigma_max={sigma_max:g} admit no increasing VP schedule "
            f"σ(t) on [epsilon_s, 1] = [{epsilon_s:g}, 1] (the fit gives beta_d={beta_d:.3g}, "
            f"beta_min={beta_min:.3g}): widen the range or lower epsilon_s"
        )
    return beta_d, beta_min


def check_vp_betas(beta_d: float, beta_min: float) -> tuple[float, float]:
    """β_d > 0 and β_min >= 0 of a network's VP schedule (Table 1: 19.9 and 0.1), as floats, with
    σ(1) = √(exp(½β_d + β_min) − 1) within float32's range, where the network evaluates it."""
    beta_d = check_real("beta_d", beta_d, low=1e-6, high=1e6)
    beta_min = check_real("beta_min", beta_min, low=0.0, high=1e6)
    limit = math.log(torch.finfo(torch.float32).max)
    if 0.5 * beta_d + beta_min >= limit:
        raise ValueError(
            f"beta_d and beta_min must keep ½β_d + β_min below {limit:.1f} (σ(1) within float32), "
            f"got beta_d={beta_d:g}, beta_min={beta_min:g}"
        )
    return beta_d, beta_min


def schedule_betas(
    schedule: str, sigma_min: float, sigma_max: float, epsilon_s: float = 1e-3
) -> tuple[float, float]:
    """The (β_d, β_min) a sampler passes to `get_schedule(schedule, …)`: fitted to the range for
    'vp' (`vp_beta_from_sigma_range`), Table 1's (19.9, 0.1) otherwise, where they are not used
    (so a range that no VP schedule can fit is no error for the other schedules)."""
    check_choice("schedule", schedule, SCHEDULES)
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max)
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    if schedule == "vp":
        return vp_beta_from_sigma_range(sigma_min, sigma_max, epsilon_s)
    return 19.9, 0.1


# --------------------------------------------------------------------- VE, EDM
def ve_sigma(t: torch.Tensor | float) -> torch.Tensor:
    """VE noise schedule σ(t) = √t (Table 1, column VE)."""
    return _ve_sigma(_as_tensor(t))


def ve_sigma_deriv(t: torch.Tensor | float) -> torch.Tensor:
    """σ̇(t) = 1/(2√t) for the VE schedule (t > 0: it is infinite at 0)."""
    return _ve_sigma_deriv(check_sigma_tensor(t, "t", positive=True))


def ve_sigma_inv(sigma: torch.Tensor | float) -> torch.Tensor:
    """σ⁻¹(σ) = σ² for the VE schedule."""
    t = _ve_sigma_inv(_as_tensor(sigma, "sigma"))
    if not all_finite(t):
        raise ValueError("sigma is too large: σ² exceeds the range of its dtype")
    return t


def linear_sigma(t: torch.Tensor | float) -> torch.Tensor:
    """EDM's schedule σ(t) = t (Table 1, columns iDDPM and EDM; Sec. 3)."""
    return _as_tensor(t)


def linear_sigma_deriv(t: torch.Tensor | float) -> torch.Tensor:
    """σ̇(t) = 1."""
    return _ones(_as_tensor(t))


def linear_sigma_inv(sigma: torch.Tensor | float) -> torch.Tensor:
    """σ⁻¹(σ) = σ."""
    return _as_tensor(sigma, "sigma")


def no_scaling(t: torch.Tensor | float) -> torch.Tensor:
    """s(t) = 1 (Table 1, columns VE, iDDPM, EDM)."""
    return _ones(_as_tensor(t))


def no_scaling_deriv(t: torch.Tensor | float) -> torch.Tensor:
    """ṡ(t) = 0."""
    return _zeros(_as_tensor(t))


# ---------------------------------------------------------------- by name
# Per schedule: (σ, σ̇, σ⁻¹) as public functions that check their argument, and as bare formulas.
_SCHEDULE_FUNCTIONS = {
    "vp": ((vp_sigma, vp_sigma_deriv, vp_sigma_inv), (_vp_sigma, _vp_sigma_deriv, _vp_sigma_inv)),
    "ve": ((ve_sigma, ve_sigma_deriv, ve_sigma_inv), (_ve_sigma, _ve_sigma_deriv, _ve_sigma_inv)),
    "linear": ((linear_sigma, linear_sigma_deriv, linear_sigma_inv), (_identity, _ones, _identity)),
}


def _schedule_formulas(
    name: str, beta_d: float, beta_min: float, *, checked: bool = False
) -> tuple[Fn, Fn, Fn]:
    """(σ, σ̇, σ⁻¹) of schedule `name`, VP's bound to (beta_d, beta_min): the public functions,
    which check their argument, or (`checked=False`) the bare formulas, for times a caller has
    checked (the samplers' own grids)."""
    public, bare = _SCHEDULE_FUNCTIONS[name]
    functions = public if checked else bare
    if name != "vp":
        return functions
    return tuple(functools.partial(f, beta_d=beta_d, beta_min=beta_min) for f in functions)


def _scaling_formulas(name: str, sigma: Fn, sigma_deriv: Fn) -> tuple[Fn, Fn]:
    """(s, ṡ) of scaling `name` for a given σ(t), σ̇(t), without argument checks.

    'vp' is s(t) = 1/√(1 + σ(t)²), whose derivative is ṡ = −σ σ̇ s³; 'none' is s = 1, ṡ = 0.
    """
    if name == "none":
        return _ones, _zeros

    def s(t):
        return 1 / (1 + sigma(t) ** 2).sqrt()

    def s_deriv(t):
        return -sigma(t) * sigma_deriv(t) * s(t) ** 3

    return s, s_deriv


def get_schedule(name: str, beta_d: float = 19.9, beta_min: float = 0.1) -> tuple[Fn, Fn, Fn]:
    """(σ, σ̇, σ⁻¹) of the schedule `name` ∈ {'vp', 've', 'linear'} (Table 1, row σ(t)).

    `beta_d`, `beta_min` are used by 'vp' only.  The functions check their argument.
    """
    check_choice("name", name, SCHEDULES, "schedule")
    beta_d, beta_min = _vp_betas(beta_d, beta_min)
    return _schedule_formulas(name, beta_d, beta_min, checked=True)


def get_scaling(name: str, sigma: Fn, sigma_deriv: Fn) -> tuple[Fn, Fn]:
    """(s, ṡ) of the scaling `name` ∈ {'vp', 'none'} (Table 1, row s(t)).

    'vp' is s(t) = 1/√(1 + σ(t)²) for whatever σ(t) is given, so that the
    scaled x = s x̂ keeps unit variance for unit-variance data; its derivative
    is ṡ = −σ σ̇ s³.  'none' is s = 1, ṡ = 0.  The functions check their argument.
    """
    check_choice("name", name, SCALINGS, "scaling")
    if name == "none":
        return no_scaling, no_scaling_deriv
    check_callable("sigma", sigma)
    check_callable("sigma_deriv", sigma_deriv)

    def sigma_checked(t: torch.Tensor) -> torch.Tensor:
        return check_sigma_tensor(sigma(t), "sigma(t)")  # σ(t): noise levels

    def sigma_deriv_checked(t: torch.Tensor) -> torch.Tensor:
        return check_tensor("sigma_deriv(t)", sigma_deriv(t), min_ndim=0)  # σ̇(t): finite numbers

    s, s_deriv = _scaling_formulas(name, sigma_checked, sigma_deriv_checked)
    # ṡ = −σ σ̇ s³ needs σ̇(t), which is infinite at t = 0 for VP and VE: t must be > 0 there.
    return (lambda t: s(_as_tensor(t))), (
        lambda t: s_deriv(check_sigma_tensor(t, "t", positive=True))
    )


# ------------------------------------------------------------ time steps
def _step_fraction(num_steps: int) -> torch.Tensor:
    """i/(N − 1) for i = 0 … N − 1, float64 [N]."""
    num_steps = check_num_steps(num_steps)
    return torch.arange(num_steps, dtype=torch.float64) / (num_steps - 1)


def _check_grid(
    steps: torch.Tensor, sigma_min: float, sigma_max: float, culprit: str
) -> torch.Tensor:
    """A discretization's σ_i [N]: finite, strictly decreasing, from σ_max to σ_min (1e-6 relative).

    What float64 cannot represent (a σ_min lost to rounding against σ_max, an underflow to 0)
    is a `ValueError` naming `culprit`, never a grid that ends at 0 or repeats a level.
    """
    values = steps.tolist()
    ends_ok = math.isclose(values[0], sigma_max, rel_tol=1e-6) and (
        math.isclose(values[-1], sigma_min, rel_tol=1e-6, abs_tol=0.0 if sigma_min else 1e-300)
    )
    if not (ends_ok and all(a > b for a, b in zip(values, values[1:]))):
        raise ValueError(
            f"{culprit} gives time steps that float64 cannot represent: the grid from "
            f"sigma_max={sigma_max:g} to sigma_min={sigma_min:g} has {len(values)} steps "
            f"{values[:3]}…{values[-2:]} (not strictly decreasing, or not ending at sigma_min)"
        )
    return steps


def vp_sigma_steps(
    num_steps: int, sigma_min: float, sigma_max: float, epsilon_s: float = 1e-3
) -> torch.Tensor:
    """VP time steps t_i = 1 + i/(N−1)(ε_s − 1) mapped through σ(t) (Table 1, column VP).

    β_d, β_min are re-derived from the range (`vp_beta_from_sigma_range`), so
    σ_0 = sigma_max and σ_{N−1} = sigma_min.  Returns float64 [N], descending.
    """
    frac = _step_fraction(num_steps)
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    beta_d, beta_min = vp_beta_from_sigma_range(sigma_min, sigma_max, epsilon_s)
    t = 1 + frac * (epsilon_s - 1)  # [N], 1 → ε_s
    return _check_grid(vp_sigma(t, beta_d, beta_min), sigma_min, sigma_max, "sigma_min")


def ve_sigma_steps(num_steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """VE time steps t_i = σ_max² (σ_min²/σ_max²)^{i/(N−1)}, σ_i = √t_i (Table 1, column VE).

    The σ's are geometric: uniform in log σ, so σ_min must be > 0.  Returns float64 [N], descending.
    """
    frac = _step_fraction(num_steps)
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max, allow_zero_min=False)
    t = sigma_max**2 * (sigma_min**2 / sigma_max**2) ** frac  # [N]
    return _check_grid(ve_sigma(t), sigma_min, sigma_max, "sigma_min")


def _check_C_1(C_1: float) -> float:
    """C₁ ∈ (0, 1): the clamp of ᾱ_{j−1}/ᾱ_j <= 1 from below (Table 1's iDDPM footnote: 0.001)."""
    return check_real("C_1", C_1, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_C_2(C_2: float) -> float:
    """C₂ ∈ (0, 1]: the offset of the cosine schedule (Table 1's iDDPM footnote: 0.008)."""
    return check_real("C_2", C_2, low=0.0, high=1.0, low_open=True)


def iddpm_alpha_bar(
    j: torch.Tensor | int, M: int = 1000, C_2: float = 0.008, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """iDDPM's cosine schedule ᾱ_j = sin²(½π j/(M(C₂ + 1))) (Table 1, column iDDPM).

    Evaluated in `dtype`, float32 by default (torch's default precision, which
    is what the paper's reference setup uses for ᾱ_j): see `iddpm_u`.
    `j` is an index 0 … M or a tensor of them.
    """
    M = check_integer("M", M, 1, MAX_LEVELS)
    C_2 = _check_C_2(C_2)
    dtype = check_dtype("dtype", dtype)
    j = check_sigma_tensor(j, "j")
    if bool((j > M).any()) or not bool((j == j.round()).all()):
        raise ValueError(
            f"j must hold indices 0 … M = {M} (integers), got {j.reshape(-1).tolist()[:5]}"
        )
    j = j.to(dtype)
    return (0.5 * math.pi * j / M / (C_2 + 1)).sin() ** 2


def iddpm_u(
    M: int = 1000, C_1: float = 0.001, C_2: float = 0.008, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """The iDDPM noise levels u_0 > u_1 > … > u_M = 0, shape [M + 1] (Table 1, column iDDPM).

    With the cosine schedule ᾱ_j = sin²(½π j/(M(C₂ + 1))), the recursion
    u_{j−1} = √((u_j² + 1)/max(ᾱ_{j−1}/ᾱ_j, C₁) − 1) starts from u_M = 0; the
    clamp at C₁ bounds u_0.  These are the only σ's an iDDPM network was trained on.

    Vectorised.  Writing v_j = u_j² + 1, the recursion is v_{j−1} = v_j / r_j with
    r_j = max(ᾱ_{j−1}/ᾱ_j, C₁) and v_M = 1, so ln v_j = −Σ_{k > j} ln r_k, a
    reversed cumulative sum, and u_j = √(exp(ln v_j) − 1) (expm1, exact near 0).
    This runs in float64 and is cast to `dtype` at the end; M = 10⁶ takes
    milliseconds.  As in the paper's reference setup, ᾱ_j itself is evaluated in
    float32.  The reference runs the recursion step by step in float32, whose
    rounding drifts from these levels by up to ~2e-4 (relative) at the smallest
    levels (u_999 with M = 1000); the largest agree to float32 precision.
    """
    M = check_integer("M", M, 1, MAX_LEVELS)
    C_1, C_2 = _check_C_1(C_1), _check_C_2(C_2)
    dtype = check_dtype("dtype", dtype)
    alpha_bar = iddpm_alpha_bar(torch.arange(M + 1), M, C_2)  # [M + 1], float32
    ratio = (alpha_bar[:-1] / alpha_bar[1:]).clamp(min=C_1).to(torch.float64)  # [M], r_1 … r_M
    log_v = torch.zeros(M + 1, dtype=torch.float64)  # ln v_M = 0
    log_v[:-1] = (-ratio.log()).flip(0).cumsum(0).flip(0)  # ln v_j = −Σ_{k=j+1}^{M} ln r_k
    return log_v.expm1().sqrt().to(dtype)  # [M + 1]


def iddpm_sigma_steps(
    num_steps: int,
    sigma_min: float,
    sigma_max: float,
    C_1: float = 0.001,
    C_2: float = 0.008,
    M: int = 1000,
) -> torch.Tensor:
    """iDDPM/DDIM time steps: evenly spaced picks among the levels u_j (Table 1, column iDDPM).

    Of u_0 … u_M keep those in [sigma_min, sigma_max] (with the default range
    (0.002, 81) these are u_{j₀} … u_{M−1}, j₀ = 8), then take the kept level with
    index ⌊(K − 1)/(N − 1)·i + ½⌋, i = 0 … N − 1, where K is how many were kept.
    Exact ties (…​.5) are rounded half to even, as `torch.round` and the paper's
    reference setup do; Table 1's ⌊· + ½⌋ rounds them up (they are rare: e.g.
    K = 991, N = 5, i = 3 gives 742.5).
    The steps start at the largest kept level (≤ sigma_max) and end at the
    smallest (≥ sigma_min).  Returns float64 [N], descending.
    """
    frac = _step_fraction(num_steps)
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max)
    u = iddpm_u(M, C_1, C_2)  # [M + 1]
    kept = u[(u >= sigma_min) & (u <= sigma_max)]  # [K]
    if len(kept) == 0:
        raise ValueError(
            f"sigma_min and sigma_max must bracket at least one iDDPM level u_j; "
            f"none lies in [{sigma_min}, {sigma_max}]"
        )
    step_indices = torch.arange(len(frac), dtype=torch.float64)  # [N], 0 … N − 1
    index = ((len(kept) - 1) / (len(frac) - 1) * step_indices).round().long()  # [N], ties to even
    return kept[index]


def edm_sigma_steps(
    num_steps: int, sigma_min: float = 0.002, sigma_max: float = 80, rho: float = 7
) -> torch.Tensor:
    """EDM time steps (Eq. 5; Table 1, column EDM):

    σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ.

    Uniform in σ^{1/ρ}; ρ = 7 concentrates steps at low σ, where the ODE's
    curvature (and so the truncation error) is largest.  Returns float64 [N].
    A ρ so small that σ_max^{1/ρ} overflows float64, or so large that the
    steps no longer decrease strictly, is an error naming rho.
    """
    frac = _step_fraction(num_steps)
    sigma_min, sigma_max = check_sigma_range(sigma_min, sigma_max)
    rho = check_positive("rho", rho)
    try:
        root_max, root_min = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    except OverflowError:
        root_max = root_min = math.inf
    if math.isfinite(root_max) and root_min < root_max:
        steps = (root_max + frac * (root_min - root_max)) ** rho  # [N]
        with contextlib.suppress(ValueError):
            return _check_grid(steps, sigma_min, sigma_max, "rho")
    raise ValueError(
        f"rho={rho!r} cannot discretize [{sigma_min:g}, {sigma_max:g}] in float64 with {len(frac)} "
        f"steps: σ^(1/ρ) overflows, or σ_min^(1/ρ) is lost to rounding against σ_max^(1/ρ), or the "
        f"steps do not decrease strictly; use a rho of order 1 to 100"
    )


def check_discretization_knobs(
    rho: float, epsilon_s: float, C_1: float, C_2: float, M: int
) -> tuple[float, float, float, float, int]:
    """The discretizations' knobs (Table 1): ρ > 0, ε_s ∈ [1e-10, 1), C₁ ∈ (0, 1), C₂ ∈ (0, 1],
    1 <= M <= 10⁶."""
    return (
        check_positive("rho", rho),
        check_epsilon("epsilon_s", epsilon_s),
        _check_C_1(C_1),
        _check_C_2(C_2),
        check_integer("M", M, 1, MAX_LEVELS),
    )


def get_sigma_steps(
    discretization: str,
    num_steps: int,
    sigma_min: float,
    sigma_max: float,
    *,
    rho: float = 7,
    epsilon_s: float = 1e-3,
    C_1: float = 0.001,
    C_2: float = 0.008,
    M: int = 1000,
) -> torch.Tensor:
    """σ-levels [N] of `discretization` ∈ {'vp', 've', 'iddpm', 'edm'}; each uses only its own knobs,
    but every knob is checked (a mistyped one is an error even where it is not used)."""
    check_choice("discretization", discretization, DISCRETIZATIONS)
    check_discretization_knobs(rho, epsilon_s, C_1, C_2, M)
    if discretization == "vp":
        return vp_sigma_steps(num_steps, sigma_min, sigma_max, epsilon_s)
    if discretization == "ve":
        return ve_sigma_steps(num_steps, sigma_min, sigma_max)
    if discretization == "iddpm":
        return iddpm_sigma_steps(num_steps, sigma_min, sigma_max, C_1, C_2, M)
    return edm_sigma_steps(num_steps, sigma_min, sigma_max, rho)


def default_sigma_range(discretization: str, epsilon_s: float = 1e-3) -> tuple[float, float]:
    """Each family's default sampling range (σ_min, σ_max):

    vp: (σ(ε_s), σ(1)) with β_d = 19.9, β_min = 0.1, ≈ (0.0105, 152);
    ve: (0.02, 100); iddpm: (0.002, 81), so u₈ ≈ 80.2 is the first level kept;
    edm: (0.002, 80).
    """
    check_choice("discretization", discretization, DISCRETIZATIONS)
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    if discretization == "vp":
        return float(vp_sigma(epsilon_s)), float(vp_sigma(1.0))
    return {"ve": (0.02, 100.0), "iddpm": (0.002, 81.0), "edm": (0.002, 80.0)}[discretization]
