"""Networks, training and the per-σ evaluation against the exact denoiser.

What is proved here:

* each raw network works under each preconditioner of Table 1, on vectors and on images;
* a training run optimises exactly the loss `edm_src.losses` defines (first step's loss);
* Adam and the EMA follow their formulas; the learning rate ramps up linearly;
* training is deterministic bit for bit, and runs trained together equal runs trained alone;
* on Gaussian data, whose ideal denoiser is linear, a short run gets within a stated margin
  of the closed-form floor of the loss;
* the cache returns identical weights, and retrains when the configuration or the code changes;
* the per-σ floor matches its closed form, and loss = floor + network error (Pythagoras);
* EDM2's uncertainty head: at the optimum e^{u(σ)} is the weighted loss per σ, on Gaussian
  data where that loss is known in closed form; the head leaves the other weights as they were.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import raises_naming

from edm_src import losses, networks, preconditioning, training
from edm_src.denoisers import GaussianMixture
from edm_src.instruments import evaluation

SMALL_MLP = dict(width=16, depth=1, emb_channels=8)
SMALL_UNET = dict(channels=8, emb_channels=8, groups=4)


def precond_of(name: str, model):
    return training.PRECONDS[name](model)


@pytest.mark.parametrize("precond", sorted(training.PRECONDS))
@pytest.mark.parametrize(
    "network, shape",
    [("mlp", (2,)), ("mlp", (1, 8, 8)), ("unet", (1, 8, 8)), ("unet", (3, 4, 6))],
)
def test_every_network_under_every_preconditioner(network, shape, precond):
    """D_θ(x; σ) of each network under each preconditioner returns float32 shaped like x, for
    σ per sample; at initialisation F_θ = 0 (zero last layer), so D_θ = c_skip·x exactly."""
    g = torch.Generator().manual_seed(0)
    kwargs = SMALL_MLP if network == "mlp" else SMALL_UNET
    model = networks.make_network(network, shape, generator=g, **kwargs)
    net = precond_of(precond, model)
    x = torch.randn((5, *shape), generator=g)
    sigma = torch.tensor([0.01, 0.1, 1.0, 10.0, 50.0])
    D = net(x, sigma)
    assert D.shape == x.shape and D.dtype == torch.float32
    c_skip = net.coefficients(sigma)[0].reshape((5,) + (1,) * len(shape))
    torch.testing.assert_close(D, c_skip * x, rtol=0, atol=0)


def test_raw_networks_respond_to_the_noise_label():
    """Once its last layer is non-zero, the output depends on c_noise (the embedding reaches the
    output) for 'positional' and 'fourier', and not at all for 'none'."""
    for embedding in ("positional", "fourier", "none"):
        g = torch.Generator().manual_seed(1)
        model = networks.MLP(
            3, embedding=embedding, generator=g, **{**SMALL_MLP, "emb_channels": 8}
        )
        torch.nn.init.normal_(model.out.weight, generator=g)
        x = torch.randn(4, 3, generator=g)
        a, b = model(x, torch.zeros(4)), model(x, torch.ones(4))
        assert torch.equal(a, b) == (embedding == "none"), embedding


def test_positional_embedding_formula():
    """[cos(c f_k), sin(c f_k)] with f_k = 10000^(−k/(C/2 − 1)): f_0 = 1, the last f = 1e-4."""
    c = torch.tensor([0.0, 2.0])
    emb = networks.positional_embedding(c, 8)  # [2, 8]
    freqs = 1e-4 ** (torch.arange(4) / 3)
    torch.testing.assert_close(emb[1], torch.cat([(2 * freqs).cos(), (2 * freqs).sin()]))
    torch.testing.assert_close(emb[0], torch.cat([torch.ones(4), torch.zeros(4)]))


def test_parameter_counts_are_what_the_architecture_says():
    """The MLP's count in closed form: input, blocks of three W×W layers, the embedding's
    mapping network and the output layer (weights and biases)."""
    D, W, L, E = 5, 16, 2, 8
    model = networks.MLP(D, width=W, depth=L, emb_channels=E)
    expected = (D * W + W) + L * 3 * (W * W + W) + (E * W + W) + (W * W + W) + (W * D + D)
    assert networks.network_parameter_count(model) == expected


@pytest.mark.parametrize("target", preconditioning.TARGETS)
def test_target_coefficients(target):
    """App. B.6: for 'D', 'eps' and 'edm' the effective target has unit variance,
    c_out² = (1 − c_skip)²σ_d² + c_skip²σ²; 'edm' is EDMPrecond; and TargetLoss's λ·c_out² = 1."""
    sigma = torch.logspace(-2, 2, 9, dtype=torch.float64)
    sd = 0.7
    c_skip, c_out = preconditioning.target_coefficients(target, sigma, sd)
    if target == "score":
        torch.testing.assert_close(c_out, sigma**2)
    else:
        torch.testing.assert_close(c_out**2, (1 - c_skip) ** 2 * sd**2 + c_skip**2 * sigma**2)
    if target == "edm":
        edm = preconditioning.EDMPrecond(None, sigma_data=sd).coefficients(sigma)
        torch.testing.assert_close((c_skip, c_out), edm[:2])
    loss = losses.TargetLoss(target, sigma_data=sd)
    torch.testing.assert_close(loss.weight(sigma) * c_out**2, torch.ones_like(sigma))


