"""Tests for edm_src.losses: Table 1's p_train and λ(σ), and the loss's mechanics."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import generator, raises_naming, randn
from scipy import stats

from edm_src import preconditioning
from edm_src.losses import EDMLoss, VELoss, VPLoss
from edm_src.preconditioning import EDMPrecond, VPPrecond

LOSSES = {"VP": VPLoss, "VE": VELoss, "EDM": EDMLoss}
N = 200_000


def sample_log_sigma(loss, n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    return loss.sample_sigma((n,), generator=g).double().log()


# --- p_train ---------------------------------------------------------------------


def test_edm_log_sigma_is_normal():
    """EDM: ln σ ~ N(P_mean, P_std²): sample mean and std within 5 standard errors, and a KS test passes."""
    log_sigma = sample_log_sigma(EDMLoss())
    assert log_sigma.mean().item() == pytest.approx(-1.2, abs=5 * 1.2 / math.sqrt(N))
    assert log_sigma.std().item() == pytest.approx(1.2, abs=5 * 1.2 / math.sqrt(2 * N))
    assert stats.kstest(log_sigma.numpy(), stats.norm(-1.2, 1.2).cdf).pvalue > 1e-3


def test_ve_log_sigma_is_uniform():
    """VE: ln σ ~ U(ln σ_min, ln σ_max) (KS test), and every σ lies in [σ_min, σ_max]."""
    log_sigma = sample_log_sigma(VELoss())
    lo, hi = math.log(0.02), math.log(100)
    assert log_sigma.min() >= lo - 1e-6 and log_sigma.max() <= hi + 1e-6
    assert stats.kstest(log_sigma.numpy(), stats.uniform(lo, hi - lo).cdf).pvalue > 1e-3


def test_vp_sigma_inverse_is_uniform():
    """VP: σ⁻¹(σ) ~ U(ε_t, 1) (KS test), with σ⁻¹ from VPPrecond."""
    t = VPPrecond(None).sigma_inv(sample_log_sigma(VPLoss()).exp())
    assert t.min() >= 1e-5 - 1e-6 and t.max() <= 1 + 1e-6
    assert stats.kstest(t.numpy(), stats.uniform(1e-5, 1 - 1e-5).cdf).pvalue > 1e-3


@pytest.mark.parametrize("kind", LOSSES)
def test_p_train_density_matches_samples(kind):
    """p_train_density integrates to 1 over ln σ and matches a histogram of sample_sigma
    (within 5 binomial standard errors per bin)."""
    loss = LOSSES[kind]()
    log_sigma = sample_log_sigma(loss)
    edges = torch.linspace(log_sigma.min().item(), log_sigma.max().item(), 31, dtype=torch.float64)
    counts = torch.histc(log_sigma, bins=30, min=edges[0].item(), max=edges[-1].item())
    fine = torch.linspace(-12, 8, 400_001, dtype=torch.float64)
    density = loss.p_train_density(fine.exp())
    assert torch.trapezoid(density, fine).item() == pytest.approx(1, abs=1e-3)
    for i in range(30):
        inside = (fine >= edges[i]) & (fine <= edges[i + 1])
        p = torch.trapezoid(density[inside], fine[inside]).item()
        assert counts[i].item() / N == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / N) + 1e-3)


# --- λ(σ) ------------------------------------------------------------------------

SIGMAS = torch.tensor([0.002, 0.03, 0.5, 1.0, 7.0, 80.0], dtype=torch.float64)


def test_weights_match_table1():
    """λ(σ) = 1/σ² for VP and VE, (σ² + σ_d²)/(σσ_d)² for EDM (σ_d = 0.5)."""
    weights = VPLoss().weight(SIGMAS), VELoss().weight(SIGMAS), EDMLoss().weight(SIGMAS)
    for s, vp, ve, edm in zip(SIGMAS.tolist(), *weights):
        assert vp.item() == pytest.approx(1 / s**2, rel=1e-12)
        assert ve.item() == pytest.approx(1 / s**2, rel=1e-12)
        assert edm.item() == pytest.approx((s**2 + 0.25) / (s * 0.5) ** 2, rel=1e-12)


def test_edm_weight_times_c_out_squared_is_one():
    """Sec. 5 step 4: λ(σ)·c_out(σ)² = 1 over a log-grid of σ in [0.002, 80] (unit effective weight)."""
    sigma = torch.logspace(math.log10(0.002), math.log10(80), 200, dtype=torch.float64)
    for sigma_data in (0.5, 1.0):
        c_out = EDMPrecond(None, sigma_data=sigma_data).coefficients(sigma)[1]
        product = EDMLoss(sigma_data=sigma_data).weight(sigma) * c_out**2
        assert torch.allclose(product, torch.ones_like(sigma), rtol=1e-12, atol=0)


# --- the loss itself -------------------------------------------------------------


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("shape", [(8, 2), (8, 3, 4, 4)], ids=["points", "images"])
def test_perfect_denoiser_has_zero_loss(kind, shape):
    """For data that is a point mass at μ the ideal denoiser is D ≡ μ: its loss is exactly 0,
    and shaped like the images."""
    mu = torch.linspace(-1, 1, math.prod(shape[1:])).reshape(shape[1:])
    images = mu.expand(shape).clone()
    loss = LOSSES[kind]()(lambda x, sigma, labels=None: mu.expand_as(x), images)
    assert loss.shape == images.shape and torch.equal(loss, torch.zeros(shape))


@pytest.mark.parametrize("kind", LOSSES)
def test_draw_order_and_formula(kind):
    """The loss is λ(σ)·(D(y+n; σ) − y)², σ drawn first ([B,1,1,1]), then n = ε·σ, ε ~ N(0, I),
    both from the given generator (bit for bit), or from the global one in the same order."""
    loss = LOSSES[kind]()
    images = randn(6, 3, 4, 4, dtype=torch.float32)
    net = lambda x, sigma, labels=None: 0.7 * x + 0.1 * sigma  # noqa: E731  (depends on σ)
    got = loss(net, images, generator=generator(5))
    g = generator(5)
    sigma = loss.sample_sigma((6, 1, 1, 1), generator=g)
    n = torch.randn(images.shape, generator=g) * sigma
    assert torch.equal(got, loss.weight(sigma) * (net(images + n, sigma) - images) ** 2)
    torch.manual_seed(5)  # without a generator: the global one, in the paper's order
    got = loss(net, images)
    torch.manual_seed(5)
    sigma = loss.sample_sigma((6, 1, 1, 1))
    n = torch.randn_like(images) * sigma
    assert torch.equal(got, loss.weight(sigma) * (net(images + n, sigma) - images) ** 2)


@pytest.mark.parametrize("kind", LOSSES)
def test_loss_is_reproducible_under_manual_seed(kind):
    """The same seed gives the same loss bit for bit, another seed another: with a generator,
    and with torch.manual_seed (the global generator)."""
    loss = LOSSES[kind]()
    images = randn(4, 5, dtype=torch.float32)
    net = lambda x, sigma, labels=None: torch.zeros_like(x)  # noqa: E731
    runs = [loss(net, images, generator=generator(seed)) for seed in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(loss(net, images))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("kind", LOSSES)
def test_sigma_is_constant_within_each_sample(kind):
    """The net receives one σ per sample ([B, 1, 1, 1]) and the noise of sample b has std σ_b."""
    received = {}

    def net(x, sigma, labels=None):
        received.update(x=x, sigma=sigma, labels=labels)
        return x

    images = torch.zeros(5, 3, 32, 32)
    labels = torch.arange(5)
    loss = LOSSES[kind]()
    loss(net, images, labels, generator=generator(0))
    sigma = received["sigma"]
    assert sigma.shape == (5, 1, 1, 1) and received["labels"] is labels
    # exactly the σ that p_train draws first from the same generator, not a rescaled one
    assert torch.equal(sigma, loss.sample_sigma((5, 1, 1, 1), generator=generator(0)))
    noise_std = received["x"].flatten(1).std(dim=1)  # [B]
    tol = 5 / math.sqrt(2 * 3 * 32 * 32)
    assert torch.allclose(noise_std / sigma.flatten(), torch.ones(5), atol=tol)


def test_augment_pipe_is_honoured():
    """With augment_pipe, y and augment_labels come from it and reach the raw network through EDMPrecond."""
    images = randn(4, 3, 2, 2, dtype=torch.float32)
    aug_labels = randn(4, 9, seed=1, dtype=torch.float32)
    calls = []

    def augment_pipe(x):
        calls.append(x)
        return 2 * x + 1, aug_labels

    received = {}

    def raw_model(x_in, noise_labels, class_labels=None, augment_labels=None):
        received["augment_labels"] = augment_labels
        return torch.zeros_like(x_in)

    EDMLoss()(EDMPrecond(raw_model), images, augment_pipe=augment_pipe, generator=generator(0))
    assert len(calls) == 1 and calls[0] is images and received["augment_labels"] is aug_labels
    y = 2 * images + 1  # the denoiser that returns the augmented y exactly has zero loss
    cheat = lambda x, sigma, labels=None, augment_labels=None: y  # noqa: E731
    zero = EDMLoss()(cheat, images, augment_pipe=augment_pipe, generator=generator(0))
    assert torch.equal(zero, torch.zeros_like(y))


def test_sample_sigma_with_generator():
    """sample_sigma draws from the given generator reproducibly, with the requested shape."""
    for loss in (VPLoss(), VELoss(), EDMLoss()):
        a = loss.sample_sigma((3, 1, 1), generator=torch.Generator().manual_seed(7))
        b = loss.sample_sigma((3, 1, 1), generator=torch.Generator().manual_seed(7))
        assert a.shape == (3, 1, 1) and torch.equal(a, b) and (a > 0).all()


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: VPLoss(beta_d=-1), "beta_d"),
        (lambda: VPLoss(epsilon_t=0), "epsilon_t"),
        (lambda: VELoss(sigma_min=0), "sigma_min"),
        (lambda: VELoss(sigma_min=5, sigma_max=1), "sigma_min"),
        (lambda: EDMLoss(P_std=0), "P_std"),
        (lambda: EDMLoss(sigma_data=-0.5), "sigma_data"),
        (lambda: EDMLoss(P_mean=math.nan), "P_mean"),
    ],
)
def test_invalid_constants_are_rejected(make, name):
    """Non-positive constants and sigma_min >= sigma_max raise a ValueError naming the argument."""
    with raises_naming(name):
        make()


def test_effective_weight_is_p_train_for_each_family_and_reweighted_when_mixed():
    """λ·c_out² = 1 for VP, VE and EDM with their own preconditioning, so the effective weight is
    p_train's density; VE's loss with EDM's preconditioning (config D) multiplies it by
    σ_d²/(σ² + σ_d²)."""
    from edm_src.losses import effective_weight

    sigma = torch.logspace(-2, 1.5, 15, dtype=torch.float64)
    pairs = [
        (VPLoss(), preconditioning.VPPrecond(None)),
        (VELoss(), preconditioning.VEPrecond(None)),
        (EDMLoss(sigma_data=0.7), preconditioning.EDMPrecond(None, sigma_data=0.7)),
    ]
    for loss, precond in pairs:
        weight = effective_weight(loss, precond, sigma)
        torch.testing.assert_close(weight, loss.p_train_density(sigma).to(weight.dtype))
    mixed = effective_weight(VELoss(), preconditioning.EDMPrecond(None, sigma_data=0.5), sigma)
    expected = VELoss().p_train_density(sigma).double() * 0.25 / (sigma**2 + 0.25)
    torch.testing.assert_close(mixed.double(), expected, rtol=1e-6, atol=0)
