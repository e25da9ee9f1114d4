"""The paper's samplers: Algorithm 2 (`edm_sampler`) and the general Algorithm 1 (`ablation_sampler`).

The `net` protocol (`edm_src._net`): a denoiser is any callable
`net(x, sigma, class_labels=None)` returning D(x; σ) (Eq. 2–3) with the shape of
x, with optional `sigma_min`, `sigma_max`, `round_sigma` and `dim` attributes.
The samplers run in float64; the net receives float64 x and a 0-dim float64 σ,
and its output is cast back to float64.

Cost.  The time grid and every per-step coefficient (γ_i, t̂_i, the noise
scale, and for Algorithm 1 σ(t), s(t) and their derivatives at t̂_i and at
the Heun point) depend on the settings only, never on x, so they are computed
once, as vectors, before the loop; the loop itself does only the tensor
arithmetic of the algorithm, with Python-float coefficients.  Without churn
(S_churn = 0) no noise is drawn at all.

Determinism.  Where γ_i = 0, t̂_i = t_i and x̂_i = x_i exactly (Algorithm 1:
t̂_i = σ⁻¹(σ(t_i) + γ_i σ(t_i)) is t_i in exact arithmetic, but not in floating
point for VP's σ(t)), so deterministic sampling never depends on the noise source.

Trajectories.  Both samplers take a keyword-only `callback`, called after each
step with that step's tensors; `record_trajectory` uses it to stack a whole
trajectory (for plots) and counts the network evaluations (NFE).
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ._net import (  # the net protocol; net_* are re-exported for the chapters' use
    Net,
    check_latents,
    check_net,
    check_returned,
    net_clamp_range,  # noqa: F401
    net_output,
    net_round_sigma,
    net_sigma_range,  # noqa: F401
    sampling_range,
)
from ._validation import (
    all_finite,
    check_callable,
    check_choice,
    check_forwarded,
    check_num_steps,
    check_positive,
    check_real,
)
from .schedules import (
    DISCRETIZATIONS,
    SCALINGS,
    SCHEDULES,
    _scaling_formulas,
    _schedule_formulas,
    check_discretization_knobs,
    default_sigma_range,
    edm_sigma_steps,
    get_sigma_steps,
    schedule_betas,
)

Callback = Callable[[dict[str, Any]], None]
SOLVERS = ("euler", "heun")
GAMMA_MAX = (
    math.sqrt(2) - 1
)  # Algorithm 2: γ_i ≤ √2 − 1, so t̂_i ≤ √2 t_i (churn never more than doubles the variance)


@dataclass(frozen=True)
class _Churn:
    """Algorithm 2's stochasticity settings, checked: S_churn ≥ 0, 0 ≤ S_min ≤ S_max ≤ ∞, S_noise ≥ 0."""

    S_churn: float
    S_min: float
    S_max: float
    S_noise: float

    @classmethod
    def check(cls, S_churn: Any, S_min: Any, S_max: Any, S_noise: Any) -> _Churn:
        S_churn = check_positive("S_churn", S_churn, allow_zero=True)
        S_min = check_positive("S_min", S_min, allow_zero=True)
        S_max = check_real("S_max", S_max, low=0.0, allow_inf=True)
        # S_noise inflates the added noise slightly (Table 5: 1.003–1.007); 100 is far beyond use.
        S_noise = check_real("S_noise", S_noise, low=0.0, high=100.0)
        if not S_max >= S_min:
            raise ValueError(
                f"S_max must be >= S_min (the churn window [S_min, S_max]), got S_min={S_min!r}, "
                f"S_max={S_max!r}"
            )
        return cls(S_churn, S_min, S_max, S_noise)

    def gammas(self, sigmas: list[float], num_steps: int) -> list[float]:
        """γ_i = min(S_churn/N, √2 − 1) where S_min ≤ σ(t_i) ≤ S_max, else 0 (Algorithm 2, line 4)."""
        gamma = min(self.S_churn / num_steps, GAMMA_MAX)
        return [
            gamma if self.S_churn > 0 and self.S_min <= s <= self.S_max else 0.0 for s in sigmas
        ]


