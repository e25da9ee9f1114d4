"""Converged solutions of the probability-flow ODE, the black-box RK45 baseline, and local truncation error.

With an exact denoiser (`GaussianMixture`, `EmpiricalDenoiser`) the only error
a deterministic sampler makes is its truncation error.  To measure it we need
the ODE's exact solution, which we get by solving the same ODE with a
high-order adaptive solver at tight tolerances (scipy's DOP853).

The ODE.  With σ(t) = t and s(t) = 1, Eq. 1 with Eq. 3 reads
dx/dσ = (x − D(x; σ))/σ.  We integrate it in u = ln σ,

    dx/du = x − D(x; σ = e^u),

whose right-hand side stays bounded as σ → 0 (the 1/σ is absorbed) and whose
range [ln σ_min, ln σ_max] is short (≈ 10.6 for EDM's 0.002…80).

One reference for every σ(t), s(t).  Eq. 4 describes the same trajectories
x̂(σ) = x/s for any schedule σ(t) and scaling s(t): only their time
parameterisation differs.  So all samplers started from x̂(σ_max) = latents·σ_max
and run down to σ_min meet the same exact state x̂(σ_min), which
`solve_pf_ode` computes once.  What differs between samplers is their own last
step, an Euler step from t_{N−1} = σ⁻¹(σ_min) to t_N = 0 (Algorithm 1), which
`reference_samples` reproduces exactly for the chosen `schedule` and `scaling`:
with σ(t) = t it lands on D(x̂(σ_min); σ_min); with σ(t) = √t (VE, and VP near
t = 0) it lands about halfway, on ≈ (x̂ + D)/2.  The remaining difference between
a sampler and its reference is then truncation error only, and vanishes as N → ∞.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.integrate
import torch

from .._net import Net, check_latents, check_net, net_output, sampling_range
from .._validation import (
    check_choice,
    check_epsilon,
    check_keywords,
    check_positive,
    check_real,
    check_tensor,
)
from ..samplers import SOLVERS
from ..schedules import SCALINGS, SCHEDULES, get_scaling, get_schedule, schedule_betas

#: scipy's explicit adaptive solvers.  The implicit ones (Radau, BDF, LSODA) would build a dense
#: [B·D, B·D] Jacobian by finite differences: useless for this non-stiff ODE, and huge.
SOLVE_IVP_METHODS = ("DOP853", "RK45", "RK23")

#: The most denoiser evaluations one adaptive solve may take.  A converged EDM-range solve
#: takes a few hundred to a few thousand; a net that is not deterministic (dropout, noise)
#: makes the solver shrink its steps without end.
MAX_SOLVER_NFE = 100_000
SOLVE_KEYWORDS = ("rtol", "atol", "method")


def _check_tolerance(name: str, value: float) -> float:
    """An adaptive solve's tolerance: finite, > 0 and at most 1."""
    return check_real(name, value, low=0.0, high=1.0, low_open=True)


def _check_solve_settings(rtol: float, atol: float, method: str) -> tuple[float, float, str]:
    """An adaptive solve's tolerances (finite, > 0, at most 1) and scipy method name."""
    rtol, atol = _check_tolerance("rtol", rtol), _check_tolerance("atol", atol)
    return rtol, atol, check_choice("method", method, SOLVE_IVP_METHODS)


