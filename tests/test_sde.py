"""The SDE family of Eq. 6: β = 0 is the ODE, and every β keeps the marginals p(x; σ)."""

import pytest
import torch
from helpers import raises_naming, randn

from edm_src import GaussianMixture, ablation_sampler, record_trajectory, sde_sampler
from edm_src.instruments.sweeps import seeded_randn_like


def gaussian(s=0.5, D=1):
    return GaussianMixture(
        torch.zeros(1, D, dtype=torch.float64),
        torch.tensor([s], dtype=torch.float64),
        torch.ones(1),
    )


def test_beta_zero_is_the_euler_ode_sampler():
    """With β̃ = 0 the Euler–Maruyama update is Euler's method on the PF-ODE (Algorithm 1, Euler)."""
    net, latents = gaussian(D=3), randn(5, 3, seed=102, dtype=torch.float32)
    kwargs = dict(num_steps=20, sigma_min=0.002, sigma_max=80, rho=7)
    ode = ablation_sampler(net, latents, solver="euler", **kwargs)
    torch.testing.assert_close(
        sde_sampler(net, latents, beta=0.0, **kwargs), ode, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_marginal_variance_is_preserved(beta):
    """For data N(0, s²), every state x_i of the backward SDE has variance s² + t_i² (Eq. 6's marginals).

    Checked at every step along the way, within Monte-Carlo error (50,000 paths)
    plus the O(h) discretisation error of Euler–Maruyama on 400 steps.
    """
    s, n = 0.5, 50_000
    g = torch.Generator().manual_seed(0)
    traj = record_trajectory(
        sde_sampler,
        gaussian(s),
        torch.randn(n, 1, generator=g, dtype=torch.float64),
        randn_like=lambda x: torch.randn(x.shape, generator=g, dtype=x.dtype),
        num_steps=400,
        sigma_max=10.0,
        beta=beta,
    )
    var = traj.x[:, :, 0].var(dim=1)  # [N + 1]
    expected = s**2 + traj.t**2  # [N + 1]
    assert ((var / expected - 1).abs() < 0.05).all()
    assert abs(var[-1].item() / s**2 - 1) < 0.05


def test_noise_really_enters():
    """β̃ > 0 makes the paths random: two noise streams give different samples."""
    net, latents = gaussian(D=2), randn(4, 2, seed=103, dtype=torch.float32)
    a = sde_sampler(net, latents, num_steps=10, beta=1.0, randn_like=lambda x: torch.zeros_like(x))
    b = sde_sampler(net, latents, num_steps=10, beta=1.0, randn_like=seeded_randn_like(0))
    assert not torch.allclose(a, b)


def test_bad_beta_and_latents():
    """Negative β and non-finite latents are ValueErrors naming them."""
    with raises_naming("beta"):
        sde_sampler(gaussian(), torch.zeros(2, 1), beta=-1.0)
    with raises_naming("latents"):
        sde_sampler(gaussian(), torch.full((2, 1), float("nan")))
