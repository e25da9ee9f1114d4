"""The paper's samplers: Algorithm 2 (`edm_sampler`) and the general Algorithm 1 (`ablation_sampler`).

The `net` protocol.  A denoiser is any callable `net(x, sigma, class_labels=None)`
returning D(x; σ) (Eq. 2–3) with the shape of x.  Optional attributes are
honoured, with defaults when absent:
  * `net.sigma_min`, `net.sigma_max` — the σ range it supports (0, ∞); the
    sampling range is clamped to it;
  * `net.round_sigma(sigma)` — snaps σ to a level the network knows (identity),
    e.g. the discrete levels u_j of an iDDPM network.
The samplers run in float64; the net receives float64 x and a 0-dim float64 σ,
and its output is cast back to float64.

Trajectories.  Both samplers take a keyword-only `callback`, called after each
step with that step's tensors; `record_trajectory` uses it to stack a whole
trajectory (for plots) and counts the network evaluations (NFE).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ._validation import (
    check_choice,
    check_finite,
    check_num_steps,
    check_positive,
    check_sampling_range,
)
from .schedules import (
    DISCRETIZATIONS,
    SCALINGS,
    SCHEDULES,
    default_sigma_range,
    edm_sigma_steps,
    get_scaling,
    get_schedule,
    get_sigma_steps,
    vp_beta_from_sigma_range,
)

Net = Callable[..., torch.Tensor]
Callback = Callable[[dict[str, Any]], None]
SOLVERS = ("euler", "heun")


# ------------------------------------------------------------- net protocol
def net_sigma_range(net: Net) -> tuple[float, float]:
    """(net.sigma_min, net.sigma_max), defaulting to (0, ∞) when the net does not say."""
    return float(getattr(net, "sigma_min", 0.0)), float(getattr(net, "sigma_max", math.inf))


def net_round_sigma(net: Net, sigma: torch.Tensor) -> torch.Tensor:
    """net.round_sigma(sigma) as a float64 tensor on sigma's device (identity when absent)."""
    round_sigma = getattr(net, "round_sigma", None)
    if round_sigma is None:
        return sigma
    return torch.as_tensor(round_sigma(sigma)).to(device=sigma.device, dtype=torch.float64)


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


def _check_common(
    latents: torch.Tensor,
    num_steps: int,
    rho: float,
    S_churn: float,
    S_min: float,
    S_max: float,
    S_noise: float,
) -> None:
    """Checks shared by both samplers (all before the first network call)."""
    check_num_steps(num_steps)
    check_positive("rho", rho)
    check_positive("S_churn", S_churn, allow_zero=True)
    check_positive("S_noise", S_noise, allow_zero=True)
    check_positive("S_min", S_min, allow_zero=True)
    if not S_max >= S_min:  # also catches NaN
        raise ValueError(
            f"S_max must be >= S_min (the churn window [S_min, S_max]), got S_min={S_min!r}, S_max={S_max!r}"
        )
    check_finite("latents", latents)