def _integrate(
    net: Net,
    x: torch.Tensor,
    sigma_start: float,
    sigma_end: float,
    rtol: float,
    atol: float,
    method: str,
    log_sigma: bool,
) -> tuple[torch.Tensor, int]:
    """Integrate the PF-ODE for the whole batch as one flat vector; returns (x_end float64, nfe).

    In ln σ: dx/du = x − D(x; e^u); in σ: dx/dσ = (x − D(x; σ))/σ.  One
    denoiser call on the batch counts as one evaluation.  A non-finite output of
    the net stops the solve at once with a `ValueError` (an adaptive solver
    would otherwise shrink its step for ever).
    """
    check_net(net)
    rtol, atol, method = _check_solve_settings(rtol, atol, method)
    sigma_start = check_positive("sigma_start", sigma_start)
    sigma_end = check_positive("sigma_end", sigma_end)
    x = check_latents(net, x, "x").detach()  # [B, ...], float64
    if sigma_start == sigma_end or x.numel() == 0:
        return x.clone(), 0
    shape, device = x.shape, x.device
    nfe = 0

    def rhs(u: float, y: np.ndarray) -> np.ndarray:
        nonlocal nfe
        nfe += 1
        if nfe > MAX_SOLVER_NFE:
            raise ValueError(
                f"net must be a deterministic, smooth denoiser: the {method} solve of the PF-ODE "
                f"took more than {MAX_SOLVER_NFE} evaluations without converging"
            )
        sigma = math.exp(u) if log_sigma else u
        x_u = torch.from_numpy(y).reshape(shape).to(device)  # [B, ...]
        sigma_u = torch.tensor(sigma, dtype=torch.float64, device=device)
        with torch.no_grad():
            denoised = net_output(net(x_u, sigma_u), x_u, finite=True).detach()  # [B, ...]
        dx = x_u - denoised if log_sigma else (x_u - denoised) / sigma  # [B, ...]
        return dx.reshape(-1).cpu().numpy()

    u0, u1 = (math.log(sigma_start), math.log(sigma_end)) if log_sigma else (sigma_start, sigma_end)
    y0 = x.reshape(-1).cpu().numpy().copy()  # scipy must not share the caller's memory
    # Step the solver directly (as solve_ivp does) but keep only the current state, not every step's.
    solver = getattr(scipy.integrate, method)(rhs, u0, y0, u1, rtol=rtol, atol=atol)
    while solver.status == "running":
        message = solver.step()
    if solver.status == "failed":
        raise RuntimeError(f"the {method} solve of the PF-ODE failed: {message}")
    x_end = torch.from_numpy(solver.y.copy()).reshape(shape).to(device)  # [B, ...]
    return x_end, nfe


def solve_pf_ode(
    net: Net,
    x: torch.Tensor,
    sigma_start: float,
    sigma_end: float,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    method: str = "DOP853",
) -> tuple[torch.Tensor, int]:
    """Solve the probability-flow ODE (Eq. 1 with Eq. 3, σ(t) = t, s = 1) from σ_start to σ_end.

    Integrates dx/d ln σ = x − D(x; σ) with scipy's adaptive solver `method` in
    float64, the whole batch [B, ...] at once.  Both σ's must be > 0 (σ = 0 is
    reached by the samplers' final Euler step, see `reference_samples`);
    σ_end > σ_start integrates forwards (data → noise), which the ODE allows too.

    Returns:
        (x(σ_end) float64 with x's shape, nfe = number of batched denoiser calls).
    """
    return _integrate(net, x, sigma_start, sigma_end, rtol, atol, method, log_sigma=True)


def _final_step(
    net: Net,
    x_hat: torch.Tensor,
    sigma_min: float,
    sigma_max: float,
    schedule: str,
    scaling: str,
    epsilon_s: float,
) -> torch.Tensor:
    """Algorithm 1's last (Euler) step from t = σ⁻¹(σ_min) to 0, applied to the exact x̂(σ_min).

    `schedule`/`scaling` pick the sampler whose last step this is (VP's β's are
    fitted to [sigma_min, sigma_max] with `epsilon_s`, as in `ablation_sampler`).

    The sampler's state is x = s(t) x̂; the step is x + (0 − t)[(σ̇/σ + ṡ/s) x − (σ̇ s/σ) D(x̂; σ)],
    and s(0) = 1 for every scaling, so the result is in data space.
    """
    beta_d, beta_min = schedule_betas(schedule, sigma_min, sigma_max, epsilon_s)
    sigma, sigma_deriv, sigma_inv = get_schedule(schedule, beta_d=beta_d, beta_min=beta_min)
    s, s_deriv = get_scaling(scaling, sigma, sigma_deriv)
    t = sigma_inv(torch.tensor(sigma_min, dtype=torch.float64, device=x_hat.device))
    denoised = net_output(net(x_hat, sigma(t)), x_hat)  # [B, ...]
    x = s(t) * x_hat
    d = (sigma_deriv(t) / sigma(t) + s_deriv(t) / s(t)) * x - sigma_deriv(t) * s(t) / sigma(
        t
    ) * denoised
    return x - t * d