def test_edm_c_skip_minimises_c_out():
    """Among all c_skip, EDM's minimises c_out = √((1 − c_skip)²σ_d² + c_skip²σ²) (App. B.6, step 3)."""
    sd = 0.5
    for sigma in (0.05, 0.5, 5.0):
        grid = torch.linspace(-0.5, 1.5, 20001, dtype=torch.float64)
        c_out = ((1 - grid) ** 2 * sd**2 + grid**2 * sigma**2).sqrt()
        edm = preconditioning.target_coefficients(
            "edm", torch.tensor(sigma, dtype=torch.float64), sd
        )
        assert abs(float(grid[c_out.argmin()]) - float(edm[0])) < 2e-4
        assert float(edm[1]) <= float(c_out.min()) + 1e-12


def gaussian_data(n=2048, std=1.0, dim=1, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * std


RUN = dict(steps=40, batch_size=64, network_kwargs=SMALL_MLP, lr=1e-2)


def test_the_first_step_optimises_the_package_loss():
    """The loss recorded at step 0 is `EDMLoss` of the initial D_θ on the first batch, with the
    same generator: the training loop draws batch, σ and n as the loss does."""
    data = gaussian_data(dim=2)
    result = training.train(data, cache=False, progress=False, **RUN)
    config = result.config
    g = torch.Generator().manual_seed(config["seed"])
    model = networks.make_network("mlp", (2,), generator=g, **SMALL_MLP)
    y = data[torch.randint(len(data), (RUN["batch_size"],), generator=g)]
    expected = losses.EDMLoss()(training.denoiser(config, model), y, generator=g).mean()
    torch.testing.assert_close(result.history["loss"][0], expected.to(torch.float64))


def test_adam_step_matches_torch():
    """`_adam_` (Kingma & Ba, Algorithm 1) equals torch.optim.Adam over several steps."""
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(1, 6, generator=g)
    ours = {"w": p0.clone()}
    m, v = {"w": torch.zeros_like(p0)}, {"w": torch.zeros_like(p0)}
    ref = p0[0].clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=0.01, betas=training.ADAM_BETAS, eps=training.ADAM_EPS)
    for step in range(5):
        grad = torch.randn(6, generator=g)
        training._adam_(ours, {"w": grad[None]}, m, v, step, torch.tensor([0.01]))
        ref.grad = grad.clone()
        opt.step()
    torch.testing.assert_close(ours["w"][0], ref.detach(), rtol=1e-6, atol=1e-7)


def test_learning_rate_ramps_up_linearly():
    """lr·min((k + 1)/R, 1): a tenth of lr after R/10 steps, lr from step R − 1 on."""
    assert training.learning_rate(9, 1.0, 100) == pytest.approx(0.1)
    assert training.learning_rate(99, 1.0, 100) == 1.0
    assert training.learning_rate(500, 1.0, 100) == 1.0
    assert training.learning_rate(0, 0.5, 0) == 0.5


