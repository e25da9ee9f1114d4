"""Determinism: the same seed gives the same bits, and a deterministic sampler draws no noise at all.

Every sampler is run twice from the same latents and the same noise source, for
every schedule, scaling, discretization and solver, with and without churn, and
the two outputs must be equal bit for bit (`torch.equal`, no tolerance).  With
S_churn = 0 no noise may be drawn: the output cannot depend on the noise source
and the global generator is left untouched.  Mixtures keep every tensor on one
device (tested on every device this machine has; the CPU alone suffices).
"""

from __future__ import annotations

import itertools

import pytest
import torch
from helpers import raises_naming, randn

from edm_src import GaussianMixture, toy_mixture
from edm_src.instruments.benchmarks import ImperfectDenoiser, low_dim_mixture
from edm_src.instruments.sweeps import seeded_randn_like
from edm_src.samplers import ablation_sampler, edm_sampler
from edm_src.sde import sde_sampler

NET = ImperfectDenoiser(low_dim_mixture(dim=6, num_components=5), delta=0.05, bias=0.3)
Z = randn(7, 6)
CHURN = dict(S_churn=20, S_min=0.05, S_max=20, S_noise=1.003)

ABLATION = [
    dict(discretization=d, schedule=s, scaling=c, solver=solver)
    for d, (s, c), solver in itertools.product(
        ["vp", "ve", "iddpm", "edm"],
        [("vp", "vp"), ("ve", "none"), ("linear", "none"), ("vp", "none"), ("ve", "vp")],
        ["euler", "heun"],
    )
]
CONFIGS = (
    [pytest.param(edm_sampler, {}, id="edm_sampler")]
    + [pytest.param(ablation_sampler, c, id="ablation-" + "-".join(c.values())) for c in ABLATION]
    + [pytest.param(ablation_sampler, dict(alpha=0.5, schedule="vp", scaling="vp"), id="midpoint")]
)


def run(sampler, kwargs, **extra):
    return sampler(NET, Z, num_steps=9, **kwargs, **extra)


@pytest.mark.parametrize("churn", [{}, CHURN], ids=["deterministic", "churn"])
@pytest.mark.parametrize("sampler, kwargs", CONFIGS)
def test_repeated_calls_are_bit_identical(sampler, kwargs, churn):
    """Two calls with the same seeded noise source, or after the same torch.manual_seed, give the
    same bits; with churn, another seed gives another result."""
    a = run(sampler, kwargs, randn_like=seeded_randn_like(0), **churn)
    b = run(sampler, kwargs, randn_like=seeded_randn_like(0), **churn)
    assert torch.equal(a, b)
    torch.manual_seed(3)
    c = run(sampler, kwargs, **churn)
    torch.manual_seed(3)
    d = run(sampler, kwargs, **churn)
    assert torch.equal(c, d)
    if churn:
        assert not torch.equal(a, run(sampler, kwargs, randn_like=seeded_randn_like(1), **churn))


@pytest.mark.parametrize("sampler, kwargs", CONFIGS)
def test_without_churn_no_noise_is_drawn(sampler, kwargs):
    """With S_churn = 0 the noise source is never called and the global generator is untouched,
    so the output is the same bits whatever the noise source (the VP round-trip leak is gone:
    where γ_i = 0, t̂_i = t_i and x̂_i = x_i exactly)."""
    torch.manual_seed(11)
    state = torch.get_rng_state()
    a = run(sampler, kwargs)  # the default noise source: torch.randn_like
    assert torch.equal(torch.get_rng_state(), state)
    b = run(sampler, kwargs, randn_like=lambda x: torch.full_like(x, float("nan")))
    assert torch.equal(a, b)


def test_the_sde_sampler_is_bit_identical_under_the_same_seed():
    """Euler–Maruyama (Eq. 6) with a seeded noise source: same seed, same bits; other seed, other bits."""
    a, b, c = (
        sde_sampler(NET, Z, num_steps=12, randn_like=seeded_randn_like(seed)) for seed in (0, 0, 1)
    )
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_the_vp_leak_is_gone():
    """The defect of issue 8: ablation_sampler with the VP schedule and S_churn = 0 differed by about
    1e-7 between identical calls, because √(σ(σ⁻¹(σ))² − σ²) came out at 1e-8·σ and multiplied a
    fresh draw from the global generator.  Now identical calls agree bit for bit."""
    mixture = toy_mixture("ring")
    z = randn(64, 2)
    runs = [
        ablation_sampler(mixture, z, schedule="vp", scaling="vp", discretization="vp")
        for _ in range(3)
    ]
    assert all(torch.equal(runs[0], r) for r in runs[1:])


# ----------------------------------------------------------------- devices
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_a_mixture_keeps_every_tensor_on_one_device(device):
    """A GaussianMixture built from means on `device` and stds, weights on the CPU holds all of them
    on `device`; its mean, covariance, samples and denoiser output are there too, and `to`
    moves every tensor together."""
    mixture = GaussianMixture(
        torch.zeros(3, 2, device=device), torch.ones(3), torch.tensor([1.0, 2.0, 3.0])
    )
    tensors = {k: v for k, v in vars(mixture).items() if isinstance(v, torch.Tensor)}
    assert tensors and all(v.device.type == device for v in tensors.values())
    assert mixture.mean.device.type == device and mixture.covariance.device.type == device
    assert (
        mixture.sample(4, generator=torch.Generator(device=device).manual_seed(0)).device.type
        == device
    )
    x = torch.zeros(4, 2, device=device)
    assert mixture(x, 0.5).device.type == device and mixture.score(x, 0.5).device.type == device
    moved = mixture.to("cpu")
    assert all(v.device.type == "cpu" for v in vars(moved).values() if isinstance(v, torch.Tensor))
    assert torch.equal(moved(x.cpu(), 0.5), mixture(x, 0.5).cpu())


def test_queries_on_another_device_are_rejected_by_name():
    """x on another device than the mixture is a ValueError naming x (on a CPU-only machine the
    other device is 'meta', whose tensors hold no values)."""
    mixture = toy_mixture("ring")
    other = "cuda" if torch.cuda.is_available() else "meta"
    with raises_naming("x"):
        mixture(torch.zeros(3, 2, device=other), 0.5)


@pytest.mark.parametrize("device", DEVICES)
def test_samplers_run_on_the_latents_device(device):
    """The time grid, the noise and the output live on the latents' device."""
    mixture = toy_mixture("ring").to(device)
    z = randn(5, 2).to(device)
    for sampler in (edm_sampler, ablation_sampler):
        out = sampler(mixture, z, num_steps=5, S_churn=5, randn_like=seeded_randn_like(0))
        assert out.device.type == device