def _initial_state(
    net: Net, latents: torch.Tensor, sigma_min: float, sigma_max: float
) -> tuple[torch.Tensor, float, float]:
    """Validate the net, the latents and the σ range, clamp it to the net's, and scale latents to x(σ_max)."""
    check_net(net)
    latents = check_latents(net, latents).detach()
    sigma_min, sigma_max = sampling_range(net, sigma_min, sigma_max)
    return latents * sigma_max, sigma_min, sigma_max


def reference_samples(
    net: Net,
    latents: torch.Tensor,
    sigma_min: float = 0.002,
    sigma_max: float = 80,
    schedule: str = "linear",
    scaling: str = "none",
    epsilon_s: float = 1e-3,
    **kw,
) -> torch.Tensor:
    """The samples an exact ODE solver would give: what every deterministic sampler converges to as N → ∞.

    Solves the PF-ODE from x(σ_max) = latents·σ_max down to σ_min with
    `solve_pf_ode` (keywords `kw`: rtol, atol, method), then takes the
    sampler's own last Euler step to σ = 0 (Algorithm 1).  With the default
    σ(t) = t, s = 1 (EDM, Algorithm 2) that step lands on D(x(σ_min); σ_min).
    The trajectory is the same for every σ(t), s(t) (see the module
    docstring); `schedule` ∈ {'vp', 've', 'linear'} and `scaling` ∈ {'vp', 'none'}
    pick the final step of the matching `ablation_sampler` (VP's β's are fitted to
    the range with `epsilon_s`, as there).  The range is clamped to the net's
    [sigma_min, sigma_max] as the samplers do; σ is not rounded (`round_sigma`),
    the reference being the continuous ODE.

    Returns:
        samples, float64, shape of latents.
    """
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("scaling", scaling, SCALINGS)
    epsilon_s = check_epsilon("epsilon_s", epsilon_s)
    check_keywords("reference_samples", kw, SOLVE_KEYWORDS)
    solve = dict(rtol=1e-9, atol=1e-9, method="DOP853") | kw
    _check_solve_settings(**solve)
    x_max, sigma_min, sigma_max = _initial_state(net, latents, sigma_min, sigma_max)  # [B, ...]
    schedule_betas(schedule, sigma_min, sigma_max, epsilon_s)  # the last step's σ(t): fit it first
    x_min, _ = solve_pf_ode(net, x_max, sigma_max, sigma_min, **solve)  # [B, ...]
    return _final_step(net, x_min, sigma_min, sigma_max, schedule, scaling, epsilon_s)


def rk45_sampler(
    net: Net,
    latents: torch.Tensor,
    sigma_min: float = 0.002,
    sigma_max: float = 80,
    rtol: float = 1e-3,
    atol: float = 1e-3,
) -> tuple[torch.Tensor, int]:
    """The paper's black-box baseline (Fig. 2, "RK45"): an adaptive Runge–Kutta 4(5) solve.

    scipy's RK45 integrates dx/dσ = (x − D(x; σ))/σ (σ(t) = t, s = 1) from
    x(σ_max) = latents·σ_max to σ_min, choosing its own steps to meet
    `rtol`/`atol`; then the usual Euler step to σ = 0 gives D(x; σ_min).  The
    NFE counts every batched denoiser call, including RK45's step-size
    selection and rejected steps, plus the final one.

    Returns:
        (samples float64 with the shape of latents, nfe).
    """
    rtol, atol, _ = _check_solve_settings(rtol, atol, "RK45")
    x_max, sigma_min, sigma_max = _initial_state(net, latents, sigma_min, sigma_max)  # [B, ...]
    x_min, nfe = _integrate(net, x_max, sigma_max, sigma_min, rtol, atol, "RK45", log_sigma=False)
    sigma = torch.tensor(sigma_min, dtype=torch.float64, device=x_min.device)
    return net_output(net(x_min, sigma), x_min), nfe + 1


