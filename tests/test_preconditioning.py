"""Tests for edm_src.preconditioning: Table 1's coefficients, the forward pass,
and the Sec. 5 / App. B.6 claims that motivate the EDM preconditioning."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import raises_naming, rand, randn

from edm_src.preconditioning import EDMPrecond, VEPrecond, VPPrecond, iDDPMPrecond

SIGMAS = [0.002, 0.0105, 0.1, 0.5, 1.0, 2.5, 12.9, 80.0]
SIGMA_DATA = 0.5


def zero_model(x, noise_labels, class_labels=None):
    return torch.zeros_like(x)


def reference_iddpm_u(M=1000, C_1=0.001, C_2=0.008):
    """u_M = 0, u_{j-1} = √((u_j² + 1)/max(ᾱ_{j-1}/ᾱ_j, C_1) − 1), in plain Python floats."""
    alpha_bar = [math.sin(0.5 * math.pi * j / (M * (C_2 + 1))) ** 2 for j in range(M + 1)]
    u = [0.0] * (M + 1)
    for j in range(M, 0, -1):
        u[j - 1] = math.sqrt((u[j] ** 2 + 1) / max(alpha_bar[j - 1] / alpha_bar[j], C_1) - 1)
    return u


U = reference_iddpm_u()


def vp_sigma_ref(t, beta_d=19.9, beta_min=0.1):
    return math.sqrt(math.exp(0.5 * beta_d * t**2 + beta_min * t) - 1)


def table1(kind, sigma):
    """(c_skip, c_out, c_in, c_noise) straight from Table 1 with the paper's constants."""
    if kind == "VP":
        beta_d, beta_min, M = 19.9, 0.1, 1000
        log_sigma2_plus_1 = math.log1p(sigma**2)  # ln(σ² + 1), accurate at small σ
        sigma_inv = (math.sqrt(beta_min**2 + 2 * beta_d * log_sigma2_plus_1) - beta_min) / beta_d
        return 1.0, -sigma, 1 / math.sqrt(sigma**2 + 1), (M - 1) * sigma_inv
    if kind == "VE":
        return 1.0, sigma, 1.0, math.log(0.5 * sigma)
    if kind == "iDDPM":
        j = min(range(len(U)), key=lambda j: abs(U[j] - sigma))
        return 1.0, -sigma, 1 / math.sqrt(sigma**2 + 1), 1000 - 1 - j
    sd = SIGMA_DATA
    return (
        sd**2 / (sigma**2 + sd**2),
        sigma * sd / math.sqrt(sigma**2 + sd**2),
        1 / math.sqrt(sigma**2 + sd**2),
        0.25 * math.log(sigma),
    )


PRECONDS = {"VP": VPPrecond, "VE": VEPrecond, "iDDPM": iDDPMPrecond, "EDM": EDMPrecond}


# --- Table 1 ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", PRECONDS)
def test_coefficients_match_table1(kind):
    """Every coefficient, at σ from 0.002 to 80, equals Table 1's formula (paper's constants)."""
    net = PRECONDS[kind](zero_model)
    sigma = torch.tensor(SIGMAS, dtype=torch.float64)
    got = net.coefficients(sigma)
    for i, s in enumerate(SIGMAS):
        for name, g, want in zip(("c_skip", "c_out", "c_in", "c_noise"), got, table1(kind, s)):
            assert g.shape == sigma.shape, name
            # ln(σ² + 1) is evaluated as Table 1 writes it, which loses ~log10(1/σ²) digits
            # at small σ in float64: allow 1e-9 for VP's c_noise, 1e-12 elsewhere.
            rel = 1e-9 if (kind, name) == ("VP", "c_noise") else 1e-12
            assert g[i].item() == pytest.approx(want, rel=rel, abs=1e-12), (kind, name, s)


@pytest.mark.parametrize("kind", PRECONDS)
def test_coefficients_keep_sigma_shape(kind):
    """coefficients() returns four tensors shaped like sigma (scalar and 2-D alike)."""
    net = PRECONDS[kind](zero_model)
    for sigma in (torch.tensor(1.0), rand(3, 4, dtype=torch.float32) + 0.1):
        assert all(c.shape == sigma.shape for c in net.coefficients(sigma))