def _check_sampler_args(
    net: Net,
    latents: Any,
    randn_like: Any,
    num_steps: Any,
    rho: Any,
    callback: Any,
) -> tuple[torch.Tensor, int, float]:
    """Checks shared by the samplers (all before the first network call): (latents, N, ρ)."""
    check_net(net)
    check_callable("randn_like", randn_like)
    check_callable("callback", callback, allow_none=True)
    num_steps = check_num_steps(num_steps)
    rho = check_positive("rho", rho)
    return check_latents(net, latents), num_steps, rho


def _finite_samples(x: torch.Tensor) -> torch.Tensor:
    """A sampler's output, checked once at the end: NaN or inf come from the net's outputs
    (or, in principle, from settings at the edge of float64), never silently."""
    if not all_finite(x):
        raise ValueError("net output must be finite: the samples ended with NaN or infinite values")
    return x


def _noise_source(
    randn_like: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap `randn_like` so that its draws are checked to be shaped like x (ε_i ~ N(0, I), Algorithm 2)."""

    def draw(x: torch.Tensor) -> torch.Tensor:
        return check_returned("randn_like", randn_like(x), x, finite=True)

    return draw


def _step_record(
    i: int,
    t_cur: torch.Tensor,
    t_next: torch.Tensor,
    t_hat: torch.Tensor,
    x_cur: torch.Tensor,
    x_hat: torch.Tensor,
    denoised: torch.Tensor,
    x_next: torch.Tensor,
    sigma: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
    s: Callable[[torch.Tensor], torch.Tensor] = lambda t: torch.ones_like(t),
) -> dict[str, Any]:
    """The dict every sampler passes to its `callback` after step i (σ(t) = t, s = 1 by default).

    Keys: i, t_cur, t_next, t_hat, sigma_cur/next/hat = σ(t), s_cur/next/hat = s(t),
    x_cur, x_hat, denoised (the D evaluated at x̂) and x_next.
    """
    return dict(
        i=i,
        t_cur=t_cur,
        t_next=t_next,
        t_hat=t_hat,
        sigma_cur=sigma(t_cur),
        sigma_next=sigma(t_next),
        sigma_hat=sigma(t_hat),
        s_cur=s(t_cur),
        s_next=s(t_next),
        s_hat=s(t_hat),
        x_cur=x_cur,
        x_hat=x_hat,
        denoised=denoised,
        x_next=x_next,
    )


class CountingNet:
    """Wraps a net and counts its calls, `nfe` (one call = one evaluation of the batch).

    Every other attribute (sigma_min, sigma_max, round_sigma, dim, …) is the wrapped net's.
    """

    def __init__(self, net: Net):
        self.net = check_net(net)
        self.nfe = 0

    def __call__(
        self, x: torch.Tensor, sigma: torch.Tensor, class_labels=None, **kwargs
    ) -> torch.Tensor:
        self.nfe += 1
        return self.net(x, sigma, class_labels, **kwargs)

    def __getattr__(self, name: str):
        if name == "net":  # not yet set (e.g. while unpickling): avoid recursion
            raise AttributeError(name)
        return getattr(self.net, name)


class _ArgumentsChecked(Exception):
    """Raised by the stand-in net of `check_sampler_call` when the sampler first calls it."""


class _StopAtFirstCall(CountingNet):
    """A net with the wrapped net's attributes that stops the sampler at its first evaluation."""

    def __call__(self, *args, **kwargs):
        raise _ArgumentsChecked


def check_sampler_call(
    sampler: Callable[..., torch.Tensor], net: Net, latents: torch.Tensor, **kwargs: Any
) -> None:
    """Check the arguments of `sampler(net, latents, **kwargs)` without doing any of its work.

    The sampler runs its own checks, then stops at its first network evaluation (a stand-in for
    `net`, with its attributes, takes the call); its churn noise comes from `torch.zeros_like`,
    so no random stream is consumed.  Sweeps use it to check every setting before the first run.
    """
    check_callable("sampler", sampler)
    check_forwarded("the sampler", sampler, kwargs, reserved=("net", "latents"))
    with contextlib.suppress(TypeError, ValueError):
        if "randn_like" in inspect.signature(sampler).parameters:
            kwargs = kwargs | {"randn_like": torch.zeros_like}
    with contextlib.suppress(_ArgumentsChecked):
        sampler(_StopAtFirstCall(net), latents, **kwargs)


def run_counted(
    sampler: Callable[..., torch.Tensor], net: Net, latents: torch.Tensor, **kwargs
) -> tuple[torch.Tensor, int]:
    """Run `sampler(net, latents, **kwargs)` and return (samples, NFE), the network evaluations counted."""
    check_callable("sampler", sampler)
    check_forwarded("the sampler", sampler, kwargs, reserved=("net", "latents"))
    counting = CountingNet(net)
    return sampler(counting, latents, **kwargs), counting.nfe


def _checked_runs(
    sampler: Callable[..., torch.Tensor],
    net: Net,
    latents: torch.Tensor,
    settings: list[dict[str, Any]],
    kwargs: dict[str, Any],
    *,
    measure: Callable[[torch.Tensor], Any],
    reserved: tuple[str, ...] = (),
    noise: Callable[[], Callable[[torch.Tensor], torch.Tensor]] | None = None,
) -> list[tuple[int, Any]]:
    """(NFE, measure(samples)) of `sampler(net, latents, **setting, **kwargs)` for each setting.

    The sweeps' and the NFE studies' common loop.  Every setting is checked (`check_sampler_call`)
    before the first run, so that a bad value fails at once rather than after the others have
    run.  With `noise`, each run gets `randn_like=noise()`, a fresh noise source, so that runs
    differ only in their setting.  Keywords in `reserved` are set by the caller.
    """
    check_callable("sampler", sampler)
    check_forwarded("the sampler", sampler, kwargs, reserved=("net", "latents", *reserved))
    for setting in settings:
        check_sampler_call(sampler, net, latents, **setting, **kwargs)
    runs = []
    for setting in settings:
        fresh = {} if noise is None else {"randn_like": noise()}
        samples, nfe = run_counted(sampler, net, latents, **fresh, **setting, **kwargs)
        runs.append((nfe, measure(samples)))
    return runs


# ------------------------------------------------------------ Algorithm 2
def edm_sampler(
    net: Net,
    latents: torch.Tensor,
    class_labels: torch.Tensor | None = None,
    randn_like: Callable[[torch.Tensor], torch.Tensor] = torch.randn_like,
    num_steps: int = 18,
    sigma_min: float = 0.002,
    sigma_max: float = 80,
    rho: float = 7,
    S_churn: float = 0,
    S_min: float = 0,
    S_max: float = float("inf"),
    S_noise: float = 1,
    *,
    callback: Callback | None = None,
) -> torch.Tensor:
    """EDM's stochastic sampler (Algorithm 2; Algorithm 1 with σ(t) = t, s(t) = 1 when S_churn = 0).

    Heun's 2nd-order method on the time steps of Eq. 5, with optional "churn":
    before each step the noise level is raised from t_i to t̂_i = (1 + γ_i) t_i
    by adding fresh noise, γ_i = min(S_churn/N, √2 − 1) inside [S_min, S_max].
    The last step (to t_N = 0) is Euler, so NFE = 2N − 1.

    Args:
        net: denoiser D(x; σ), see the module docstring.
        latents: x ~ N(0, I), shape [B, ...]; the initial state is latents · t_0.
        randn_like: noise source for the churn.  With S_churn > 0 it is called
            once per step, even where γ_i = 0, so that the random stream stays
            aligned with the paper's reference implementation and between the
            samplers; with S_churn = 0 it is never called (no noise is used).
        callback: called after each step with a dict of that step's tensors
            (i, t_cur, t_next, t_hat, sigma_*, s_*, x_cur, x_hat, denoised, x_next).

    Returns:
        x_N, float64, shape of latents.
    """
    latents, num_steps, rho = _check_sampler_args(
        net, latents, randn_like, num_steps, rho, callback
    )
    churn = _Churn.check(S_churn, S_min, S_max, S_noise)
    sigma_min, sigma_max = sampling_range(net, sigma_min, sigma_max)
    draw = _noise_source(randn_like)

    # Time steps (Eq. 5), snapped to the net's levels, then t_N = 0.
    t_steps = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho).to(latents.device)  # [N]
    t_steps = torch.cat(
        [net_round_sigma(net, t_steps, positive=True), torch.zeros_like(t_steps[:1])]
    )  # [N + 1]
    t = t_steps.tolist()  # Python floats for the arithmetic
    t_tensor = t_steps.unbind()  # 0-dim tensors for the net and the callback

    # Churn, per step: γ_i, t̂_i = t_i + γ_i t_i (snapped) and the noise scale √(t̂_i² − t_i²) S_noise.
    gammas = churn.gammas(t[:-1], num_steps)
    churned = [i for i, gamma in enumerate(gammas) if gamma > 0]
    t_hat_tensor = list(t_tensor[:-1])
    if churned:
        index = torch.tensor(churned, device=t_steps.device)
        gamma = torch.tensor(
            [gammas[i] for i in churned], dtype=torch.float64, device=t_steps.device
        )
        t_churned = t_steps[index]
        for i, t_hat_i in zip(
            churned, net_round_sigma(net, t_churned + gamma * t_churned).unbind()
        ):
            t_hat_tensor[i] = t_hat_i
    t_hat = [float(v) if gammas[i] > 0 else t[i] for i, v in enumerate(t_hat_tensor)]
    noise_scale = [
        math.sqrt(max(th * th - tc * tc, 0.0)) * churn.S_noise for th, tc in zip(t_hat, t)
    ]

    # Sample x_0 ~ N(0, t_0² I).
    x_next = latents * t[0]  # [B, ...]
    for i in range(num_steps):
        x_cur = x_next  # [B, ...]
        t_next = t[i + 1]

        # Increase noise temporarily: x̂_i = x_i + √(t̂_i² − t_i²) ε_i (x̂_i = x_i exactly where γ_i = 0).
        noise = draw(x_cur) if churn.S_churn > 0 else None  # [B, ...], once per step
        x_hat = x_cur + noise_scale[i] * noise if gammas[i] > 0 else x_cur  # [B, ...]

        # Euler step: d_i = (x̂_i − D(x̂_i; t̂_i))/t̂_i, x_{i+1} = x̂_i + (t_{i+1} − t̂_i) d_i.
        denoised = net_output(net(x_hat, t_hat_tensor[i], class_labels), x_hat)  # [B, ...]
        d_cur = (x_hat - denoised) / t_hat[i]  # [B, ...]
        x_next = x_hat + (t_next - t_hat[i]) * d_cur

        # Apply 2nd order correction if t_{i+1} ≠ 0: x_{i+1} = x̂_i + (t_{i+1} − t̂_i)(½d_i + ½d′_i).
        if i < num_steps - 1:
            denoised_prime = net_output(net(x_next, t_tensor[i + 1], class_labels), x_next)
            d_prime = (x_next - denoised_prime) / t_next  # [B, ...]
            x_next = x_hat + (t_next - t_hat[i]) * (0.5 * d_cur + 0.5 * d_prime)

        if callback is not None:
            callback(
                _step_record(
                    i, t_tensor[i], t_tensor[i + 1], t_hat_tensor[i], x_cur, x_hat, denoised, x_next
                )
            )
    return _finite_samples(x_next)


