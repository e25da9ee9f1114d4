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

from .reference import final_step, solve_pf_ode
from .samplers import Net, ablation_sampler, net_clamp_range, run_counted


def per_sample_error(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """RMS error of each sample against its reference, shape [B] (float64).

    Its median over the batch is robust to the few samples that a coarse
    sampler sends to a different mixture component, which dominate a plain RMS.
    """
    diff = torch.as_tensor(x, dtype=torch.float64) - torch.as_tensor(reference, dtype=torch.float64)
    return diff.reshape(len(diff), -1).pow(2).mean(dim=1).sqrt()  # [B]


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
    sigma_min, sigma_max = net_clamp_range(net, sigma_min, sigma_max)
    x_max = torch.as_tensor(latents, dtype=torch.float64) * sigma_max  # [B, ...]
    x_min, _ = solve_pf_ode(net, x_max, sigma_max, sigma_min, rtol=rtol, atol=rtol)  # [B, ...]
    return {
        name: final_step(net, x_min, sigma_min, sigma_max, schedule, scaling, epsilon_s)
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
    rows = []
    for N in num_steps:
        x, nfe = run_counted(sampler, net, latents, num_steps=N, **sampler_kwargs)
        error = per_sample_error(x, reference)  # [B]
        median = error.median().item()
        rows.append(
            (
                N,
                nfe,
                median,
                (error > 10 * median).double().mean().item(),
                metric(x) if metric is not None else math.nan,
            )
        )
    keys = ("num_steps", "nfe", "median_error", "switched", "metric")
    return {key: np.array(values) for key, values in zip(keys, zip(*rows))}


def lowest_nfe_within(
    nfe: Sequence[float], values: Sequence[float], best: float, tolerance: float = 0.03
) -> float:
    """The paper's Figure 2 marker: the lowest NFE whose value is within `tolerance` of `best`.

    `values` are "lower is better" (FID there, a distance here); NaN if none qualifies.
    """
    ok = [n for n, v in zip(nfe, values) if v <= best * (1 + tolerance)]
    return float(min(ok)) if ok else math.nan


def nfe_to_match(nfe: Sequence[float], errors: Sequence[float], target: float) -> float:
    """NFE at which an error curve reaches `target`, interpolating log error against log NFE.

    The curve is read in order of increasing NFE; returns the first crossing,
    NaN if the curve never gets down to `target`.
    """
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
