"""Error against the number of network evaluations: the measurements behind the paper's Figure 2.

With an exact denoiser a deterministic sampler's only error is truncation
error, so its samples converge to the exact ODE solution from the same
latents as N grows (`reference.reference_samples`).  `nfe_sweep` runs one
sampler setting at several N and records, for each, the NFE actually spent
(counted with `CountingNet`), the error against the converged samples, and any
sample-quality metric; `lowest_nfe_within` and `nfe_to_match` read off the
paper's two summary numbers: the marker of Figure 2 (the lowest NFE whose
quality is within 3% of the best) and the speed-up between two samplers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from .._validation import (
    check_callable,
    check_choice,
    check_epsilon,
    check_num_steps,
    check_positive,
    check_real,
    check_sequence,
    check_tensor,
)
from ..samplers import Net, _checked_runs, ablation_sampler
from ..schedules import SCALINGS, SCHEDULES, schedule_betas
from .reference import _check_solve_settings, _final_step, _initial_state, solve_pf_ode


def per_sample_error(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """RMS error of each sample against its reference, shape [B] (float64).

    `x` and `reference` must have the same shape [B, ...] (no broadcasting).
    Its median over the batch is robust to the few samples that a coarse
    sampler sends to a different mixture component, which dominate a plain RMS.
    """
    x = check_tensor("x", x, float_dtype=torch.float64).to(torch.float64)
    reference = check_tensor("reference", reference, float_dtype=torch.float64)
    if reference.shape != x.shape:
        raise ValueError(
            f"reference must have the shape of x {tuple(x.shape)}, got {tuple(reference.shape)}"
        )
    if x.ndim < 1 or math.prod(x.shape[1:]) < 1:
        raise ValueError(f"x must have shape [B, ...] with values per sample, got {tuple(x.shape)}")
    diff = x - reference.to(x)
    return diff.reshape(len(diff), math.prod(x.shape[1:])).pow(2).mean(dim=1).sqrt()  # [B]


def converged_references(
    net: Net,
    latents: torch.Tensor,
    sigma_min: float,
    sigma_max: float,
    last_steps: Mapping[str, tuple[str, str]],
    rtol: float = 1e-8,
    epsilon_s: float = 1e-3,
) -> dict[str, torch.Tensor]:
    """Converged samples for several samplers sharing one σ range, from one ODE solve.

    The exact state at σ_min is the same for every σ(t), s(t) (see `reference`);
    only the sampler's last Euler step to σ = 0 differs.  `last_steps` maps a
    name to the (schedule, scaling) of that last step.  Returns name → samples.
    """
    if not isinstance(last_steps, Mapping) or not last_steps:
        raise ValueError("last_steps must be a non-empty mapping name → (schedule, scaling)")
    for name, step in last_steps.items():
        if not (isinstance(step, (tuple, list)) and len(step) == 2):
            raise ValueError(
                f"last_steps[{name!r}] must be a pair (schedule, scaling), got {step!r}"
            )
        check_choice(f"last_steps[{name!r}] schedule", step[0], SCHEDULES)
        check_choice(f"last_steps[{name!r}] scaling", step[1], SCALINGS)
    rtol, _, _ = _check_solve_settings(rtol, rtol, "DOP853")
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    x_max, sigma_min, sigma_max = _initial_state(net, latents, sigma_min, sigma_max)  # [B, ...]
    for schedule, _ in last_steps.values():  # every last step's σ(t), fitted before the solve
        schedule_betas(schedule, sigma_min, sigma_max, epsilon_s)
    x_min, _ = solve_pf_ode(net, x_max, sigma_max, sigma_min, rtol=rtol, atol=rtol)  # [B, ...]
    return {
        name: _final_step(net, x_min, sigma_min, sigma_max, schedule, scaling, epsilon_s)
        for name, (schedule, scaling) in last_steps.items()
    }


def nfe_sweep(
    net: Net,
    latents: torch.Tensor,
    num_steps: Sequence[int],
    reference: torch.Tensor,
    metric: Callable[[torch.Tensor], float] | None = None,
    sampler: Callable[..., torch.Tensor] = ablation_sampler,
    **sampler_kwargs,
) -> dict[str, np.ndarray]:
    """Run `sampler(net, latents, num_steps=N, **sampler_kwargs)` for each N.

    Returns arrays over N: `num_steps`; `nfe` (denoiser calls, counted);
    `median_error`, the median over samples of the per-sample RMS error against
    `reference`; `switched`, the share of samples whose error exceeds 10× that
    median (for a mixture: samples that landed on another component); and
    `metric` (NaN without one).
    """
    num_steps = [check_num_steps(N) for N in check_sequence("num_steps", num_steps, min_length=1)]
    check_callable("metric", metric, allow_none=True)
    latents = check_tensor("latents", latents)
    if len(latents) == 0:
        raise ValueError("latents must hold at least one sample: the errors are medians over them")
    reference = check_tensor("reference", reference)
    if reference.shape != latents.shape:
        raise ValueError(
            f"reference must have the shape of latents {tuple(latents.shape)}, "
            f"got {tuple(reference.shape)}"
        )

    def measure(x: torch.Tensor) -> tuple[float, float, float]:
        """(median error, share switched, metric) of one run's samples."""
        error = per_sample_error(x, reference)  # [B]
        median = error.median().item()
        switched = (error > 10 * median).double().mean().item()
        return median, switched, metric(x) if metric is not None else math.nan

    settings = [{"num_steps": N} for N in num_steps]
    runs = _checked_runs(
        sampler, net, latents, settings, sampler_kwargs, measure=measure, reserved=("num_steps",)
    )
    rows = [(N, nfe, *measured) for N, (nfe, measured) in zip(num_steps, runs)]
    keys = ("num_steps", "nfe", "median_error", "switched", "metric")
    return {key: np.array(values) for key, values in zip(keys, zip(*rows))}