def test_ema_beta_halves_every_halflife():
    """β^(h/B) = ½: a weight's share halves every h samples; the ramp-up caps h at ratio·n."""
    beta = training.ema_beta(10**6, 50, 2000.0, None)
    assert beta ** (2000 / 50) == pytest.approx(0.5)
    assert training.ema_beta(1000, 50, 2000.0, 0.05) == pytest.approx(0.5 ** (50 / 50))


def test_ema_follows_its_recursion():
    """θ_ema,k = β_k θ_ema,k−1 + (1 − β_k) θ_k, checked with runs of 1, 2, 3 steps (a run of k
    steps is the first k steps of a longer run when the schedules are fixed)."""
    data = gaussian_data(dim=2)
    run = dict(RUN, lr_rampup=5, ema_halflife=200.0, ema_rampup_ratio=None)
    results = [
        training.train(data, cache=False, progress=False, **dict(run, steps=k)) for k in (1, 2, 3)
    ]
    for k in (1, 2):
        before, after = results[k - 1].net.state_dict(), results[k].net.state_dict()
        raw = results[k].raw_net.state_dict()
        beta = training.ema_beta((k + 1) * 64, 64, 200.0, None)
        for name in before:
            if before[name].is_floating_point() and before[name].numel():
                torch.testing.assert_close(
                    after[name], beta * before[name] + (1 - beta) * raw[name], rtol=1e-5, atol=1e-7
                )


def test_training_is_deterministic_and_batched_equals_separate():
    """The same seed gives the same weights bit for bit; another seed other weights; and runs
    trained together in one vmapped pass equal the same runs trained alone, bit for bit."""
    data = gaussian_data(dim=2)
    a = training.train(data, cache=False, progress=False, **RUN)
    b = training.train(data, cache=False, progress=False, **RUN)
    runs = [dict(RUN, data=data, seed=s, lr=lr) for s, lr in ((0, 1e-2), (1, 1e-2), (2, 3e-3))]
    together = training.train_many(runs, cache=False, progress=False)
    alone = [training.train_many([r], cache=False, progress=False)[0] for r in runs]
    sa, sb = a.net.state_dict(), b.net.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    for t, s in zip(together, alone, strict=True):
        st, ss = t.net.state_dict(), s.net.state_dict()
        assert all(torch.equal(st[k], ss[k]) for k in st)
        assert torch.equal(t.history["loss"], s.history["loss"])
    s0, s1 = together[0].net.state_dict(), together[1].net.state_dict()
    assert torch.equal(together[0].net.state_dict()["model.inp.weight"], sa["model.inp.weight"])
    assert not torch.equal(s0["model.inp.weight"], s1["model.inp.weight"])


def test_short_run_on_gaussian_data_reaches_the_floor():
    """Data N(0, 1) in 1-D with σ_data = 0.5 assumed (so F_θ must learn a non-zero map): the
    loss starts more than 20% above its closed-form floor E_σ[λ(σ)σ²/(σ² + 1)], and after 400
    steps the EMA network's weighted loss is within 3% of the exact denoiser's on the same
    20,000 draws of (y, σ, n), whose mean is the closed-form floor within 2%."""
    data = gaussian_data(n=8192, std=1.0)
    result = training.train(
        data,
        cache=False,
        progress=False,
        steps=400,
        batch_size=256,
        lr=3e-3,
        network_kwargs=dict(width=32, depth=2, emb_channels=16),
    )
    loss = losses.EDMLoss()
    g = torch.Generator().manual_seed(7)
    n = 20_000
    y = torch.randn(n, 1, generator=g, dtype=torch.float64)
    sigma = loss.sample_sigma((n, 1), generator=g).double()  # σ ~ p_train
    x = y + sigma * torch.randn(n, 1, generator=g, dtype=torch.float64)
    weight = loss.weight(sigma)
    trained = float((weight * (result.net(x, sigma).double() - y) ** 2).mean())
    exact = float((weight * (x / (sigma**2 + 1) - y) ** 2).mean())  # D* = x/(σ² + 1)
    floor = float((weight * evaluation.gaussian_floor(sigma, 1.0)).mean())
    first = float(result.history["loss"][:20].mean())
    assert first > 1.2 * floor  # at initialisation the loss is well above the floor
    assert abs(exact / floor - 1) < 0.02
    assert 1 - 1e-3 < trained / exact < 1.03, (trained, exact)