def test_sigma_range_attributes():
    """sigma_min/sigma_max: VP σ(ε_t), σ(1) ≈ 152; VE and EDM as given; iDDPM u_999, u_0."""
    vp = VPPrecond(zero_model)
    assert vp.sigma_min == pytest.approx(vp_sigma_ref(1e-5), rel=1e-9)
    assert vp.sigma_max == pytest.approx(vp_sigma_ref(1.0), rel=1e-12)
    assert vp.sigma_max == pytest.approx(152.17, abs=0.01)
    ve = VEPrecond(zero_model)
    assert (ve.sigma_min, ve.sigma_max) == (0.02, 100.0)
    iddpm = iDDPMPrecond(zero_model)
    assert iddpm.sigma_min == iddpm.u[999].item() and iddpm.sigma_max == iddpm.u[0].item()
    assert iddpm.sigma_min == pytest.approx(U[999], rel=1e-3)  # float32 levels, see below
    assert iddpm.sigma_max == pytest.approx(U[0], rel=1e-6)
    edm = EDMPrecond(zero_model)
    assert (edm.sigma_min, edm.sigma_max) == (0.0, math.inf)


def test_vp_sigma_and_inverse():
    """VP's σ(t) follows Table 1, σ⁻¹ inverts it, and σ(ε_s = 1e-3) ≈ 0.0105 as the sheet says."""
    vp = VPPrecond(zero_model)
    t = torch.linspace(1e-5, 1, 50, dtype=torch.float64)
    sigma = vp.sigma(t)
    assert torch.allclose(
        sigma, torch.tensor([vp_sigma_ref(x) for x in t.tolist()], dtype=torch.float64)
    )
    assert torch.allclose(vp.sigma_inv(sigma), t, rtol=1e-10, atol=0)
    assert vp.sigma(1e-3).item() == pytest.approx(0.0105, abs=5e-5)


def test_iddpm_levels_and_alpha_bar():
    """iDDPM's u buffer follows the recursion (u_M = 0, decreasing, u_8 ≈ 80.2) and ᾱ_j its formula.

    The buffer is the recursion run in float32, as in the paper's reference
    setup: over 1,000 steps its rounding drifts from the exact (float64) levels
    by up to ~5e-4 at the smallest levels, and by < 1e-6 at the largest.
    """
    net = iDDPMPrecond(zero_model)
    assert net.u.shape == (1001,) and net.u.dtype == torch.float32
    exact = torch.tensor(U, dtype=torch.float64)
    assert torch.allclose(net.u.double(), exact, rtol=1e-3, atol=0)
    assert torch.allclose(net.u[:100].double(), exact[:100], rtol=1e-6, atol=0)
    assert net.u[-1] == 0 and (net.u[1:] < net.u[:-1]).all()
    assert net.u[8].item() == pytest.approx(80.2, abs=0.05)
    assert net.alpha_bar(500).item() == pytest.approx(
        math.sin(0.25 * math.pi / 1.008) ** 2, rel=1e-6
    )


def test_iddpm_round_sigma_snaps_to_levels():
    """round_sigma snaps to the nearest u_j, keeps sigma's shape; its index j gives c_noise = M − 1 − j."""
    net = iDDPMPrecond(zero_model)
    sigma = torch.tensor([[0.0, 0.003, 0.1], [1.0, 80.0, 1e5]], dtype=torch.float64)
    rounded = net.round_sigma(sigma)
    j = net.round_sigma(sigma, return_index=True)
    assert rounded.shape == sigma.shape and j.shape == sigma.shape
    levels = net.u.tolist()
    for s, r, k in zip(sigma.flatten().tolist(), rounded.flatten().tolist(), j.flatten().tolist()):
        k_ref = min(range(len(levels)), key=lambda i: abs(levels[i] - s))
        assert k == k_ref and r == levels[k_ref]
    assert torch.equal(net.round_sigma(rounded, return_index=True), j)  # levels are fixed points
    assert torch.equal(net.coefficients(sigma)[3], (999 - j).double())
    # An exact tie between two levels (their midpoint, in float64): the larger level, smaller j.
    midpoint = (net.u[500].double() + net.u[501].double()) / 2
    assert net.round_sigma(midpoint, return_index=True).item() == 500


@pytest.mark.parametrize("kind", ["VP", "VE", "EDM"])
def test_round_sigma_is_identity_for_continuous_models(kind):
    """VP, VE and EDM accept any σ: round_sigma returns it unchanged, as a tensor (a Python
    number as float64, so that 0.3 stays 0.3)."""
    sigma = torch.tensor([0.01, 0.3, 7.0])
    assert torch.equal(PRECONDS[kind](zero_model).round_sigma(sigma), sigma)
    rounded = PRECONDS[kind](zero_model).round_sigma(0.3)
    assert rounded.dtype == torch.float64 and rounded.item() == 0.3


# --- forward ---------------------------------------------------------------------