# ------------------------------------------------------------ Algorithm 1
def ablation_sampler(
    net: Net,
    latents: torch.Tensor,
    class_labels: torch.Tensor | None = None,
    randn_like: Callable[[torch.Tensor], torch.Tensor] = torch.randn_like,
    num_steps: int = 18,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    rho: float = 7,
    solver: str = "heun",
    discretization: str = "edm",
    schedule: str = "linear",
    scaling: str = "none",
    epsilon_s: float = 1e-3,
    C_1: float = 0.001,
    C_2: float = 0.008,
    M: int = 1000,
    alpha: float = 1,
    S_churn: float = 0,
    S_min: float = 0,
    S_max: float = float("inf"),
    S_noise: float = 1,
    *,
    callback: Callback | None = None,
) -> torch.Tensor:
    """The general deterministic sampler (Algorithm 1) with Algorithm 2's churn, for Table 1's ablations.

    Solves the ODE of Eq. 4, dx/dt = (σ̇/σ + ṡ/s) x − (σ̇ s/σ) D(x/s; σ), with
    any combination of
      * solver ∈ {'euler', 'heun'} (Heun with the general 2nd-order weights
        x′ = x̂ + αh d, x_{i+1} = x̂ + h[(1 − 1/(2α)) d + 1/(2α) d′], 0 < α ≤ 1;
        α = 1 is Heun, α = ½ the midpoint method; α > 1 would evaluate the net
        beyond t_{i+1}, at negative times in the last step);
      * discretization ∈ {'vp', 've', 'iddpm', 'edm'} — the σ-levels σ_i, mapped
        to times t_i = σ⁻¹(σ_i);
      * schedule ∈ {'vp', 've', 'linear'} — σ(t); scaling ∈ {'vp', 'none'} — s(t).
    The default σ range is the discretization's (`default_sigma_range`); VP's
    β_d, β_min are re-derived so that σ(ε_s) = sigma_min and σ(1) = sigma_max.
    The last step (to t_N = 0) is always Euler, so Heun makes 2N − 1 calls and Euler N.

    Churn generalises Algorithm 2: γ_i is tested on σ(t_i) against
    [S_min, S_max], t̂ = σ⁻¹(σ(t_i)(1 + γ_i)) and
    x̂ = s(t̂)/s(t_i) x_i + √(σ(t̂)² − σ(t_i)²) s(t̂) S_noise ε_i; where γ_i = 0,
    t̂_i = t_i and x̂_i = x_i exactly.  `randn_like` is called as in `edm_sampler`.

    Returns x_N (in the scaled space x = s x̂; s(0) = 1 for all scalings), float64.
    """
    latents, num_steps, rho = _check_sampler_args(
        net, latents, randn_like, num_steps, rho, callback
    )
    churn = _Churn.check(S_churn, S_min, S_max, S_noise)
    check_choice("solver", solver, SOLVERS)
    check_choice("discretization", discretization, DISCRETIZATIONS)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("scaling", scaling, SCALINGS)
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True)
    _, epsilon_s, C_1, C_2, M = check_discretization_knobs(rho, epsilon_s, C_1, C_2, M)
    default_min, default_max = default_sigma_range(discretization, epsilon_s)
    sigma_min = default_min if sigma_min is None else sigma_min
    sigma_max = default_max if sigma_max is None else sigma_max
    sigma_min, sigma_max = sampling_range(net, sigma_min, sigma_max)
    draw = _noise_source(randn_like)

    # σ(t), s(t) and their derivatives (Table 1); VP's β's fitted to the range.
    vp_beta_d, vp_beta_min = schedule_betas(schedule, sigma_min, sigma_max, epsilon_s)
    sigma, sigma_deriv, sigma_inv = _schedule_formulas(schedule, vp_beta_d, vp_beta_min)
    s, s_deriv = _scaling_formulas(scaling, sigma, sigma_deriv)

    # Time steps: σ_i from the discretization, snapped, mapped to t_i = σ⁻¹(σ_i); then t_N = 0.
    sigma_steps = get_sigma_steps(
        discretization,
        num_steps,
        sigma_min,
        sigma_max,
        rho=rho,
        epsilon_s=epsilon_s,
        C_1=C_1,
        C_2=C_2,
        M=M,
    )  # [N]
    t_steps = sigma_inv(net_round_sigma(net, sigma_steps.to(latents.device), positive=True))  # [N]
    t_steps = torch.cat([t_steps, torch.zeros_like(t_steps[:1])])  # [N + 1]
    t_cur = t_steps[:-1]  # [N]
    sigma_cur = sigma(t_cur)  # [N]

    # Churn: γ_i from σ(t_i); t̂_i = σ⁻¹(σ(t_i) + γ_i σ(t_i)) where γ_i > 0, t̂_i = t_i elsewhere.
    gammas = churn.gammas(sigma_cur.tolist(), num_steps)
    t_hat, sigma_hat = t_cur, sigma_cur  # [N]; exactly t_i and σ(t_i) without churn
    noise_std, s_ratio = [0.0] * num_steps, [1.0] * num_steps
    if any(gamma > 0 for gamma in gammas):
        gamma = torch.tensor(gammas, dtype=torch.float64, device=t_steps.device)  # [N]
        churned = gamma > 0  # [N]
        raised = sigma_cur[churned] + gamma[churned] * sigma_cur[churned]
        t_hat = t_cur.clone()
        t_hat[churned] = sigma_inv(net_round_sigma(net, raised, positive=True))
        sigma_hat, s_hat = sigma(t_hat), s(t_hat)  # [N]
        noise_std = (
            (sigma_hat**2 - sigma_cur**2).clamp(min=0).sqrt() * s_hat * churn.S_noise
        ).tolist()
        s_ratio = (s_hat / s(t_cur)).tolist()  # s(t̂_i)/s(t_i)

    # Step sizes h_i = t_{i+1} − t̂_i, and the Heun points t′_i = t̂_i + α h_i (before the last step).
    t_next = t_steps[1:]  # [N]
    h = t_next - t_hat  # [N]
    heun_steps = num_steps - 1 if solver == "heun" else 0
    t_prime = t_hat[:heun_steps] + alpha * h[:heun_steps]  # [N − 1], or empty for Euler

    # Eq. 4 at every time the net is evaluated, t̂_i and t′_i, in one pass:
    # dx/dt = a x − b D(x/s; σ) with a = σ̇/σ + ṡ/s and b = σ̇ s/σ.
    t_eval = torch.cat([t_hat, t_prime])  # [N + N − 1]
    sigma_eval, sigma_deriv_eval, s_eval = sigma(t_eval), sigma_deriv(t_eval), s(t_eval)
    a = (sigma_deriv_eval / sigma_eval + s_deriv(t_eval) / s_eval).tolist()
    b = (sigma_deriv_eval * s_eval / sigma_eval).tolist()
    s_list = s_eval.tolist()
    a_hat, b_hat, s_hat_list = a[:num_steps], b[:num_steps], s_list[:num_steps]
    a_prime, b_prime, s_prime = a[num_steps:], b[num_steps:], s_list[num_steps:]
    sigma_hat_tensor = sigma_eval[:num_steps].unbind()  # 0-dim σ(t̂_i) for the net
    sigma_prime_tensor = sigma_eval[num_steps:].unbind()  # 0-dim σ(t′_i) for the net
    h_list = h.tolist()
    weight_cur, weight_prime = 1 - 1 / (2 * alpha), 1 / (2 * alpha)

    # Sample x_0 ~ N(0, σ(t_0)² s(t_0)² I).
    x_next = latents * float(sigma(t_steps[0]) * s(t_steps[0]))  # [B, ...]
    for i in range(num_steps):
        x_cur = x_next  # [B, ...]

        # Increase noise temporarily: x̂_i = s(t̂_i)/s(t_i) x_i + √(σ(t̂_i)² − σ(t_i)²) s(t̂_i) S_noise ε_i.
        noise = draw(x_cur) if churn.S_churn > 0 else None  # [B, ...], once per step
        x_hat = s_ratio[i] * x_cur + noise_std[i] * noise if gammas[i] > 0 else x_cur

        # Euler step: d_i = dx/dt at (x̂_i, t̂_i) (Eq. 4: a x − b D(x/s; σ), a = σ̇/σ + ṡ/s,
        # b = σ̇ s/σ), x_{i+1} = x̂_i + h d_i, h = t_{i+1} − t̂_i.  (Inline: this is the hot loop.)
        x_in = x_hat if s_hat_list[i] == 1.0 else x_hat / s_hat_list[i]  # x/s(t)
        denoised = net_output(net(x_in, sigma_hat_tensor[i], class_labels), x_in)  # [B, ...]
        d_cur = a_hat[i] * x_hat - b_hat[i] * denoised
        x_next = x_hat + h_list[i] * d_cur

        # Apply 2nd order correction (unless Euler or the last step, to σ = 0).
        if i < heun_steps:
            # x′ = x̂ + αh d (for α = 1, the Euler step just taken: αh = h exactly), d′ = dx/dt there.
            x_prime = x_next if alpha == 1 else x_hat + alpha * h_list[i] * d_cur  # [B, ...]
            x_in = x_prime if s_prime[i] == 1.0 else x_prime / s_prime[i]
            denoised_prime = net_output(net(x_in, sigma_prime_tensor[i], class_labels), x_in)
            d_prime = a_prime[i] * x_prime - b_prime[i] * denoised_prime
            x_next = x_hat + h_list[i] * (weight_cur * d_cur + weight_prime * d_prime)

        if callback is not None:
            callback(
                _step_record(
                    i,
                    t_steps[i],
                    t_steps[i + 1],
                    t_hat[i],
                    x_cur,
                    x_hat,
                    denoised,
                    x_next,
                    sigma,
                    s,
                )
            )
    return _finite_samples(x_next)


