"""Chapter 6's instruments: the weighted loss floor, the loss at initialisation, and the
configurations of Table 2 in miniature (`instruments.evaluation`, `instruments.trained`)."""

from __future__ import annotations

import pytest
import torch

from edm_src import losses
from edm_src.denoisers import GaussianMixture
from edm_src.instruments import evaluation, trained

LOSSES = {
    "vp": losses.VPLoss(),
    "ve": losses.VELoss(),
    "edm": losses.EDMLoss(sigma_data=0.5),
}


@pytest.mark.parametrize("name", LOSSES)
def test_weighted_floor_matches_closed_form_for_gaussian_data(name):
    """For y ~ N(0, s²I) the measured λ(σ)·E‖D* − y‖² per coordinate (denoising_errors, then
    weighted_by_loss) is λ(σ)·σ²s²/(σ² + s²) (gaussian_weighted_floor) within 4 standard
    errors, at σ from 0.005 to 50, for each family's λ."""
    s = 0.7
    mixture = GaussianMixture(torch.zeros(1, 4), torch.tensor([s]), torch.ones(1))
    sigmas = torch.logspace(-2.3, 1.7, 9, dtype=torch.float64)
    errors = evaluation.denoising_errors(
        mixture, mixture, mixture, sigmas, 4000, torch.Generator().manual_seed(1)
    )
    weighted = evaluation.weighted_by_loss(errors, LOSSES[name])
    closed = evaluation.gaussian_weighted_floor(LOSSES[name], sigmas, s)
    assert ((weighted["floor"] - closed).abs() < 4 * weighted["floor_se"]).all()
    assert torch.allclose(weighted["floor"], LOSSES[name].weight(sigmas) * errors["floor"])


def test_edm_weighted_floor_is_one_when_sigma_data_is_the_data_std():
    """With EDM's λ and Gaussian data of std σ_data, the weighted floor is exactly 1 at every σ
    (c_skip·x is then the exact denoiser); for other data stds it is not."""
    sigmas = torch.logspace(-3, 2, 11, dtype=torch.float64)
    for sd in (0.25, 0.5, 2.0):
        floor = evaluation.gaussian_weighted_floor(losses.EDMLoss(sigma_data=sd), sigmas, sd)
        assert torch.allclose(floor, torch.ones_like(floor), rtol=1e-12, atol=0)
    wrong = evaluation.gaussian_weighted_floor(losses.EDMLoss(sigma_data=0.5), sigmas, 1.0)
    assert (wrong[-3:] > 3).all()  # at large σ the target's variance is (1/0.5)² = 4


def test_initial_denoiser_is_c_skip_x_and_starts_at_loss_one():
    """A run's D_θ before training is c_skip(σ)·x exactly (zero last layer), and its EDM-weighted
    loss on the 16-D mixture (second moment σ_data² per coordinate) is 1 within 4 standard
    errors at every σ: (1 − c_skip)²σ_d² + c_skip²σ² = c_out², and λ = 1/c_out²."""
    mixture, data = trained.mixture_training_data(16, n=64)
    run = trained.table2_run(data, "vp", "E")
    net = trained.initial_denoiser(run, (16,))
    x = torch.randn(5, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for sigma in (0.01, 0.5, 20.0):
        c_skip = 0.25 / (sigma**2 + 0.25)
        assert torch.allclose(net(x, sigma).to(torch.float64), c_skip * x, atol=1e-6)
    sigmas = torch.tensor([0.003, 0.3, 30.0], dtype=torch.float64)
    errors = evaluation.denoising_errors(
        net, mixture, mixture, sigmas, 4000, torch.Generator().manual_seed(3)
    )
    weighted = evaluation.weighted_by_loss(errors, losses.EDMLoss(sigma_data=0.5))
    assert ((weighted["loss"] - 1).abs() < 4 * weighted["loss_se"]).all()


def test_initial_denoiser_is_the_first_weights_training_starts_from():
    """initial_denoiser builds the raw network from the run's seed exactly as training does:
    after one step with a zero learning rate the raw weights are unchanged and equal to it."""
    _, data = trained.mixture_training_data(4, n=64)
    run = dict(trained.table2_run(data, "vp", "E", seed=3), steps=1, lr=1e-30)
    initial = trained.initial_denoiser(run, (4,))
    result = training_one(run)
    for a, b in zip(initial.model.parameters(), result.raw_net.model.parameters()):
        assert torch.allclose(a, b, atol=1e-20)


def training_one(run):
    from edm_src import training

    return training.train_many([run], cache=False, progress=False)[0]


def test_table2_rows_change_one_thing_each():
    """Table 2's rows are cumulative: B differs from A in the learning rate only; D from B in
    the preconditioning only (EDM's, the column's loss kept); E from D in the loss only; the
    two columns differ in the preconditioning, the loss and the noise embedding."""
    data = torch.zeros(8, 2)
    row = {r: trained.table2_run(data, "ve", r) for r in trained.TABLE2_ROWS}

    def differing(a, b):
        return {k for k in a if k != "data" and a[k] != b.get(k)} | {k for k in b if k not in a}

    assert differing(row["A"], row["B"]) == {"lr"}
    assert differing(row["B"], row["D"]) == {"precond", "precond_kwargs"}
    assert differing(row["D"], row["E"]) == {"loss", "loss_kwargs"}
    assert row["E"]["loss"] == "edm" and row["D"]["loss"] == "ve"
    vp_e = trained.table2_run(data, "vp", "E")
    assert differing(vp_e, row["E"]) == {"network_kwargs"}
    assert vp_e["network_kwargs"]["embedding"] == "positional"
    assert row["E"]["network_kwargs"]["embedding"] == "fourier"


def test_digits_rows_e_and_f_differ_in_augmentation_only():
    """Row F is row E with non-leaky augmentation (augment_p > 0), on the same first digits."""
    digits = torch.rand(40, 1, 2, 2) * 2 - 1
    e, f = (trained.digits_f_run(digits, r, seed=1, num_train=10) for r in ("E", "F"))
    assert e["augment_p"] == 0 and f["augment_p"] == trained.DIGITS_F_AUGMENT_P
    assert {k for k in e if k != "data" and e[k] != f[k]} == {"augment_p"}
    assert torch.equal(e["data"], digits[:10].float()) and torch.equal(f["data"], e["data"])
