"""The stochastic differential equations of Eq. 6, integrated with Euler–Maruyama.

Eq. 6 adds a Langevin term to the probability-flow ODE of Eq. 1:

    dx± = −σ̇(t) σ(t) ∇ log p(x; σ(t)) dt ± β(t) σ(t)² ∇ log p(x; σ(t)) dt + √(2β(t)) σ(t) dω_t.

β(t) is free: every choice has the same marginals p(x; σ(t)).  β = 0 is the
ODE; β(t) = σ̇(t)/σ(t) is the reverse of the "original" forward SDE
dx = √(2σ̇σ) dω (VE / NCSN).  With σ(t) = t we write β(t) = β̃ / t, so that the
single number `beta` (β̃) measures the Langevin strength relative to the ODE.

This is the textbook discretisation the refresher chapter uses to *show* the
SDE family; the paper's own stochastic sampler (Algorithm 2) is
`edm_sampler` with `S_churn > 0`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._net import net_output, net_round_sigma, sampling_range
from ._validation import check_real
from .samplers import _check_sampler_args, _finite_samples, _noise_source, _step_record
from .schedules import edm_sigma_steps


def sde_sampler(
    net: Callable,
    latents: torch.Tensor,
    class_labels: torch.Tensor | None = None,
    randn_like: Callable = torch.randn_like,
    num_steps: int = 256,
    sigma_min: float = 0.002,
    sigma_max: float = 80,
    rho: float = 7,
    beta: float = 1.0,
    *,
    callback: Callable[[dict], None] | None = None,
) -> torch.Tensor:
    """Integrate the backward SDE of Eq. 6 (σ(t) = t, s(t) = 1, β(t) = beta / t).

    Each step from t_i down to t_{i+1} (h = t_i − t_{i+1} > 0) is one
    Euler–Maruyama step of the backward SDE:

        x_{i+1} = x_i + (1 + β̃) h t_i ∇ log p(x_i; t_i) + √(2 β̃ h t_i) ε,  ε ~ N(0, I),

    with the score from the denoiser, ∇ log p = (D − x)/σ² (Eq. 3).  The last
    step, to t_N = 0, is the deterministic Euler step of Algorithm 1 (it lands on
    D(x; t_{N−1})), so the output carries no leftover noise.  The time steps are
    EDM's (Eq. 5), clamped to the net's [sigma_min, sigma_max] and snapped with its
    `round_sigma` as in the samplers; the loop runs in float64.  `callback`, if given, receives after every
    step the same dict as the samplers' callbacks, so `record_trajectory` works.
    `randn_like` is called once per step, except in the last (deterministic) one, and never
    with beta = 0 (the probability-flow ODE).
    """
    latents, num_steps, rho = _check_sampler_args(
        net, latents, randn_like, num_steps, rho, callback
    )
    beta = check_real("beta", beta, low=0.0, high=1e3)  # β̃ = 1 is the original SDE's strength
    sigma_min, sigma_max = sampling_range(net, sigma_min, sigma_max)
    draw = _noise_source(randn_like)
    t_steps = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho).to(latents.device)  # [N]
    t_steps = torch.cat(
        [net_round_sigma(net, t_steps, positive=True), torch.zeros_like(t_steps[:1])]
    )  # t_N = 0, [N + 1]

    x_next = latents * t_steps[0]  # x_0 ~ N(0, t_0² I)
    for i in range(num_steps):  # by index: no list of N step pairs is built
        t_cur, t_next = t_steps[i], t_steps[i + 1]
        x_cur = x_next
        denoised = net_output(net(x_cur, t_cur, class_labels), x_cur)
        if t_next == 0:
            # Last step: deterministic Euler step of the ODE, lands on D(x; t).
            x_next = denoised
        else:
            h = t_cur - t_next  # > 0: we integrate backwards in time
            score = (denoised - x_cur) / t_cur**2  # Eq. 3
            # ODE drift (σ̇σ = t) plus Langevin drift (β σ² = β̃ t), then the noise √(2β h) σ.
            x_next = x_cur + (1 + beta) * h * t_cur * score
            if beta > 0:  # β̃ = 0 is the ODE: no noise is drawn
                x_next = x_next + (2 * beta * h * t_cur).sqrt() * draw(x_cur)
        if callback is not None:  # the samplers' record, with no churn: t̂ = t, x̂ = x
            callback(_step_record(i, t_cur, t_next, t_cur, x_cur, x_cur, denoised, x_next))
    return _finite_samples(x_next)