def test_learned_uncertainty_is_the_weighted_loss_per_sigma():
    """EDM2's loss λ‖D − y‖²/e^u + u is minimal over u at e^u = E[λ‖D − y‖² | σ].  Data
    N(0, 1) in 4-D with σ_data = 0.5 assumed, so that the weighted floor λ(σ)σ²/(σ² + 1)
    (closed form: `gaussian_weighted_floor`) rises from 1 to 4 across σ: after 600 steps the
    learned e^{u(σ)} is within 4% of it over p_train's central ±1 sd of ln σ (where a network
    that is not exact would sit above the floor, and u would follow it there too)."""
    data = gaussian_data(n=20_000, std=1.0, dim=4)
    result = training.train(
        data,
        cache=False,
        progress=False,
        steps=600,
        batch_size=256,
        lr=4e-3,
        network_kwargs=dict(width=16, depth=1, emb_channels=16, logvar_channels=16),
    )
    loss = losses.EDMLoss()
    sigma = torch.exp(loss.P_mean + loss.P_std * torch.linspace(-1, 1, 9, dtype=torch.float64))
    learned = evaluation.learned_uncertainty(result.net, sigma)  # [9] e^u
    floor = evaluation.gaussian_weighted_floor(loss, sigma, 1.0)  # [9] closed form
    assert float(floor[-1] / floor[0]) > 1.8  # the target varies: a constant u cannot pass
    assert torch.allclose(learned, floor, rtol=0.04), (learned, floor)


def test_the_uncertainty_head_leaves_the_other_initial_weights_alone():
    """An MLP with EDM2's head u(σ) draws the same initial weights for every other layer as
    one without (the head comes last from the generator), and u = 0 at initialisation."""
    plain = networks.MLP(3, width=8, depth=2, generator=torch.Generator().manual_seed(5))
    with_u = networks.MLP(
        3, width=8, depth=2, logvar_channels=6, generator=torch.Generator().manual_seed(5)
    )
    a, b = plain.state_dict(), with_u.state_dict()
    assert set(b) - set(a) == {
        "logvar_freqs",
        "logvar_phases",
        "logvar_linear.weight",
        "logvar_linear.bias",
    }
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(with_u.logvar(torch.linspace(-2, 2, 5)), torch.zeros(5))
    with pytest.raises(ValueError, match="^logvar_channels is 0"):
        plain.logvar(torch.zeros(2))


def test_cache_reuses_and_retrains(tmp_path, monkeypatch):
    """A second identical call loads identical weights from the cache; a changed configuration
    or changed training code trains again."""
    monkeypatch.setenv(training.MODEL_CACHE_ENV, str(tmp_path))
    data = gaussian_data(dim=2)
    first = training.train(data, progress=False, **RUN)
    again = training.train(data, progress=False, **RUN)
    assert not first.from_cache and again.from_cache
    s1, s2 = first.net.state_dict(), again.net.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert torch.equal(first.history["loss"], again.history["loss"])
    assert len(list(tmp_path.glob("*.pt"))) == 1
    other = training.train(data, progress=False, **dict(RUN, seed=5))
    assert not other.from_cache
    monkeypatch.setattr(training, "training_code_hash", lambda: "changed code")
    assert not training.train(data, progress=False, **RUN).from_cache
    assert len(list(tmp_path.glob("*.pt"))) == 3


