"""The sampling benchmarks: their construction, and ImperfectDenoiser's controlled error (Sec. 4)."""

import math

import pytest
import torch
from helpers import raises_naming

from edm_src import ablation_sampler, schedules
from edm_src.denoisers import EmpiricalDenoiser, GaussianMixture
from edm_src.instruments.benchmarks import (
    DiscreteLevels,
    ImperfectDenoiser,
    digits_benchmark,
    low_dim_mixture,
    ring_2d,
)
from edm_src.instruments.reference import reference_samples, solve_pf_ode

S = 0.5  # std of the Gaussian test data N(0, S² I)


def gaussian(D=4, s=S):
    """N(0, s² I): D(x; σ) = s²/(s² + σ²) x."""
    return GaussianMixture(torch.zeros(1, D), torch.tensor([s]), torch.ones(1))


def latents(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------- benchmarks
def test_ring_2d():
    """ring_2d is the 8-component unit ring in 2-D with component std 0.05."""
    gm = ring_2d()
    assert gm.means.shape == (8, 2) and (gm.stds == 0.05).all()
    torch.testing.assert_close(gm.means.norm(dim=1), torch.ones(8, dtype=torch.float64))


def test_low_dim_mixture_shape_scale_and_determinism():
    """low_dim_mixture has K means in `dim` dimensions, per-coordinate data std σ_data = 0.5 exactly,
    mean zero, and is a deterministic function of its seed."""
    gm = low_dim_mixture()
    assert gm.means.shape == (32, 64) and (gm.stds == 0.02).all()
    assert gm.sigma_data == pytest.approx(0.5, rel=1e-12)
    torch.testing.assert_close(gm.mean, torch.zeros(64, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(low_dim_mixture().means, gm.means, rtol=0, atol=0)
    assert not torch.allclose(low_dim_mixture(seed=1).means, gm.means)
    assert low_dim_mixture(
        dim=8, intrinsic_dim=3, num_components=5, std=0.1
    ).sigma_data == pytest.approx(0.5)


def test_low_dim_mixture_lies_on_a_curved_low_dimensional_surface():
    """The means span only the 6·intrinsic_dim = 12 coordinates of the torus map (singular values beyond are 0),
    yet no 2-D plane holds them (curvature): the third singular value is a sizeable share of the first."""
    singular = torch.linalg.svdvals(low_dim_mixture().means)  # centred already
    assert (singular[12:] < 1e-10 * singular[0]).all()
    assert singular[2] > 0.3 * singular[0]


def test_digits_benchmark():
    """digits_benchmark gives the [1797, 1, 8, 8] float64 digits and Eq. 57's denoiser of exactly that set."""
    data, net = digits_benchmark()
    assert data.shape == (1797, 1, 8, 8) and data.dtype == torch.float64
    assert isinstance(net, EmpiricalDenoiser) and net.means.shape == (1797, 64)
    torch.testing.assert_close(
        net(data[:5] + 1e-3, 1e-3), data[:5]
    )  # at tiny σ: the nearest training image


# ------------------------------------------------------ ImperfectDenoiser
def test_discrete_levels_round_to_the_nearest_level_and_evaluate_there():
    """round_sigma is Table 1's argmin_j |u_j − σ| (idempotent), and D is the wrapped one at u_j."""
    levels = torch.tensor([0.5, 0.01, 2.0, 0.1], dtype=torch.float64)
    net = DiscreteLevels(gaussian(), levels)
    sigma = torch.tensor([0.004, 0.05, 0.06, 0.35, 1.5, 9.0], dtype=torch.float64)
    rounded = net.round_sigma(sigma)
    torch.testing.assert_close(rounded, torch.tensor([0.01, 0.01, 0.1, 0.5, 2.0, 2.0]).double())
    torch.testing.assert_close(net.round_sigma(rounded), rounded)
    x = latents(6, 4, seed=5)
    torch.testing.assert_close(net(x, sigma), gaussian()(x, rounded[:, None]))
    assert (net.sigma_min, net.sigma_max) == (0.01, 2.0)


def test_samplers_on_discrete_levels_evaluate_only_at_levels():
    """Through DiscreteLevels, EDM's time steps land on iDDPM's levels u_j (the paper's iDDPM setup)."""
    u = schedules.iddpm_u()[8:-1]  # u_8 ≈ 80.2 … u_999 ≈ 0.0064
    seen = []
    ablation_sampler(
        DiscreteLevels(gaussian(), u),
        latents(3, 4, seed=6),
        num_steps=12,
        callback=lambda step: seen.append(float(step["sigma_cur"])),
    )
    assert len(seen) == 12
    assert all(torch.isclose(u, torch.tensor(s, dtype=torch.float64)).any() for s in seen)
    assert seen[0] == pytest.approx(float(u[0])) and seen[-1] == pytest.approx(float(u[-1]))


def test_imperfect_denoiser_without_error_is_the_wrapped_denoiser():
    """delta = 0 and bias = 0 give exactly D(x; σ), for scalar and per-sample σ."""
    gm, x = low_dim_mixture(), latents(5, 64)
    net = ImperfectDenoiser(gm, delta=0.0, bias=0.0)
    sigma = torch.tensor([0.01, 0.1, 1.0, 10.0, 80.0], dtype=torch.float64)
    torch.testing.assert_close(net(x, sigma), gm(x, sigma), rtol=0, atol=0)
    torch.testing.assert_close(net(x, 0.3), gm(x, 0.3), rtol=0, atol=0)


def test_imperfect_denoiser_closed_form_on_gaussian_data():
    """For N(0, s² I) data, D̃ = D + δ(σ)(D − x) = [(1 + δ)s²/(s² + σ²) − δ] x with δ(σ) = δ₀/(1 + (σ/σ_δ)²);
    float32 inputs stay float32."""
    net = ImperfectDenoiser(gaussian(), delta=0.05, sigma_delta=0.5)
    x, sigma = latents(4, 4), torch.tensor([0.01, 0.5, 2.0, 30.0], dtype=torch.float64)
    delta = 0.05 / (1 + (sigma / 0.5) ** 2)
    torch.testing.assert_close(net.delta_of_sigma(sigma), delta, rtol=1e-15, atol=0)
    factor = (1 + delta) * S**2 / (S**2 + sigma**2) - delta  # [4]
    torch.testing.assert_close(net(x, sigma), factor[:, None] * x, rtol=1e-12, atol=1e-15)
    assert net(x.float(), 0.5).dtype == torch.float32


def test_over_denoising_shrinks_ode_samples_as_predicted():
    """With a constant δ the PF-ODE driven by D̃ on N(0, s² I) data is dx/dσ = (1 + δ) σ/(s² + σ²) x, so
    x(σ) = x(σ_max) ((σ² + s²)/(σ_max² + s²))^((1 + δ)/2): the output variance is too small by ≈ (s²/σ_max²)^δ."""
    delta, sigma_min, sigma_max = 0.05, 0.002, 80.0
    net = ImperfectDenoiser(gaussian(), delta=delta, sigma_delta=math.inf)
    z = latents(3, 4)
    ratio = (sigma_min**2 + S**2) / (sigma_max**2 + S**2)
    x_min, _ = solve_pf_ode(net, z * sigma_max, sigma_max, sigma_min)
    torch.testing.assert_close(x_min, z * sigma_max * ratio ** ((1 + delta) / 2), rtol=1e-7, atol=0)
    # After the last Euler step (onto D̃), per unit latent variance the samples have variance:
    last = (1 + delta) * S**2 / (S**2 + sigma_min**2) - delta
    variance = sigma_max**2 * ratio ** (1 + delta) * last**2
    out = reference_samples(net, z, sigma_min, sigma_max)
    torch.testing.assert_close(out, z * math.sqrt(variance), rtol=1e-7, atol=0)
    assert variance / S**2 == pytest.approx(
        (S**2 / sigma_max**2) ** delta, rel=0.01
    )  # ≈ 0.60: 40% too little


def test_sigma_dependent_delta_follows_its_closed_form():
    """With δ(σ) = δ₀σ_δ²/(σ_δ² + σ²) the ODE integrates in closed form (partial fractions in σ²):
    ln x(σ)/x(σ_max) = ½ ln((σ² + s²)/(σ_max² + s²)) + δ₀σ_δ²/(2(s² − σ_δ²)) [L(σ) − L(σ_max)],
    L(σ) = ln((σ² + σ_δ²)/(σ² + s²)); the error then only matters at σ ≲ σ_δ."""
    delta, sigma_delta, sigma_min, sigma_max = 0.05, 0.2, 0.002, 80.0
    net = ImperfectDenoiser(gaussian(), delta=delta, sigma_delta=sigma_delta)
    z = latents(3, 4)
    L = lambda s: math.log((s**2 + sigma_delta**2) / (s**2 + S**2))  # noqa: E731
    log_factor = 0.5 * math.log((sigma_min**2 + S**2) / (sigma_max**2 + S**2)) + (
        delta * sigma_delta**2 / (2 * (S**2 - sigma_delta**2)) * (L(sigma_min) - L(sigma_max))
    )
    x_min, _ = solve_pf_ode(net, z * sigma_max, sigma_max, sigma_min)
    torch.testing.assert_close(x_min, z * sigma_max * math.exp(log_factor), rtol=1e-7, atol=0)


def test_bias_is_smooth_bounded_windowed_and_deterministic():
    """The mid-σ error bias · w(σ) c_out(σ) g(x) is bounded by |bias| c_out(σ), ≈ 0 outside bias_sigma,
    and fixed by the seed (g = tanh of a fixed random affine map)."""
    gm, x = low_dim_mixture(), latents(6, 64)
    net = ImperfectDenoiser(gm, delta=0.0, bias=0.1, bias_sigma=(0.2, 5.0), seed=3)
    for sigma in (1.0, 0.01, 100.0):
        error = net(x, sigma) - gm(x, sigma)
        c_out = sigma * 0.5 / math.sqrt(sigma**2 + 0.25)
        assert error.abs().max() <= 0.1 * c_out
        if sigma == 1.0:
            assert error.abs().max() > 0.05 * c_out
        else:
            assert error.abs().max() < 1e-3 * c_out
    torch.testing.assert_close(
        net.bias_window(torch.tensor([0.2, 5.0])),
        torch.tensor([0.5, 0.5], dtype=torch.float64),
        rtol=1e-3,
        atol=0,
    )
    again = ImperfectDenoiser(gm, delta=0.0, bias=0.1, seed=3)
    torch.testing.assert_close(again(x, 1.0), net(x, 1.0), rtol=0, atol=0)
    assert not torch.allclose(
        ImperfectDenoiser(gm, delta=0.0, bias=0.1, seed=4)(x, 1.0), net(x, 1.0)
    )


def test_imperfect_denoiser_passes_the_net_protocol_through():
    """sigma_min, sigma_max and round_sigma are the wrapped net's (identity rounding when it has none)."""

    class GridNet:
        sigma_min, sigma_max = 0.01, 20.0

        def round_sigma(self, sigma):
            return torch.round(torch.as_tensor(sigma) * 4) / 4

        def __call__(self, x, sigma, class_labels=None):
            return torch.zeros_like(x)

    net = ImperfectDenoiser(GridNet())
    assert (net.sigma_min, net.sigma_max) == (0.01, 20.0)
    assert net.round_sigma(torch.tensor(0.3)).item() == 0.25
    plain = ImperfectDenoiser(gaussian())
    assert (plain.sigma_min, plain.sigma_max) == (0.0, math.inf) and plain.round_sigma(
        0.3
    ).item() == 0.3


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(delta=math.nan), "delta"),
        (dict(bias=math.inf), "bias"),
        (dict(sigma_delta=0.0), "sigma_delta"),
        (dict(bias_sigma=(5.0, 0.2)), "bias_sigma"),
        (dict(bias_sigma=(0.0, 1.0)), "bias_sigma"),
        (dict(sigma_data=-1.0), "sigma_data"),
    ],
)
def test_imperfect_denoiser_bad_inputs(kwargs, name):
    """Invalid error settings raise ValueError naming the argument."""
    with raises_naming(name):
        ImperfectDenoiser(gaussian(), **kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(std=0.5), "std"),
        (dict(dim=0), "dim"),
        (dict(num_components=1), "num_components"),
        (dict(intrinsic_dim=0), "intrinsic_dim"),
    ],
)
def test_low_dim_mixture_bad_inputs(kwargs, name):
    """Invalid construction settings raise ValueError naming the argument."""
    with raises_naming(name):
        low_dim_mixture(**kwargs)