def _paired(
    name_a: str, a: Sequence[float], name_b: str, b: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Two equally long, non-empty sequences of finite numbers, as lists of floats."""
    a = [check_real(name_a, v) for v in check_sequence(name_a, a, min_length=1)]
    b = [check_real(name_b, v) for v in check_sequence(name_b, b, min_length=1)]
    if len(a) != len(b):
        raise ValueError(f"{name_b} must have as many entries as {name_a} ({len(a)}), got {len(b)}")
    return a, b


def lowest_nfe_within(
    nfe: Sequence[float], values: Sequence[float], best: float, tolerance: float = 0.03
) -> float:
    """The paper's Figure 2 marker: the lowest NFE whose value is within `tolerance` of `best`.

    `values` are "lower is better" (FID there, a distance here); NaN if none qualifies.
    `nfe` and `values` must have the same length.
    """
    nfe, values = _paired("nfe", nfe, "values", values)
    best = check_positive("best", best, allow_zero=True)
    tolerance = check_positive("tolerance", tolerance, allow_zero=True)
    ok = [n for n, v in zip(nfe, values) if v <= best * (1 + tolerance)]
    return float(min(ok)) if ok else math.nan


def nfe_to_match(nfe: Sequence[float], errors: Sequence[float], target: float) -> float:
    """NFE at which an error curve reaches `target`, interpolating log error against log NFE.

    The curve is read in order of increasing NFE; returns the first crossing,
    NaN if the curve never gets down to `target`.  NFE and errors must be > 0
    (they are read on log axes), `target` too.
    """
    nfe, errors = _paired("nfe", nfe, "errors", errors)
    target = check_positive("target", target)
    for name, values in (("nfe", nfe), ("errors", errors)):
        if min(values) <= 0:
            raise ValueError(f"{name} must be > 0: the curve is interpolated on log axes")
    order = np.argsort(nfe)
    nfe_sorted = np.asarray(nfe, dtype=float)[order]
    n, e = np.log(nfe_sorted), np.log(np.asarray(errors, dtype=float)[order])
    target = math.log(target)
    if e[0] <= target:
        return float(nfe_sorted[0])
    for k in range(1, len(n)):
        if e[k] <= target:
            w = (target - e[k - 1]) / (e[k] - e[k - 1])
            return float(math.exp(n[k - 1] + w * (n[k] - n[k - 1])))
    return math.nan