def test_cache_key_covers_data_and_code():
    """The key changes with the data's values, the configuration and the code hash."""
    config = training.make_config(**{k: v for k, v in RUN.items()})
    data = gaussian_data(dim=2)
    key = training.cache_key(config, data)
    assert training.cache_key(config, data + 1e-6) != key
    assert training.cache_key(dict(config, lr=0.5), data) != key
    assert training.cache_key(config, data.clone()) == key


def test_gaussian_floor_matches_measurement():
    """For N(0, s²) data the measured E‖D* − y‖² per coordinate is σ²s²/(σ² + s²) within 4
    standard errors, at σ from 0.01 to 100."""
    s = 0.6
    mixture = GaussianMixture(torch.zeros(1, 3), torch.tensor([s]), torch.ones(1))
    sigmas = torch.logspace(-2, 2, 7)
    result = evaluation.denoising_errors(
        mixture, mixture, mixture, sigmas, 4000, torch.Generator().manual_seed(0)
    )
    closed = evaluation.gaussian_floor(sigmas, s)
    assert ((result["floor"] - closed).abs() < 4 * result["floor_se"]).all()
    assert (result["network_error"] == 0).all()


def test_loss_is_floor_plus_network_error():
    """For a deliberately wrong denoiser D = 0.7·D* + 0.1, E‖D − y‖² = E‖D* − y‖² + E‖D − D*‖²
    (D* = E[y | x] is an orthogonal projection), within 4 standard errors of the loss."""
    mixture = GaussianMixture(
        torch.tensor([[-1.0, 0.0], [1.0, 0.5]]), torch.tensor([0.2, 0.3]), torch.tensor([0.5, 0.5])
    )

    def wrong(x, sigma, class_labels=None):
        return 0.7 * mixture(x, sigma) + 0.1

    result = evaluation.denoising_errors(
        wrong,
        mixture,
        mixture,
        torch.tensor([0.05, 0.5, 5.0]),
        20_000,
        torch.Generator().manual_seed(1),
    )
    gap = result["loss"] - result["floor"] - result["network_error"]
    assert (gap.abs() < 4 * result["loss_se"]).all(), gap


@pytest.mark.parametrize(
    "overrides, name",
    [
        (dict(network="transformer"), "network"),
        (dict(precond="ddim"), "precond"),
        (dict(loss="l1"), "loss"),
        (dict(steps=0), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(lr=0.0), "lr"),
        (dict(lr=-1e-3), "lr"),
        (dict(network="unet"), "data"),  # vectors [N, 2] are not images
        (dict(network_kwargs=dict(depth=-1)), "depth"),
        (dict(network_kwargs=dict(heads=4)), "heads"),
        (dict(precond_kwargs=dict(rho=4)), "rho"),
        (dict(data=torch.zeros(5)), "data"),
        (dict(unknown=1), "unknown"),
    ],
)
def test_bad_configuration_is_named_before_training(overrides, name, monkeypatch):
    """Bad input is a ValueError naming the argument, raised before any step is taken."""
    monkeypatch.setattr(training, "_train_group", lambda *a: pytest.fail("trained"))
    run = dict(RUN, data=gaussian_data(dim=2)) | overrides
    with raises_naming(name):
        training.train_many([run], cache=False, progress=False)


def test_wrong_shapes_for_the_networks():
    """The U-Net wants images, an MLP its own dimension: named errors, not shape errors from torch."""
    with raises_naming("shape"):
        networks.make_network("unet", (64,))
    with raises_naming("x"):
        networks.MLP(4)(torch.zeros(3, 5), torch.zeros(3))
    with raises_naming("x"):
        networks.UNet()(torch.zeros(3, 64), torch.zeros(3))
    with raises_naming("noise_labels"):
        networks.MLP(4)(torch.zeros(3, 4), torch.zeros(2))


def test_history_bins_count_every_sample():
    """The per-σ-bin record holds every training sample once, and its sums give the per-step
    losses back: Σ_bins bin_loss = B·Σ_steps loss."""
    data = gaussian_data(dim=2)
    result = training.train(data, cache=False, progress=False, **RUN)
    h = result.history
    assert float(h["bin_count"].sum()) == RUN["steps"] * RUN["batch_size"]
    torch.testing.assert_close(
        h["bin_loss"].sum(), h["loss"].sum() * RUN["batch_size"], rtol=1e-6, atol=0
    )
    assert math.isnan(float(result.bin_mean_loss()[0]))  # σ < 2e-3 is never drawn here