class RecordingModel(torch.nn.Module):
    """A raw network F that records its inputs and returns a fixed non-linear function of them."""

    def forward(self, x_in, noise_labels, class_labels=None, **kwargs):
        self.x_in, self.noise_labels = x_in, noise_labels
        self.class_labels, self.kwargs = class_labels, kwargs
        return torch.sin(x_in) + noise_labels.reshape(-1, *[1] * (x_in.ndim - 1))


@pytest.mark.parametrize("kind", PRECONDS)
@pytest.mark.parametrize("x_shape", [(4, 3), (4, 2, 5, 5)], ids=["points", "images"])
@pytest.mark.parametrize("sigma_kind", ["scalar", "per-sample", "column"])
def test_forward_is_c_skip_x_plus_c_out_F(kind, x_shape, sigma_kind):
    """forward = c_skip·x + c_out·F(c_in·x; c_noise); F gets c_in·x and labels [B]; output float32."""
    model = RecordingModel()
    net = PRECONDS[kind](model)
    B = x_shape[0]
    x = randn(x_shape, seed=101) * 3
    sigma = {
        "scalar": torch.tensor(1.3),
        "per-sample": torch.tensor([0.02, 0.4, 5.0, 60.0]),
        "column": torch.tensor([0.02, 0.4, 5.0, 60.0]).reshape(B, *[1] * (len(x_shape) - 1)),
    }[sigma_kind]
    labels = torch.arange(B)
    D = net(x, sigma, labels)

    sigma_B = sigma.reshape(-1).expand(B).float()  # [B]
    c_skip, c_out, c_in, c_noise = (
        c.reshape(-1, *[1] * (x.ndim - 1)) for c in net.coefficients(sigma_B)
    )
    x32 = x.float()
    assert model.x_in.dtype == torch.float32 and torch.allclose(model.x_in, c_in * x32)
    assert model.noise_labels.shape == (B,) and torch.allclose(
        model.noise_labels, c_noise.flatten()
    )
    assert model.class_labels is labels
    expected = c_skip * x32 + c_out * (torch.sin(c_in * x32) + c_noise)
    assert D.dtype == torch.float32 and D.shape == x.shape
    assert torch.allclose(D, expected, rtol=1e-6, atol=1e-5)


def test_forward_passes_extra_kwargs_to_model():
    """Keyword arguments such as augment_labels reach the raw network unchanged."""
    model = RecordingModel()
    aug = torch.ones(2, 9)
    EDMPrecond(model)(torch.zeros(2, 3), 1.0, augment_labels=aug)
    assert model.kwargs["augment_labels"] is aug and model.class_labels is None


def test_forward_rejects_sigma_of_wrong_size():
    """A sigma that is neither a scalar nor one value per sample is a ValueError naming sigma."""
    with raises_naming("sigma"):
        EDMPrecond(zero_model)(torch.zeros(4, 3), torch.ones(3))


# --- argument checks -------------------------------------------------------------


@pytest.mark.parametrize("kind", PRECONDS)
def test_negative_sigma_is_rejected(kind):
    """Negative σ in forward or coefficients raises a ValueError naming sigma."""
    net = PRECONDS[kind](zero_model)
    with raises_naming("sigma"):
        net(torch.zeros(2, 3), torch.tensor([1.0, -0.1]))
    with raises_naming("sigma"):
        net.coefficients(-1.0)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: VPPrecond(zero_model, beta_d=0), "beta_d"),
        (lambda: VPPrecond(zero_model, beta_min=-0.1), "beta_min"),
        (lambda: VPPrecond(zero_model, M=0), "M"),
        (lambda: VPPrecond(zero_model, epsilon_t=0), "epsilon_t"),
        (lambda: VPPrecond(zero_model, epsilon_t=1), "epsilon_t"),
        (lambda: VEPrecond(zero_model, sigma_min=0), "sigma_min"),
        (lambda: VEPrecond(zero_model, sigma_min=100, sigma_max=100), "sigma_min"),
        (lambda: iDDPMPrecond(zero_model, C_1=0), "C_1"),
        (lambda: iDDPMPrecond(zero_model, C_2=-1), "C_2"),
        (lambda: iDDPMPrecond(zero_model, M=2.5), "M"),
        (lambda: EDMPrecond(zero_model, sigma_data=0), "sigma_data"),
        (lambda: EDMPrecond(zero_model, sigma_min=1, sigma_max=0.5), "sigma_min"),
    ],
)
def test_invalid_constants_are_rejected(make, name):
    """Non-positive constants and sigma_min >= sigma_max raise a ValueError naming the argument."""
    with raises_naming(name):
        make()


# --- Sec. 5 / App. B.6: why the EDM coefficients are what they are ----------------

GRID = torch.logspace(math.log10(0.002), math.log10(80), 12, dtype=torch.float64).tolist()
N = 200_000


