"""Algorithms 1 and 2: exactness on Gaussian data, solver order, and the algorithms' bookkeeping."""

import math

import pytest
import torch
from helpers import raises_naming

from edm_src.denoisers import GaussianMixture
from edm_src.instruments.sweeps import seeded_randn_like
from edm_src.samplers import (
    CountingNet,
    Trajectory,
    ablation_sampler,
    edm_sampler,
    record_trajectory,
)
from edm_src.schedules import edm_sigma_steps

S_DATA = 0.5  # std of the Gaussian test data N(0, s² I)


def gaussian(D=4, s=S_DATA):
    """N(0, s² I) in D dims: D(x; σ) = s²/(s² + σ²) x."""
    return GaussianMixture(torch.zeros(1, D), torch.tensor([s]), torch.ones(1))


def gaussian_denoiser(x, sigma, class_labels=None):
    """The same exact D(x; σ) = s²/(s² + σ²) x as `gaussian()`, inlined for the many-step order tests."""
    return S_DATA**2 / (S_DATA**2 + sigma**2) * x


def mixture(D=4, seed=0):
    """A 3-component mixture, so that D(x; σ) is non-linear."""
    g = torch.Generator().manual_seed(seed)
    return GaussianMixture(
        torch.randn(3, D, generator=g), 0.1 + torch.rand(3, generator=g), torch.ones(3)
    )


