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
    check_integer,
    check_num_steps,
    check_positive,
    check_real,
    check_seed,
    check_sequence,
    check_tensor,
    check_unit_interval,
)
from ..samplers import Net, _checked_runs, ablation_sampler
from ..schedules import SCALINGS, SCHEDULES, schedule_betas
from .reference import _check_solve_settings, _final_step, _initial_state, solve_pf_ode

MEASURED_AT = ("output", "sigma_min")  # where nfe_sweep compares a sampler with its reference


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
    name to the (schedule, scaling) of that last step, or to None for the exact
    state x̂(σ_min) itself, before any last step (what `nfe_sweep(...,
    at="sigma_min")` compares with).  Returns name → samples.
    """
    if not isinstance(last_steps, Mapping) or not last_steps:
        raise ValueError(
            "last_steps must be a non-empty mapping name → (schedule, scaling) or None"
        )
    for name, step in last_steps.items():
        if step is None:
            continue
        if not (isinstance(step, (tuple, list)) and len(step) == 2):
            raise ValueError(
                f"last_steps[{name!r}] must be a pair (schedule, scaling), got {step!r}"
            )
        check_choice(f"last_steps[{name!r}] schedule", step[0], SCHEDULES)
        check_choice(f"last_steps[{name!r}] scaling", step[1], SCALINGS)
    rtol, _, _ = _check_solve_settings(rtol, rtol, "DOP853")
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    x_max, sigma_min, sigma_max = _initial_state(net, latents, sigma_min, sigma_max)  # [B, ...]
    steps = {name: step for name, step in last_steps.items() if step is not None}
    for schedule, _ in steps.values():  # every last step's σ(t), fitted before the solve
        schedule_betas(schedule, sigma_min, sigma_max, epsilon_s)
    x_min, _ = solve_pf_ode(net, x_max, sigma_max, sigma_min, rtol=rtol, atol=rtol)  # [B, ...]
    return {
        name: x_min
        if step is None
        else _final_step(net, x_min, sigma_min, sigma_max, step[0], step[1], epsilon_s)
        for name, step in last_steps.items()
    }


def nfe_sweep(
    net: Net,
    latents: torch.Tensor,
    num_steps: Sequence[int],
    reference: torch.Tensor,
    metric: Callable[[torch.Tensor], float] | None = None,
    sampler: Callable[..., torch.Tensor] = ablation_sampler,
    at: str = "output",
    **sampler_kwargs,
) -> dict[str, np.ndarray]:
    """Run `sampler(net, latents, num_steps=N, **sampler_kwargs)` for each N.

    `at` says which state is compared with `reference`: "output", the samples
    x_N (after the last Euler step to σ = 0), or "sigma_min", the state at the
    last nonzero noise level, x̂_{N−1} = x_{N−1}/s(t_{N−1}) (read from the
    sampler's callback), to compare with the exact x̂(σ_min) of
    `converged_references(..., {name: None})`.  The second leaves out the last
    step, which differs between σ(t), s(t) and for narrow data contracts or
    inflates the error it is given (Chapter 3.3), so it measures the ODE solve
    alone; `metric` is always applied to the output.

    Returns arrays over N: `num_steps`; `nfe` (denoiser calls, counted);
    `errors` [len(num_steps), B], each sample's RMS error against `reference`;
    `median_error`, their median over samples; `switched`, the share of samples
    whose error exceeds 10× that median (for a mixture: samples that landed on
    another component); and `metric` (NaN without one).
    """
    num_steps = [check_num_steps(N) for N in check_sequence("num_steps", num_steps, min_length=1)]
    check_callable("metric", metric, allow_none=True)
    check_choice("at", at, MEASURED_AT)
    latents = check_tensor("latents", latents)
    if len(latents) == 0:
        raise ValueError("latents must hold at least one sample: the errors are medians over them")
    reference = check_tensor("reference", reference)
    if reference.shape != latents.shape:
        raise ValueError(
            f"reference must have the shape of latents {tuple(latents.shape)}, "
            f"got {tuple(reference.shape)}"
        )

    kwargs = dict(sampler_kwargs)
    last_state: dict[str, torch.Tensor] = {}
    if at == "sigma_min":
        user_callback = check_callable("callback", kwargs.pop("callback", None), allow_none=True)

        def keep_state(step: dict) -> None:
            """Keep x̂ = x/s of the step's start: after the run, that of the last step (σ_min)."""
            last_state["x"] = step["x_cur"] / step["s_cur"]
            if user_callback is not None:
                user_callback(step)

        kwargs["callback"] = keep_state

    def measure(x: torch.Tensor) -> tuple[np.ndarray, float, float, float]:
        """(per-sample errors, their median, share switched, metric) of one run's samples."""
        compared = last_state.pop("x") if at == "sigma_min" else x
        error = per_sample_error(compared, reference)  # [B]
        median = error.median().item()
        switched = (error > 10 * median).double().mean().item()
        return error.numpy(), median, switched, metric(x) if metric is not None else math.nan

    settings = [{"num_steps": N} for N in num_steps]
    runs = _checked_runs(
        sampler, net, latents, settings, kwargs, measure=measure, reserved=("num_steps",)
    )
    rows = [(N, nfe, *measured) for N, (nfe, measured) in zip(num_steps, runs)]
    keys = ("num_steps", "nfe", "errors", "median_error", "switched", "metric")
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


def speedup(
    base: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    num_resamples: int = 200,
    band: float = 0.9,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """How many times fewer evaluations sampler `new` needs than `base` for the same error.

    `base` and `new` are `nfe_sweep` results from the same latents (so their
    per-sample `errors` [K, B] are paired).  At each of new's NFE n_k, the
    speed-up is nfe_to_match(base, median error of new at n_k) / n_k: the NFE
    the base sampler needs to reach the error that `new` reaches at n_k
    (interpolated in log–log), over n_k — the paper's speed-up (Sec. 3,
    Figure 2), error-matched rather than FID-matched.  NaN where the base curve
    never gets that low.

    The band: the speed-up recomputed on `num_resamples` bootstrap resamples of
    the samples (the same resample for both curves, drawn from `seed`), and its
    central `band` interval; it shows how much the number depends on which
    latents were drawn.  A resample whose target the base curve never reaches
    counts as an unbounded speed-up (`high` may then be inf).
    Returns `nfe` (new's), `speedup`, `low`, `high`, arrays [K].
    """
    for name, sweep in (("base", base), ("new", new)):
        if not isinstance(sweep, Mapping) or not {"nfe", "errors"} <= set(sweep):
            raise ValueError(f"{name} must be an nfe_sweep result with 'nfe' and 'errors'")
    errors_base = check_tensor("base['errors']", base["errors"], min_ndim=2, max_ndim=2)
    errors_new = check_tensor("new['errors']", new["errors"], min_ndim=2, max_ndim=2)
    if errors_base.shape[1] != errors_new.shape[1]:
        raise ValueError(
            f"new['errors'] must have as many samples as base['errors'] ({errors_base.shape[1]}): "
            f"the sweeps must come from the same latents, got {errors_new.shape[1]}"
        )
    nfe_base, _ = _paired("base['nfe']", base["nfe"], "base['errors']", errors_base[:, 0].tolist())
    nfe_new, _ = _paired("new['nfe']", new["nfe"], "new['errors']", errors_new[:, 0].tolist())
    for name, nfe in (("base['nfe']", nfe_base), ("new['nfe']", nfe_new)):
        if min(nfe) <= 0:
            raise ValueError(f"{name} must be > 0 (evaluations), got {min(nfe)}")
    num_resamples = check_integer("num_resamples", num_resamples, 0, 100_000)
    band = check_unit_interval("band", band)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))

    def ratios(index: torch.Tensor | None) -> np.ndarray:
        """The speed-up at each of new's NFE, on the samples `index` (all of them if None)."""
        eb = errors_base if index is None else errors_base[:, index]  # [Kb, B]
        en = errors_new if index is None else errors_new[:, index]  # [K, B]
        median_base = eb.median(dim=1).values.tolist()
        return np.array(
            [
                nfe_to_match(nfe_base, median_base, target) / n
                for n, target in zip(nfe_new, en.median(dim=1).values.tolist())
            ]
        )

    estimate = ratios(None)  # [K]
    num_samples = errors_base.shape[1]
    if num_resamples == 0:
        low = high = estimate.copy()
    else:
        draws = torch.randint(
            num_samples, (num_resamples, num_samples), generator=generator
        )  # [R, B]
        resampled = np.stack([ratios(index) for index in draws])  # [R, K]
        resampled[np.isnan(resampled)] = math.inf  # the base sampler never got there
        tail = (1 - band) / 2
        low, high = np.quantile(resampled, [tail, 1 - tail], axis=0, method="nearest")  # [K]
        low[np.isnan(estimate)] = high[np.isnan(estimate)] = math.nan
    return {"nfe": np.array(nfe_new), "speedup": estimate, "low": low, "high": high}
