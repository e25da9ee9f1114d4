"""Property-based tests (hypothesis): for *any* arguments, a named ValueError or a sound result.

The samplers, the exact denoisers, the preconditioners and the losses are called
with arguments drawn from strategies that mix valid values with every kind of
bad one (wrong types, NaN, ±inf, negative, zero, huge, tiny, non-integral
integers, empty batches).  Each call must either raise a `ValueError` whose
message starts with the name of one of the function's arguments, or return a
finite result of the right shape that satisfies the mathematics (an exact
denoiser's output is a posterior mean: for a finite data set, inside the box
the data span; D(x; σ) − x = σ² ∇ log p; a loss is ≥ 0).  Any other exception,
a NaN, or an inf fails the test.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from helpers import randn
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edm_src import EDMLoss, EmpiricalDenoiser, GaussianMixture, VELoss, VPLoss, toy_mixture
from edm_src.instruments.sweeps import seeded_randn_like
from edm_src.preconditioning import EDMPrecond, VEPrecond, VPPrecond, iDDPMPrecond
from edm_src.samplers import ablation_sampler, edm_sampler
from edm_src.sde import sde_sampler

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)

# Numbers of every kind: valid ones, and NaN, ±inf, negative, zero, huge, tiny, non-numbers.
ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-3, max_value=200),
    st.sampled_from([0, 0.0, -0.0, 1, 2, 1e-300, 5e-324, 1e154, 1e300, -1.0, math.pi]),
    st.integers(min_value=-3, max_value=10**7),
    st.none(),
    st.booleans(),
    st.text(max_size=3),
)
STEPS = st.one_of(
    st.integers(min_value=-2, max_value=24), st.sampled_from([10**6, 2.5, 7.0]), ANY_NUMBER
)
NAMES = st.one_of(
    st.sampled_from(["vp", "ve", "edm", "iddpm", "linear", "none", "heun", "euler"]), ANY_NUMBER
)


def outcome_is_sound(call, argument_names):
    """Run call(); a ValueError must name one of `argument_names`; else return the result."""
    try:
        return call()
    except ValueError as error:
        names = "|".join(re.escape(n) for n in argument_names)
        assert re.match(rf"^({names})(?![\w.\[])", str(error)), f"unexpected message: {error}"
        return None


def assert_finite(x: torch.Tensor, shape) -> None:
    assert isinstance(x, torch.Tensor) and x.shape == shape
    assert bool(torch.isfinite(x).all()), "a finite input gave NaN or inf"


# ------------------------------------------------------------------ samplers
RING = toy_mixture("ring")
SAMPLER_ARGS = [
    "latents",
    "num_steps",
    "sigma_min",
    "sigma_max",
    "rho",
    "S_churn",
    "S_min",
    "S_max",
    "S_noise",
]


@SETTINGS
@given(
    batch=st.integers(min_value=0, max_value=4),
    num_steps=STEPS,
    sigma_min=st.one_of(st.sampled_from([0.002, 0.02]), ANY_NUMBER),
    sigma_max=st.one_of(st.sampled_from([80.0, 5.0]), ANY_NUMBER),
    rho=st.one_of(st.sampled_from([7.0, 1.0, 3.0]), ANY_NUMBER),
    S_churn=st.one_of(st.just(0.0), ANY_NUMBER),
    S_min=st.one_of(st.just(0.0), ANY_NUMBER),
    S_max=st.one_of(st.just(math.inf), ANY_NUMBER),
    S_noise=st.one_of(st.just(1.0), ANY_NUMBER),
)
def test_edm_sampler_names_the_bad_argument_or_returns_finite_samples(batch, **kwargs):
    """edm_sampler (Algorithm 2): a ValueError naming an argument, or finite samples [B, 2]."""
    z = randn(batch, 2)
    out = outcome_is_sound(
        lambda: edm_sampler(RING, z, randn_like=seeded_randn_like(0), **kwargs), SAMPLER_ARGS
    )
    if out is not None:
        assert_finite(out, z.shape)
        again = edm_sampler(RING, z, randn_like=seeded_randn_like(0), **kwargs)
        assert torch.equal(out, again)  # and bit for bit reproducible


@SETTINGS
@given(
    num_steps=STEPS,
    solver=NAMES,
    discretization=NAMES,
    schedule=NAMES,
    scaling=NAMES,
    alpha=st.one_of(st.sampled_from([1.0, 0.5]), ANY_NUMBER),
    epsilon_s=st.one_of(st.just(1e-3), ANY_NUMBER),
    M=st.one_of(st.just(1000), ANY_NUMBER),
    S_churn=st.one_of(st.just(0.0), ANY_NUMBER),
)
def test_ablation_sampler_names_the_bad_argument_or_returns_finite_samples(**kwargs):
    """ablation_sampler (Algorithm 1): a ValueError naming an argument, or finite samples."""
    z = randn(3, 2)
    names = SAMPLER_ARGS + [
        "solver",
        "discretization",
        "schedule",
        "scaling",
        "alpha",
        "epsilon_s",
        "M",
        "C_1",
        "C_2",
    ]
    out = outcome_is_sound(
        lambda: ablation_sampler(RING, z, randn_like=seeded_randn_like(0), **kwargs), names
    )
    if out is not None:
        assert_finite(out, z.shape)


@SETTINGS
@given(
    num_steps=STEPS,
    sigma_min=st.one_of(st.just(0.002), ANY_NUMBER),
    beta=st.one_of(st.sampled_from([0.0, 1.0]), ANY_NUMBER),
)
def test_sde_sampler_names_the_bad_argument_or_returns_finite_samples(**kwargs):
    """sde_sampler (Eq. 6, Euler–Maruyama): a ValueError naming an argument, or finite samples."""
    z = randn(3, 2)
    out = outcome_is_sound(
        lambda: sde_sampler(RING, z, randn_like=seeded_randn_like(0), **kwargs),
        SAMPLER_ARGS + ["beta"],
    )
    if out is not None:
        assert_finite(out, z.shape)


# ------------------------------------------------------------------ exact denoisers
FINITE_POINTS = st.integers(min_value=0, max_value=5).flatmap(
    lambda b: st.lists(
        st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=2),
        min_size=b,
        max_size=b,
    )
)
SIGMAS = st.one_of(
    st.floats(min_value=0, max_value=1e300),
    st.sampled_from([0.0, 1e-300, 1e-8, 0.002, 1.0, 80.0, 1e154, 1e200, 1.7e308]),
)
DATA = randn(6, 2, seed=3)
MIXTURES = {
    "ring": toy_mixture("ring"),
    "two_blobs (unequal widths)": toy_mixture("two_blobs"),
    "finite data set": EmpiricalDenoiser(DATA),
    "uneven weights": GaussianMixture(
        randn(3, 2, seed=4), torch.tensor([0.1, 0.0, 0.3]), torch.tensor([1.0, 2.0, 0.0])
    ),
}


@pytest.mark.parametrize("name", MIXTURES)
@SETTINGS
@given(points=FINITE_POINTS, sigma=SIGMAS)
@example(points=[[0.0, 1.0], [0.3, -0.2]], sigma=1.0)  # always checked: Eq. 3 near the data
@example(points=[[0.5, 0.5]], sigma=0.05)
def test_exact_denoisers_are_finite_posterior_means(name, points, sigma):
    """For finite x and any σ ≥ 0, D(x; σ) is finite; for a finite data set (σ > 0) it lies in the
    box the data span, as a weighted average of data points must; the score is finite where
    defined and equals (D − x)/σ² for moderate σ (Eq. 3)."""
    mixture = MIXTURES[name]
    x = torch.tensor(points, dtype=torch.float64).reshape(-1, 2)
    D = mixture(x, sigma)
    assert_finite(D, x.shape)
    if isinstance(mixture, EmpiricalDenoiser) and sigma > 0:
        low, high = DATA.min(0).values, DATA.max(0).values
        scale = 1e-9 * (1 + x.abs().max().item() if len(x) else 1)
        assert bool(((low - scale <= D) & (high + scale >= D)).all())
    if sigma > 0:  # the score, |D − x|/σ², may be beyond float64: then a ValueError naming sigma
        score = outcome_is_sound(lambda: mixture.score(x, sigma), ["sigma"])
        if score is not None:
            assert_finite(score, x.shape)
        if 0.05 <= sigma <= 50 and len(x):  # Eq. 3, each row to 1e-7 of its own scale
            scale = 1 + x.abs().amax(dim=1, keepdim=True)  # [B, 1]
            assert bool(((score * sigma**2 - (D - x)).abs() <= 1e-7 * scale).all())


@SETTINGS
@given(points=FINITE_POINTS, sigma=st.one_of(SIGMAS, ANY_NUMBER))
def test_denoisers_name_a_bad_sigma(points, sigma):
    """Any σ: a finite result or a ValueError naming sigma."""
    x = torch.tensor(points, dtype=torch.float64).reshape(-1, 2)
    out = outcome_is_sound(lambda: RING(x, sigma), ["sigma"])
    if out is not None:
        assert_finite(out, x.shape)


# ------------------------------------------------------------------ preconditioners
def bounded_model(x, noise_labels, class_labels=None):
    """A raw network with a bounded output that uses its noise label: finite for finite labels."""
    assert bool(torch.isfinite(noise_labels).all()), "the network was given a non-finite c_noise"
    return torch.tanh(x + noise_labels.reshape(-1, *([1] * (x.ndim - 1))) / 1e3)


PRECONDS = {
    cls.__name__: cls(bounded_model) for cls in (VPPrecond, VEPrecond, iDDPMPrecond, EDMPrecond)
}


@pytest.mark.parametrize("name", PRECONDS)
@SETTINGS
@given(points=FINITE_POINTS, sigma=st.one_of(SIGMAS, ANY_NUMBER))
def test_preconditioners_give_finite_denoisers(name, points, sigma):
    """D = c_skip x + c_out F(c_in x; c_noise) is finite for finite x and any accepted σ, and the
    raw network never sees a non-finite noise label; a bad σ is a ValueError naming sigma."""
    x = torch.tensor(points, dtype=torch.float64).reshape(-1, 2)
    if len(x) == 0:
        x = torch.zeros(0, 2, dtype=torch.float64)
    out = outcome_is_sound(lambda: PRECONDS[name](x, sigma), ["sigma", "x"])
    if out is not None:
        assert_finite(out, x.shape)


# ------------------------------------------------------------------ losses
LOSSES = {"VP": VPLoss(), "VE": VELoss(), "EDM": EDMLoss()}


@pytest.mark.parametrize("name", LOSSES)
@SETTINGS
@given(points=FINITE_POINTS, seed=st.integers(min_value=0, max_value=2**32))
def test_losses_are_finite_non_negative_and_seeded(name, points, seed):
    """λ(σ)(D(y + n; σ) − y)² is finite, >= 0 and shaped like the images, and the same seed gives
    the same bits (the exact denoiser of the 2-D ring as the net, in float64)."""
    images = torch.tensor(points, dtype=torch.float64).reshape(-1, 2)
    loss = LOSSES[name]
    a = loss(RING, images, generator=torch.Generator().manual_seed(seed))
    b = loss(RING, images, generator=torch.Generator().manual_seed(seed))
    assert_finite(a, images.shape)
    assert bool((a >= 0).all()) and torch.equal(a, b)


@pytest.mark.parametrize("name", LOSSES)
@SETTINGS
@given(sigma=st.one_of(SIGMAS, ANY_NUMBER))
def test_loss_weights_name_a_bad_sigma(name, sigma):
    """λ(σ) and the density of ln σ: finite for any accepted σ, or a ValueError naming sigma."""
    loss = LOSSES[name]
    for method in (loss.weight, loss.p_train_density):
        out = outcome_is_sound(lambda m=method: m(sigma), ["sigma"])
        if out is not None:
            assert_finite(out, out.shape)