def test_digits_split_is_a_fixed_partition():
    """1,500 training and 297 held-out digits, disjoint, together all 1,797, the same every call."""
    from edm_src.data import load_digits
    from edm_src.instruments import trained

    train, held = trained.digits_split()
    assert train.shape == (1500, 1, 8, 8) and held.shape == (297, 1, 8, 8)
    both = torch.cat([train, held]).reshape(1797, -1)
    all_digits = load_digits(torch.float64).reshape(1797, -1)
    assert torch.equal(both[both[:, 0].argsort(stable=True)].sum(0), all_digits.sum(0))
    assert torch.equal(trained.digits_split()[0], train)
    # no held-out image is a training image (the digits themselves hold a few duplicates)
    dist = torch.cdist(held.reshape(297, -1), train.reshape(1500, -1)).min(dim=1).values
    assert (dist > 0).float().mean() > 0.95


def test_runs_carry_their_preconditioner_and_loss():
    """target_run pairs TargetPrecond with TargetLoss of the same target and σ_data; family_run
    pairs a Table 1 column's preconditioner with its loss; σ_data is the data's std."""
    from edm_src.instruments import trained

    data = gaussian_data(dim=2, std=0.3)
    run = trained.target_run(data, "eps", 0.3, **RUN)
    assert run["precond"] == run["loss"] == "target"
    assert run["precond_kwargs"] == run["loss_kwargs"] == dict(target="eps", sigma_data=0.3)
    assert trained.family_run(data, "ve", 0.3)["precond"] == "ve"
    assert trained.family_run(data, "edm", 0.3)["loss_kwargs"] == dict(sigma_data=0.3)
    assert trained.measured_sigma_data(data) == pytest.approx(float(data.double().std()), rel=1e-5)


def test_digits_report_sees_copies_and_novelty():
    """Copies of training digits: nn_train = 0, all copies, ratio 0; the held-out digits
    themselves: ratio 1 and a Fréchet distance of 0 to themselves."""
    from edm_src.instruments import trained

    train, held = trained.digits_split()
    copies = trained.digits_report(train[:300], train, held)
    assert copies["nn_train"] == 0 and copies["copies"] == 1 and copies["nn_ratio"] == 0
    novel = trained.digits_report(held, train, held)
    assert novel["nn_ratio"] == pytest.approx(1.0) and novel["fd"] == pytest.approx(0, abs=1e-8)


def test_training_restores_the_thread_count():
    """Training runs with TRAINING_THREADS torch threads and gives the caller's count back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        training.train(gaussian_data(dim=2), cache=False, progress=False, **dict(RUN, steps=2))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_unit_variance_c_out_is_edm_c_out_at_edm_c_skip():
    """App. B.6 step 2 at step 3's c_skip gives EDM's c_out; at c_skip = 0 and 1 it gives σ_d and σ."""
    sigma = torch.logspace(-2, 2, 9, dtype=torch.float64)
    c_skip, c_out = preconditioning.target_coefficients("edm", sigma, 0.6)
    torch.testing.assert_close(preconditioning.unit_variance_c_out(c_skip, sigma, 0.6), c_out)
    torch.testing.assert_close(
        preconditioning.unit_variance_c_out(0.0, sigma, 0.6), torch.full_like(sigma, 0.6)
    )
    torch.testing.assert_close(preconditioning.unit_variance_c_out(1.0, sigma, 0.6), sigma)


def test_digits_report_halves_bracket_the_sampling_noise():
    """'fd_halves' are the Fréchet distances of the two halves of the samples (each computed as
    'fd' would be for that half alone)."""
    from edm_src.instruments import trained

    train, held = trained.digits_split()
    r = trained.digits_report(train[:400], train, held)
    first = trained.digits_report(train[:200], train, held)["fd"]
    assert r["fd_halves"][0] == pytest.approx(first)