# ------------------------------------------------------------- trajectories
@dataclass
class Trajectory:
    """One sampler run, stacked over steps (N = num_steps; x is in the sampler's scaled space).

    t, sigma, s: [N + 1] — t_0 … t_N (t_N = 0), σ(t_i), s(t_i).
    x: [N + 1, B, ...] — x_0 = latents · σ(t_0) s(t_0), …, x_N = the sampler's output.
    t_hat, sigma_hat: [N] — the churned times t̂_i and σ(t̂_i) (= t_i, σ(t_i) without churn).
    x_hat: [N, B, ...] — the churned states x̂_i.
    denoised: [N, B, ...] — D(x̂_i/s(t̂_i); σ(t̂_i)), the net's estimate of the clean data.
    nfe: number of network evaluations.
    """

    t: torch.Tensor
    sigma: torch.Tensor
    s: torch.Tensor
    x: torch.Tensor
    t_hat: torch.Tensor
    sigma_hat: torch.Tensor
    x_hat: torch.Tensor
    denoised: torch.Tensor
    nfe: int


def record_trajectory(
    sampler: Callable[..., torch.Tensor], net: Net, latents: torch.Tensor, **kwargs: Any
) -> Trajectory:
    """Run `sampler(net, latents, **kwargs)` and return its whole trajectory and NFE.

    Uses the sampler's `callback` (a `callback` in kwargs is still called) and
    wraps the net in `CountingNet`; the sampler itself is not duplicated.
    """
    check_callable("sampler", sampler)
    user_callback = check_callable("callback", kwargs.pop("callback", None), allow_none=True)
    check_forwarded("the sampler", sampler, kwargs, reserved=("net", "latents"))
    check_forwarded("the sampler", sampler, {"callback": None})  # it must take a callback
    steps: list[dict[str, Any]] = []

    def record(step: dict[str, Any]) -> None:
        steps.append(
            {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in step.items()}
        )
        if user_callback is not None:
            user_callback(step)

    counting = CountingNet(net)
    sampler(counting, latents, callback=record, **kwargs)
    if not steps:
        raise ValueError("sampler must call its callback after every step; it never did")

    def stack(key: str) -> torch.Tensor:
        return torch.stack([step[key] for step in steps])

    def with_last(key: str, last: str) -> torch.Tensor:
        return torch.cat([stack(key), steps[-1][last][None]])

    return Trajectory(
        t=with_last("t_cur", "t_next"),  # [N + 1]
        sigma=with_last("sigma_cur", "sigma_next"),  # [N + 1]
        s=with_last("s_cur", "s_next"),  # [N + 1]
        x=with_last("x_cur", "x_next"),  # [N + 1, B, ...]
        t_hat=stack("t_hat"),  # [N]
        sigma_hat=stack("sigma_hat"),  # [N]
        x_hat=stack("x_hat"),  # [N, B, ...]
        denoised=stack("denoised"),  # [N, B, ...]
        nfe=counting.nfe,
    )