def step_record(
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

    Every other attribute (sigma_min, sigma_max, round_sigma, …) is the wrapped net's.
    """

    def __init__(self, net: Net):
        self.net = net
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


def run_counted(
    sampler: Callable[..., torch.Tensor], net: Net, latents: torch.Tensor, **kwargs
) -> tuple[torch.Tensor, int]:
    """Run `sampler(net, latents, **kwargs)` and return (samples, NFE), the network evaluations counted."""
    counting = CountingNet(net)
    return sampler(counting, latents, **kwargs), counting.nfe


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
        randn_like: noise source for the churn, called once per step even when
            γ_i = 0 so that different samplers consume the same random stream.
        callback: called after each step with a dict of that step's tensors
            (i, t_cur, t_next, t_hat, sigma_*, s_*, x_cur, x_hat, denoised, x_next).

    Returns:
        x_N, float64, shape of latents.
    """
    _check_common(latents, num_steps, rho, S_churn, S_min, S_max, S_noise)
    check_sampling_range(sigma_min, sigma_max)
    sigma_min, sigma_max = net_clamp_range(net, sigma_min, sigma_max)

    # Time steps (Eq. 5), snapped to the net's levels, then t_N = 0.
    t_steps = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho).to(latents.device)  # [N]
    t_steps = torch.cat([net_round_sigma(net, t_steps), torch.zeros_like(t_steps[:1])])  # [N + 1]

    # Sample x_0 ~ N(0, t_0² I).
    x_next = latents.to(torch.float64) * t_steps[0]  # [B, ...]
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_cur = x_next  # [B, ...]

        # Increase noise temporarily: γ_i, t̂_i = t_i + γ_i t_i, x̂_i = x_i + √(t̂_i² − t_i²) ε_i.
        gamma = min(S_churn / num_steps, math.sqrt(2) - 1) if S_min <= t_cur <= S_max else 0
        t_hat = net_round_sigma(net, t_cur + gamma * t_cur)
        x_hat = x_cur + (t_hat**2 - t_cur**2).clamp(min=0).sqrt() * S_noise * randn_like(
            x_cur
        )  # [B, ...]

        # Euler step: d_i = (x̂_i − D(x̂_i; t̂_i))/t̂_i, x_{i+1} = x̂_i + (t_{i+1} − t̂_i) d_i.
        denoised = net(x_hat, t_hat, class_labels).to(torch.float64)  # [B, ...]
        d_cur = (x_hat - denoised) / t_hat  # [B, ...]
        x_next = x_hat + (t_next - t_hat) * d_cur

        # Apply 2nd order correction if t_{i+1} ≠ 0: x_{i+1} = x̂_i + (t_{i+1} − t̂_i)(½d_i + ½d′_i).
        if i < num_steps - 1:
            denoised_prime = net(x_next, t_next, class_labels).to(torch.float64)  # [B, ...]
            d_prime = (x_next - denoised_prime) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)

        if callback is not None:
            callback(step_record(i, t_cur, t_next, t_hat, x_cur, x_hat, denoised, x_next))
    return x_next


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
        x′ = x̂ + αh d, x_{i+1} = x̂ + h[(1 − 1/(2α)) d + 1/(2α) d′]; α = 1 is Heun,
        α = ½ the midpoint method);
      * discretization ∈ {'vp', 've', 'iddpm', 'edm'} — the σ-levels σ_i, mapped
        to times t_i = σ⁻¹(σ_i);
      * schedule ∈ {'vp', 've', 'linear'} — σ(t); scaling ∈ {'vp', 'none'} — s(t).
    The default σ range is the discretization's (`default_sigma_range`); VP's
    β_d, β_min are re-derived so that σ(ε_s) = sigma_min and σ(1) = sigma_max.
    The last step (to t_N = 0) is always Euler, so Heun makes 2N − 1 calls and Euler N.

    Churn generalises Algorithm 2: γ_i is tested on σ(t_i) against
    [S_min, S_max], t̂ = σ⁻¹(σ(t_i)(1 + γ_i)) and
    x̂ = s(t̂)/s(t_i) x_i + √(σ(t̂)² − σ(t_i)²) s(t̂) S_noise ε_i.

    Returns x_N (in the scaled space x = s x̂; s(0) = 1 for all scalings), float64.
    """
    _check_common(latents, num_steps, rho, S_churn, S_min, S_max, S_noise)
    check_choice("solver", solver, SOLVERS)
    check_choice("discretization", discretization, DISCRETIZATIONS)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("scaling", scaling, SCALINGS)
    check_positive("alpha", alpha)
    default_min, default_max = default_sigma_range(discretization, epsilon_s)
    sigma_min = default_min if sigma_min is None else sigma_min
    sigma_max = default_max if sigma_max is None else sigma_max
    check_sampling_range(sigma_min, sigma_max)
    sigma_min, sigma_max = net_clamp_range(net, sigma_min, sigma_max)

    # σ(t), s(t) and their derivatives (Table 1); VP's β's fitted to the range.
    vp_beta_d, vp_beta_min = vp_beta_from_sigma_range(sigma_min, sigma_max, epsilon_s)
    sigma, sigma_deriv, sigma_inv = get_schedule(schedule, beta_d=vp_beta_d, beta_min=vp_beta_min)
    s, s_deriv = get_scaling(scaling, sigma, sigma_deriv)

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
    t_steps = sigma_inv(net_round_sigma(net, sigma_steps.to(latents.device)))  # [N]
    t_steps = torch.cat([t_steps, torch.zeros_like(t_steps[:1])])  # [N + 1]

    def d(x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """dx/dt = (σ̇/σ + ṡ/s) x − (σ̇ s/σ) D(x/s; σ) (Eq. 4 with Eq. 3), and that D."""
        denoised = net(x / s(t), sigma(t), class_labels).to(torch.float64)  # [B, ...]
        d_x = (sigma_deriv(t) / sigma(t) + s_deriv(t) / s(t)) * x - sigma_deriv(t) * s(t) / sigma(
            t
        ) * denoised
        return d_x, denoised

    # Sample x_0 ~ N(0, σ(t_0)² s(t_0)² I).
    x_next = latents.to(torch.float64) * (sigma(t_steps[0]) * s(t_steps[0]))  # [B, ...]
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_cur = x_next  # [B, ...]

        # Increase noise temporarily: γ_i from σ(t_i), t̂_i = σ⁻¹(σ(t_i) + γ_i σ(t_i)).
        gamma = min(S_churn / num_steps, math.sqrt(2) - 1) if S_min <= sigma(t_cur) <= S_max else 0
        t_hat = sigma_inv(net_round_sigma(net, sigma(t_cur) + gamma * sigma(t_cur)))
        noise_std = (sigma(t_hat) ** 2 - sigma(t_cur) ** 2).clamp(min=0).sqrt() * s(t_hat) * S_noise
        x_hat = s(t_hat) / s(t_cur) * x_cur + noise_std * randn_like(x_cur)  # [B, ...]

        # Euler step: x_{i+1} = x̂_i + h d_i, h = t_{i+1} − t̂_i.
        h = t_next - t_hat
        d_cur, denoised = d(x_hat, t_hat)  # [B, ...]
        x_next = x_hat + h * d_cur

        # Apply 2nd order correction (unless Euler or the last step, to σ = 0).
        if solver == "heun" and i < num_steps - 1:
            t_prime = t_hat + alpha * h
            x_prime = x_hat + alpha * h * d_cur  # [B, ...]
            d_prime, _ = d(x_prime, t_prime)
            x_next = x_hat + h * ((1 - 1 / (2 * alpha)) * d_cur + 1 / (2 * alpha) * d_prime)

        if callback is not None:
            callback(step_record(i, t_cur, t_next, t_hat, x_cur, x_hat, denoised, x_next, sigma, s))
    return x_next


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
    steps: list[dict[str, Any]] = []
    user_callback = kwargs.pop("callback", None)

    def record(step: dict[str, Any]) -> None:
        steps.append(
            {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in step.items()}
        )
        if user_callback is not None:
            user_callback(step)

    counting = CountingNet(net)
    sampler(counting, latents, callback=record, **kwargs)

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