def local_truncation_error(
    net: Net,
    latents: torch.Tensor,
    sigma_steps: torch.Tensor,
    solver: str = "heun",
    reference_rtol: float = 1e-10,
) -> torch.Tensor:
    """Local truncation error of each step of a σ-grid (App. D.1), shape [N − 1].

    For step i, start from the exact state x(σ_i) (the PF-ODE solved from
    x(σ_0) = latents·σ_0), take one Euler step or one Heun step (Algorithm 1,
    σ(t) = t, s = 1) to σ_{i+1}, and return the RMS over all elements of the
    batch of its difference from the exact x(σ_{i+1}).  For a step of size h,
    Euler's error is O(h²) and Heun's O(h³); the paper plots it against σ_i
    for Eq. 5's grids with several ρ (ρ ≈ 3 roughly equalises it).

    Args:
        sigma_steps: σ_0 > σ_1 > … > σ_{N−1} > 0, shape [N] (without the final 0).
        solver: 'euler' or 'heun'.
        reference_rtol: tolerance (relative and absolute) of the exact solves.
    """
    check_net(net)
    check_choice("solver", solver, SOLVERS)
    reference_rtol = _check_tolerance("reference_rtol", reference_rtol)
    sigma_steps = check_tensor("sigma_steps", sigma_steps, max_ndim=1, float_dtype=torch.float64)
    sigma_steps = sigma_steps.to(torch.float64)  # [N]
    if len(sigma_steps) < 2 or (sigma_steps <= 0).any() or (sigma_steps.diff() >= 0).any():
        raise ValueError(
            "sigma_steps must be a finite, strictly decreasing sequence of at least two σ > 0, "
            f"got {sigma_steps.tolist()[:8]}"
        )
    latents = check_latents(net, latents)  # [B, ...], float64
    if len(latents) == 0:
        raise ValueError(
            "latents must hold at least one sample: the error is an RMS over the batch"
        )
    sigmas = sigma_steps.tolist()

    # Exact states x(σ_i), i = 0 … N − 1, each segment solved to reference_rtol.
    exact = [latents * sigmas[0]]
    for sigma_cur, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        exact.append(
            solve_pf_ode(net, exact[-1], sigma_cur, sigma_next, reference_rtol, reference_rtol)[0]
        )
    x_cur = torch.cat(exact[:-1])  # [(N − 1)·B, ...], steps stacked along the batch
    B, n = latents.shape[0], len(sigmas) - 1
    sigma_steps = sigma_steps.to(latents.device)
    t_cur = sigma_steps[:-1].repeat_interleave(B)  # [(N − 1)·B]
    t_next = sigma_steps[1:].repeat_interleave(B)
    view = (-1,) + (1,) * (latents.ndim - 1)

    def d(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """dx/dσ = (x − D(x; σ))/σ for the stacked batch, one σ per sample."""
        return (x - net_output(net(x, t), x)) / t.reshape(view)

    # One step per σ_i, all steps in one batched evaluation (two for Heun).
    h = (t_next - t_cur).reshape(view)
    d_cur = d(x_cur, t_cur)
    x_next = x_cur + h * d_cur
    if solver == "heun":
        x_next = x_cur + h * (0.5 * d_cur + 0.5 * d(x_next, t_next))
    error = x_next.reshape(n, B, -1) - torch.cat(exact[1:]).reshape(n, B, -1)  # [N − 1, B, D]
    return error.square().mean(dim=(1, 2)).sqrt()  # [N − 1], RMS per element over the batch