@pytest.mark.parametrize("data", ["two-point", "gaussian"])
def test_edm_input_and_target_have_unit_variance(data):
    """Sec. 5 steps 1–2: for data of std σ_d, Var[c_in(y+n)] = 1 and Var[F_target] = 1 at every σ.

    Both quantities are zero-mean sums of independent terms with kurtosis in [1, 3],
    so the standard error of the sample second moment is at most √(2/N); we allow 5 of them.
    """
    g = torch.Generator().manual_seed(1)
    net = EDMPrecond(zero_model, sigma_data=SIGMA_DATA)
    tol = 5 * math.sqrt(2 / N)
    for sigma in GRID:
        if data == "two-point":
            y = SIGMA_DATA * (2 * torch.randint(0, 2, (N,), generator=g, dtype=torch.float64) - 1)
        else:
            y = SIGMA_DATA * torch.randn(N, generator=g, dtype=torch.float64)
        n = sigma * torch.randn(N, generator=g, dtype=torch.float64)
        c_skip, c_out, c_in, _ = net.coefficients(torch.tensor(sigma, dtype=torch.float64))
        F_target = (y - c_skip * (y + n)) / c_out
        assert (c_in * (y + n)).pow(2).mean().item() == pytest.approx(1, abs=tol), sigma
        assert F_target.pow(2).mean().item() == pytest.approx(1, abs=tol), sigma


def test_edm_unit_variances_exactly():
    """Sec. 5 steps 1–2 in closed form: for independent y (variance σ_d²) and n (variance σ²),
    Var[c_in(y+n)] = c_in²(σ_d² + σ²) and Var[F_target] = ((1−c_skip)²σ_d² + c_skip²σ²)/c_out²,
    and both equal 1 to float64 rounding at every σ on the grid."""
    net = EDMPrecond(zero_model, sigma_data=SIGMA_DATA)
    for sigma in GRID:
        c_skip, c_out, c_in, _ = net.coefficients(torch.tensor(sigma, dtype=torch.float64))
        var_in = c_in**2 * (SIGMA_DATA**2 + sigma**2)
        var_target = ((1 - c_skip) ** 2 * SIGMA_DATA**2 + c_skip**2 * sigma**2) / c_out**2
        assert var_in.item() == pytest.approx(1, rel=1e-12), sigma
        assert var_target.item() == pytest.approx(1, rel=1e-12), sigma


def test_edm_c_skip_minimises_c_out():
    """Sec. 5 step 3: c_skip = σ_d²/(σ²+σ_d²) minimises c_out² = (1−c_skip)²σ_d² + c_skip²σ²,
    and the minimum is EDM's c_out²."""
    net = EDMPrecond(zero_model, sigma_data=SIGMA_DATA)
    c_skip_grid = torch.linspace(0, 1, 100_001, dtype=torch.float64)
    for sigma in GRID:
        c_out_sq = (1 - c_skip_grid) ** 2 * SIGMA_DATA**2 + c_skip_grid**2 * sigma**2
        c_skip, c_out, _, _ = net.coefficients(torch.tensor(sigma, dtype=torch.float64))
        assert c_skip_grid[c_out_sq.argmin()].item() == pytest.approx(c_skip.item(), abs=1e-5)
        # c_out² is a parabola with curvature σ² + σ_d²: the grid minimum exceeds c_out(σ)²
        # by at most (σ² + σ_d²)·(grid step)², and never undershoots it.
        excess = c_out_sq.min().item() - c_out.item() ** 2
        assert -1e-15 <= excess <= (sigma**2 + SIGMA_DATA**2) * 1e-10


def test_extra_output_channels_are_dropped():
    """A raw network returning 2C channels (iDDPM's mean and variance) only contributes its first C."""

    def two_headed(x_in, noise_labels, class_labels=None):
        return torch.cat(
            [torch.ones_like(x_in), 100 * torch.ones_like(x_in)], dim=1
        )  # [B, 2C, H, W]

    x = randn(2, 3, 4, 4, seed=104, dtype=torch.float32)
    out = iDDPMPrecond(two_headed)(x, 1.0)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x - 1.0)  # c_skip = 1, c_out = −σ, F = 1 from the first head


def test_force_fp32_is_accepted_and_changes_nothing():
    """forward(..., force_fp32=True) gives the same float32 result (no fp16 path here)."""
    net = EDMPrecond(lambda x_in, c_noise, class_labels=None: torch.tanh(x_in))
    x = randn(3, 2, seed=105, dtype=torch.float32)
    torch.testing.assert_close(net(x, 0.5, force_fp32=True), net(x, 0.5), rtol=0, atol=0)