def latents(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class NeverCalled:
    def __call__(self, *args, **kwargs):
        raise AssertionError("the net must not be called when the arguments are invalid")


# ----------------------------------------------------------------- time steps
def test_edm_sampler_uses_eq5_grid_then_zero():
    """Algorithm 2 visits t_0 … t_{N−1} of Eq. 5 (80 … 0.002 for N = 18) and then t_N = 0."""
    traj = record_trajectory(edm_sampler, gaussian(), latents(3, 4))
    assert traj.t.shape == (19,)
    torch.testing.assert_close(traj.t[:-1], edm_sigma_steps(18), rtol=0, atol=0)
    assert (
        traj.t[-1] == 0 and traj.t[0] == 80 and traj.t[-2].item() == pytest.approx(0.002, rel=1e-12)
    )
    torch.testing.assert_close(traj.sigma, traj.t, rtol=0, atol=0)  # σ(t) = t


# ---------------------------------------------------------------- solver order
def state_error_at_sigma_min(sampler, num_steps, **kwargs):
    """Relative error of x at t_{N−1} (σ = σ_min, before the final step to 0) against the exact PF-ODE.

    For p_data = N(0, s² I) the ODE in x̂ = x/s(t) with σ(t) = t has the solution
    x̂(σ) = x̂(σ_0) √((σ² + s²)/(σ_0² + s²)), whatever the time parameterisation.
    """
    steps = []
    z = latents(16, 4)
    sampler(gaussian_denoiser, z, num_steps=num_steps, callback=steps.append, **kwargs)
    sigma_0, last = steps[0]["sigma_cur"], steps[-1]
    exact = (
        last["s_cur"]
        * z
        * sigma_0
        * ((last["sigma_cur"] ** 2 + S_DATA**2) / (sigma_0**2 + S_DATA**2)).sqrt()
    )
    return ((last["x_cur"] - exact).norm() / exact.norm()).item()


def convergence_slope(sampler, **kwargs):
    """Least-squares slope of log(error) against log(1/h) with h ∝ 1/(N − 1)."""
    Ns = torch.tensor([65.0, 129.0, 257.0], dtype=torch.float64)
    errors = torch.tensor(
        [state_error_at_sigma_min(sampler, int(N), **kwargs) for N in Ns], dtype=torch.float64
    )
    x, y = (Ns - 1).log(), -errors.log()
    return (((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()).item()


def test_edm_sampler_is_second_order():
    """Heun's method (Algorithm 1/2) has global error O(h²): log-log slope ≈ 2 against the exact ODE solution."""
    assert convergence_slope(edm_sampler) == pytest.approx(2, abs=0.2)


@pytest.mark.parametrize(
    "schedule, scaling, discretization",
    [("linear", "none", "edm"), ("vp", "vp", "vp"), ("vp", "vp", "edm"), ("ve", "none", "ve")],
)
@pytest.mark.parametrize("solver, order", [("euler", 1), ("heun", 2)])
def test_ablation_sampler_order(schedule, scaling, discretization, solver, order):
    """Euler is first order and Heun second order for every σ(t), s(t) (Algorithm 1 on Eq. 4's ODE)."""
    slope = convergence_slope(
        ablation_sampler,
        solver=solver,
        schedule=schedule,
        scaling=scaling,
        discretization=discretization,
    )
    assert slope == pytest.approx(order, abs=0.2)


def test_midpoint_variant_is_second_order():
    """The general 2nd-order step with α = ½ (explicit midpoint) is also O(h²).

    (Measured with the VP schedule: with σ(t) = t on Gaussian data the midpoint
    method's h² error term happens to cancel and the slope is 3.)
    """
    slope = convergence_slope(ablation_sampler, alpha=0.5, schedule="vp", scaling="vp")
    assert slope == pytest.approx(2, abs=0.2)


# ----------------------------------------------------- edm == general sampler
@pytest.mark.parametrize("churn", [{}, dict(S_churn=40, S_min=0.05, S_max=50, S_noise=1.003)])
def test_edm_sampler_equals_ablation_sampler(churn):
    """Algorithm 2 is Algorithm 1 with σ(t) = t, s(t) = 1, Heun and Eq. 5's steps (with the same churn)."""
    net, z = mixture(), latents(5, 4)
    a = edm_sampler(net, z, None, seeded_randn_like(1), 12, **churn)
    b = ablation_sampler(
        net,
        z,
        None,
        seeded_randn_like(1),
        12,
        0.002,
        80,
        7,
        "heun",
        "edm",
        "linear",
        "none",
        **churn,
    )
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- algorithm facts
@pytest.mark.parametrize("num_steps", [2, 5, 18])
def test_nfe(num_steps):
    """Heun makes 2N − 1 network calls (the last step is Euler); Euler makes N."""
    for sampler, kwargs, nfe in [
        (edm_sampler, {}, 2 * num_steps - 1),
        (ablation_sampler, {}, 2 * num_steps - 1),
        (ablation_sampler, dict(solver="euler"), num_steps),
        (
            ablation_sampler,
            dict(schedule="vp", scaling="vp", discretization="vp"),
            2 * num_steps - 1,
        ),
    ]:
        net = CountingNet(gaussian())
        sampler(net, latents(2, 4), num_steps=num_steps, **kwargs)
        assert net.nfe == nfe
        assert (
            record_trajectory(sampler, gaussian(), latents(2, 4), num_steps=num_steps, **kwargs).nfe
            == nfe
        )


@pytest.mark.parametrize("sampler", [edm_sampler, ablation_sampler])
def test_randn_like_is_called_every_step_with_churn_and_never_without(sampler):
    """With S_churn > 0 the churn noise is drawn at every step, even where γ_i = 0 (outside
    [S_min, S_max]), so random streams align across samplers and with the reference code;
    with S_churn = 0 no noise is drawn at all."""
    calls = []
    source = seeded_randn_like(0)

    def randn_like(x):
        calls.append(1)
        return source(x)

    sampler(gaussian(), latents(2, 4), randn_like=randn_like, num_steps=7)
    assert calls == []
    sampler(gaussian(), latents(2, 4), randn_like=randn_like, num_steps=7, S_churn=5, S_min=1)
    assert len(calls) == 7


@pytest.mark.parametrize("S_churn", [0, 30])
def test_last_euler_step_lands_on_denoised(S_churn):
    """With σ(t) = t, s = 1, an Euler step from t̂ to 0 gives x̂ + (0 − t̂)(x̂ − D)/t̂ = D(x̂; t̂) exactly."""
    for sampler in (edm_sampler, ablation_sampler):
        traj = record_trajectory(
            sampler,
            mixture(),
            latents(4, 4),
            num_steps=6,
            S_churn=S_churn,
            randn_like=seeded_randn_like(0),
        )
        torch.testing.assert_close(traj.x[-1], traj.denoised[-1], rtol=0, atol=1e-14)


def test_churn_gamma_is_capped_and_windowed():
    """γ_i = min(S_churn/N, √2 − 1) inside [S_min, S_max] and 0 outside (Algorithm 2)."""
    traj = record_trajectory(
        edm_sampler,
        gaussian(),
        latents(2, 4),
        num_steps=10,
        S_churn=1000,
        randn_like=seeded_randn_like(0),
    )
    torch.testing.assert_close(
        traj.t_hat / traj.t[:-1], torch.full((10,), math.sqrt(2), dtype=torch.float64)
    )
    traj = record_trajectory(
        edm_sampler,
        gaussian(),
        latents(2, 4),
        num_steps=10,
        S_churn=2,
        S_min=0.05,
        S_max=50,
        randn_like=seeded_randn_like(0),
    )
    t = traj.t[:-1]
    inside = (t >= 0.05) & (t <= 50)
    expected = torch.where(inside, 1 + 2 / 10, 1.0)  # γ = S_churn/N = 0.2 < √2 − 1
    torch.testing.assert_close(traj.t_hat / t, expected.to(torch.float64))
    assert inside.any() and not inside.all()
    # The window is closed: S_min = t_{N−1} and S_max = t_0 themselves are churned.
    t_grid = edm_sigma_steps(10)
    traj = record_trajectory(
        edm_sampler,
        gaussian(),
        latents(2, 4),
        num_steps=10,
        S_churn=2,
        S_min=float(t_grid[-1]),
        S_max=float(t_grid[0]),
        randn_like=seeded_randn_like(0),
    )
    ratio = traj.t_hat / traj.t[:-1]
    torch.testing.assert_close(ratio, torch.full((10,), 1.2, dtype=torch.float64))
    for sampler in (edm_sampler, ablation_sampler):  # x̂ − x has variance t̂² − t² (S_noise = 1)
        traj = record_trajectory(
            sampler,
            gaussian(D=1),
            latents(20000, 1),
            num_steps=10,
            S_churn=1000,
            randn_like=seeded_randn_like(1),
        )
        std = (traj.x_hat[0] - traj.x[0]).std().item()
        assert std == pytest.approx(80.0, rel=0.03)  # √(2·80² − 80²) = 80


class GridNet:
    """A net that supports σ ∈ [0.01, 20] and knows only the levels exp(k/8); it logs every σ it sees."""

    sigma_min, sigma_max = 0.01, 20.0

    def __init__(self):
        self.gm, self.seen = gaussian(), []

    def round_sigma(self, sigma):
        return torch.exp(torch.round(torch.log(torch.as_tensor(sigma)) * 8) / 8)

    def __call__(self, x, sigma, class_labels=None):
        self.seen.append(float(sigma))
        return self.gm(x, sigma)


@pytest.mark.parametrize("S_churn", [0, 10])
@pytest.mark.parametrize("sampler", [edm_sampler, ablation_sampler])
def test_net_range_and_round_sigma_are_honoured(sampler, S_churn):
    """The σ range is clamped to [net.sigma_min, net.sigma_max] and every σ the net sees is on its grid."""
    net = GridNet()
    traj = record_trajectory(
        sampler, net, latents(2, 4), num_steps=8, S_churn=S_churn, randn_like=seeded_randn_like(0)
    )
    levels = torch.tensor(net.seen, dtype=torch.float64).log() * 8
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-9)
    torch.testing.assert_close(traj.t[0], net.round_sigma(torch.tensor(20.0, dtype=torch.float64)))
    torch.testing.assert_close(traj.t[-2], net.round_sigma(torch.tensor(0.01, dtype=torch.float64)))


@pytest.mark.parametrize("sampler", [edm_sampler, ablation_sampler])
def test_image_shaped_latents_and_float64_output(sampler):
    """Latents [B, C, H, W] give the same result as flattened [B, C·H·W] ones, in float64."""
    net, z = mixture(D=12), latents(3, 3, 2, 2).float()
    out = sampler(net, z, num_steps=5)
    assert out.shape == (3, 3, 2, 2) and out.dtype == torch.float64
    flat = sampler(net, z.reshape(3, 12), num_steps=5)
    assert flat.shape == (3, 12) and flat.dtype == torch.float64
    torch.testing.assert_close(out.reshape(3, 12), flat, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "sampler, kwargs",
    [(edm_sampler, {}), (ablation_sampler, dict(schedule="vp", scaling="vp", discretization="vp"))],
)
def test_record_trajectory(sampler, kwargs):
    """The recorded trajectory has N + 1 states from x_0 = latents·σ(t_0)s(t_0) to the sampler's output."""
    z, seen = latents(3, 4), []
    traj = record_trajectory(sampler, gaussian(), z, num_steps=6, callback=seen.append, **kwargs)
    assert isinstance(traj, Trajectory) and len(seen) == 6
    assert (
        traj.x.shape == (7, 3, 4)
        and traj.denoised.shape == (6, 3, 4)
        and traj.x_hat.shape == (6, 3, 4)
    )
    assert traj.t.shape == traj.sigma.shape == traj.s.shape == (7,)
    assert traj.t[-1] == 0 and traj.sigma[-1] == 0 and traj.s[-1] == 1
    torch.testing.assert_close(traj.x[0], z * traj.sigma[0] * traj.s[0], rtol=1e-14, atol=0)
    direct = sampler(gaussian(), z, num_steps=6, randn_like=torch.zeros_like, **kwargs)
    again = record_trajectory(
        sampler, gaussian(), z, num_steps=6, randn_like=torch.zeros_like, **kwargs
    )
    torch.testing.assert_close(again.x[-1], direct, rtol=0, atol=0)
    expected_sigma_0 = 152.17 if kwargs else 80.0  # VP's default σ(1) ≈ 152, EDM's σ_max = 80
    assert traj.sigma[0].item() == pytest.approx(expected_sigma_0, abs=0.01)


# ----------------------------------------------------------------- validation
BAD_COMMON = [
    (dict(num_steps=1), "num_steps"),
    (dict(rho=0), "rho"),
    (dict(sigma_min=80, sigma_max=0.002), "sigma_min"),
    (dict(sigma_min=-1.0), "sigma_min"),
    (dict(sigma_max=-1.0), "sigma_max"),
    (dict(S_noise=-1), "S_noise"),
    (dict(S_churn=-1), "S_churn"),
    (dict(S_noise=float("inf")), "S_noise"),
    (dict(S_min=-0.1), "S_min"),
    (dict(S_min=2.0, S_max=1.0), "S_max"),
    (dict(S_max=float("nan")), "S_max"),
    (dict(rho="seven"), "rho"),
    (dict(sigma_max=float("inf")), "sigma_max"),
    (dict(latents=torch.tensor([[0.0, float("nan")]])), "latents"),
]
BAD_ABLATION = [
    (dict(solver="rk45"), "solver"),
    (dict(discretization="ddim"), "discretization"),
    (dict(schedule="cosine"), "schedule"),
    (dict(scaling="ve"), "scaling"),
    (dict(alpha=0), "alpha"),
    (dict(alpha=float("inf")), "alpha"),
]


@pytest.mark.parametrize(
    "sampler, bad, name",
    [(edm_sampler, bad, name) for bad, name in BAD_COMMON]
    + [(ablation_sampler, bad, name) for bad, name in BAD_COMMON + BAD_ABLATION],
)
def test_bad_inputs_raise_before_the_net_is_called(sampler, bad, name):
    """Every invalid argument raises ValueError naming it, before any network evaluation."""
    kwargs = dict(latents=torch.zeros(2, 2), **bad) if "latents" not in bad else bad
    with raises_naming(name):
        sampler(NeverCalled(), **kwargs)


def test_empty_range_after_clamping_raises():
    """A requested range disjoint from the net's [sigma_min, sigma_max] is an error, not a silent empty grid."""

    class SmallRangeNet(NeverCalled):
        sigma_min, sigma_max = 0.01, 20.0

    for sampler in (edm_sampler, ablation_sampler):
        with raises_naming("sigma_min"):
            sampler(SmallRangeNet(), torch.zeros(2, 4), sigma_min=30, sigma_max=80)


# ------------------------------------------------- an independent oracle for Algorithm 1 + churn
def algorithm_1_oracle(
    denoise,
    z,
    noises,
    N,
    sigma_min,
    sigma_max,
    solver,
    discretization,
    schedule,
    scaling,
    alpha=1.0,
    S_churn=0.0,
    S_min=0.0,
    S_max=math.inf,
    S_noise=1.0,
    rho=7.0,
    epsilon_s=1e-3,
):
    """Algorithm 1 with Algorithm 2's churn, transcribed step by step from the facts sheet in plain
    Python floats (no edm_src code), for comparison with `ablation_sampler`."""
    L_min, L_max = math.log(sigma_min**2 + 1), math.log(sigma_max**2 + 1)
    beta_d = 2 * (L_min / epsilon_s - L_max) / (epsilon_s - 1)
    beta_min = L_max - 0.5 * beta_d
    if schedule == "vp":
        sig = lambda t: math.sqrt(math.exp(0.5 * beta_d * t * t + beta_min * t) - 1)  # noqa: E731
        dsig = lambda t: (  # noqa: E731
            (beta_d * t + beta_min) * math.exp(0.5 * beta_d * t * t + beta_min * t) / (2 * sig(t))
        )
        isig = lambda v: (  # noqa: E731
            (math.sqrt(beta_min**2 + 2 * beta_d * math.log(v * v + 1)) - beta_min) / beta_d
        )
    elif schedule == "ve":
        sig, dsig, isig = math.sqrt, lambda t: 0.5 / math.sqrt(t), lambda v: v * v
    else:
        sig, dsig, isig = (lambda t: t), (lambda t: 1.0), (lambda v: v)
    if scaling == "vp":
        s = lambda t: 1 / math.sqrt(1 + sig(t) ** 2)  # noqa: E731
        ds = lambda t: -sig(t) * dsig(t) * s(t) ** 3  # noqa: E731
    else:
        s, ds = (lambda t: 1.0), (lambda t: 0.0)
    if discretization == "edm":
        sigmas = [
            (
                sigma_max ** (1 / rho)
                + i / (N - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
            )
            ** rho
            for i in range(N)
        ]
    elif discretization == "ve":
        sigmas = [
            math.sqrt(sigma_max**2 * (sigma_min**2 / sigma_max**2) ** (i / (N - 1)))
            for i in range(N)
        ]
    else:  # "vp"
        ts = [1 + i / (N - 1) * (epsilon_s - 1) for i in range(N)]
        sigmas = [math.sqrt(math.exp(0.5 * beta_d * t * t + beta_min * t) - 1) for t in ts]
    t_steps = [isig(v) for v in sigmas] + [0.0]

    def d(x, t):
        return (dsig(t) / sig(t) + ds(t) / s(t)) * x - dsig(t) * s(t) / sig(t) * denoise(
            x / s(t), sig(t)
        )

    x = z * sig(t_steps[0]) * s(t_steps[0])
    for i in range(N):
        t_cur, t_next = t_steps[i], t_steps[i + 1]
        gamma = min(S_churn / N, math.sqrt(2) - 1) if S_min <= sig(t_cur) <= S_max else 0.0
        if gamma > 0:  # t̂ = σ⁻¹(σ(t)(1 + γ)); with γ = 0 it is t itself, and x̂ is x
            t_hat = isig(sig(t_cur) * (1 + gamma))
            x_hat = (
                s(t_hat) / s(t_cur) * x
                + math.sqrt(max(sig(t_hat) ** 2 - sig(t_cur) ** 2, 0))
                * s(t_hat)
                * S_noise
                * noises[i]
            )
        else:
            t_hat, x_hat = t_cur, x
        h = t_next - t_hat
        d_cur = d(x_hat, t_hat)
        if solver == "euler" or i == N - 1:
            x = x_hat + h * d_cur
        else:
            d_prime = d(x_hat + alpha * h * d_cur, t_hat + alpha * h)
            x = x_hat + h * ((1 - 1 / (2 * alpha)) * d_cur + 1 / (2 * alpha) * d_prime)
    return x


ORACLE_CASES = [
    dict(discretization="vp", schedule="vp", scaling="vp"),
    dict(discretization="edm", schedule="vp", scaling="vp", solver="euler"),
    dict(discretization="ve", schedule="ve", scaling="none", alpha=0.7),
    dict(discretization="edm", schedule="ve", scaling="vp", alpha=0.5),
    dict(
        discretization="vp",
        schedule="vp",
        scaling="vp",
        S_churn=30,
        S_min=0.01,
        S_max=1,
        S_noise=1.007,
    ),
    dict(
        discretization="ve",
        schedule="ve",
        scaling="none",
        S_churn=80,
        S_min=0.05,
        S_max=1,
        S_noise=1.007,
    ),
    dict(
        discretization="edm",
        schedule="ve",
        scaling="vp",
        S_churn=40,
        S_min=0.05,
        S_max=50,
        S_noise=1.003,
    ),
    dict(discretization="edm", schedule="linear", scaling="none", S_churn=40, S_min=0.05, S_max=50),
    dict(
        discretization="edm",
        schedule="vp",
        scaling="vp",
        alpha=0.5,
        S_churn=40,
        S_min=0.05,
        S_max=50,
        S_noise=1.003,
    ),
]


@pytest.mark.parametrize(
    "case", ORACLE_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
)
def test_ablation_sampler_matches_an_independent_transcription(case):
    """ablation_sampler equals a plain-float transcription of Algorithm 1 + churn (all σ(t), s(t), churn windows),
    to 1e-11 relative: the two evaluate the same formulas in a different order (tensors against
    Python floats, σ(t)(1 + γ) against σ(t) + γσ(t)), nothing more.
    """
    case = dict(case)
    net = mixture(D=3)
    z = latents(4, 3)
    noises = [latents(4, 3, seed=100 + i) for i in range(12)]
    stream = iter(noises)
    sigma_min, sigma_max = 0.02, 80.0
    got = ablation_sampler(net, z, None, lambda x: next(stream), 12, sigma_min, sigma_max, **case)
    denoise = lambda x, sigma: net(x, torch.tensor(sigma, dtype=torch.float64))  # noqa: E731
    solver = case.pop("solver", "heun")
    want = algorithm_1_oracle(denoise, z, noises, 12, sigma_min, sigma_max, solver, **case)
    torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11 * want.abs().max().item())


@pytest.mark.parametrize("discretization", ["vp", "ve", "iddpm", "edm"])
@pytest.mark.parametrize(
    "schedule, scaling", [("linear", "none"), ("ve", "none"), ("vp", "vp"), ("vp", "none")]
)
def test_deterministic_sampling_ignores_the_noise_source(schedule, scaling, discretization):
    """With S_churn = 0, or with churn confined to a window that no step falls in, the output
    does not depend on randn_like, bit for bit: where γ_i = 0, t̂_i = t_i and x̂_i = x_i exactly
    (no σ⁻¹(σ(t)) round trip lets noise through)."""
    net, z = mixture(D=3), latents(5, 3)
    kwargs = dict(num_steps=10, schedule=schedule, scaling=scaling, discretization=discretization)
    a = ablation_sampler(net, z, randn_like=torch.zeros_like, **kwargs)
    b = ablation_sampler(net, z, randn_like=seeded_randn_like(3), **kwargs)
    c = ablation_sampler(net, z, randn_like=seeded_randn_like(4), S_churn=10, S_min=1e6, **kwargs)
    assert torch.equal(a, b) and torch.equal(a, c)
