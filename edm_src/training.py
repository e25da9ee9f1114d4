"""Training D_θ as the paper does, in miniature: Adam, a learning-rate ramp-up, an EMA of the weights.

A training run minimises a loss of Table 1 (`VPLoss`, `VELoss`, `EDMLoss`, or
`TargetLoss`) for a raw network (`networks.MLP`, `networks.UNet`) wrapped in a
preconditioner (`VPPrecond`, `VEPrecond`, `iDDPMPrecond`, `EDMPrecond`,
`TargetPrecond`).  Each step, as in the paper's training loop (Sec. 5, App. F):

1. draw a batch y of training data, σ ~ p_train and n ~ N(0, σ²I);
2. evaluate λ(σ)‖D_θ(y + n; σ) − y‖² (Eq. 2, the loss's own weighting);
3. take an Adam step (Kingma & Ba 2015) at a learning rate ramped up linearly;
4. update an exponential moving average (EMA) of the weights, whose half-life
   is given in training samples, as the paper's ``ema_halflife_kimg``; the
   evaluated network uses the EMA weights, as the paper's does.

Several runs whose networks have the same architecture train together in one
pass: their weights are stacked and the network is evaluated once per step
with `torch.func.vmap` (`train_many`).  Each run keeps its own generator
(initial weights, batches, σ and noise), so a run's weights do not depend on
which runs it trained with.

Trained weights are cached on disk (`model_cache_dir`), keyed by a hash of the
run's configuration, of its data and of this training code, so that a warm
build or a live notebook reuses them and any change retrains.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import losses as _losses
from . import preconditioning as _preconditioning
from ._env import in_book_build
from ._validation import (
    check_bool,
    check_choice,
    check_integer,
    check_keywords,
    check_real,
    check_seed,
    check_sequence,
    check_tensor,
)
from .augment import AUGMENT_DIM, AugmentPipe
from .networks import NETWORKS, make_network

PRECONDS = {
    "vp": _preconditioning.VPPrecond,
    "ve": _preconditioning.VEPrecond,
    "iddpm": _preconditioning.iDDPMPrecond,
    "edm": _preconditioning.EDMPrecond,
    "target": _preconditioning.TargetPrecond,
}
LOSSES = {
    "vp": _losses.VPLoss,
    "ve": _losses.VELoss,
    "edm": _losses.EDMLoss,
    "target": _losses.TargetLoss,
}

#: Adam's β₁, β₂ and ε (Kingma & Ba 2015; the paper's setup keeps PyTorch's defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

#: Edges of the σ bins in which the training loss is recorded (log-spaced, 10⁻³ … 10³;
#: σ outside falls into the first or last bin).
SIGMA_BIN_EDGES = torch.logspace(-3, 3, 25, dtype=torch.float64)  # [25]: 24 bins
#: Chunks of training over which the per-bin loss is averaged (fewer if there are fewer steps).
HISTORY_CHUNKS = 20

#: Torch threads while training: the matrix products of training gain from a second core
#: (the book's kernels otherwise run one thread), and a fixed count keeps the weights the
#: same bits from run to run on one machine (a reduction's order depends on the threads).
TRAINING_THREADS = min(2, os.cpu_count() or 1)

#: Environment variable that overrides where trained weights are cached.
MODEL_CACHE_ENV = "EDM_MODEL_CACHE"
#: The modules whose source decides the trained weights: part of every cache key.
TRAINING_CODE = (
    "networks.py",
    "training.py",
    "preconditioning.py",
    "losses.py",
    "schedules.py",
    "augment.py",
)

CONFIG_KEYS = (
    "network",
    "network_kwargs",
    "precond",
    "precond_kwargs",
    "loss",
    "loss_kwargs",
    "steps",
    "batch_size",
    "lr",
    "lr_rampup",
    "ema_halflife",
    "ema_rampup_ratio",
    "augment_p",
    "seed",
)


# ------------------------------------------------------------------ schedules of a run


def learning_rate(step: int, lr: float, rampup_steps: int) -> float:
    """The learning rate of step `step` (0-based): lr·min((step + 1)/rampup_steps, 1).

    The paper ramps the rate up linearly over the first 10 Mimg (``lr_rampup_kimg``);
    here the ramp is counted in steps, and the first step already moves.
    """
    step = check_integer("step", step, 0)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    rampup_steps = check_integer("rampup_steps", rampup_steps, 0)
    return lr * min((step + 1) / rampup_steps, 1.0) if rampup_steps else lr


def ema_beta(
    num_samples: int, batch_size: int, halflife: float, rampup_ratio: float | None = 0.05
) -> float:
    """The EMA decay β after `num_samples` training samples: θ_ema ← β·θ_ema + (1 − β)·θ.

    β = 0.5^(batch_size / h), so that a weight's contribution halves every h
    samples, with h = `halflife`, capped at `rampup_ratio`·num_samples while
    training is young (the paper's ``ema_halflife_kimg`` and ``ema_rampup_ratio``:
    early weights, far from the optimum, are forgotten fast).
    """
    num_samples = check_integer("num_samples", num_samples, 0)
    batch_size = check_integer("batch_size", batch_size, 1)
    halflife = check_real("halflife", halflife, low=0.0)
    if rampup_ratio is not None:
        rampup_ratio = check_real("rampup_ratio", rampup_ratio, low=0.0, low_open=True)
        halflife = min(halflife, num_samples * rampup_ratio)
    return 0.5 ** (batch_size / halflife) if halflife > 0 else 0.0


# ------------------------------------------------------------------ configuration


def _check_kwargs(name: str, value: Any) -> dict:
    """Keyword arguments as a dict of JSON numbers, strings, booleans and None (they are hashed)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a dict of keyword arguments, got {type(value).__name__}")
    out = {}
    for key, v in value.items():
        if not isinstance(key, str):
            raise ValueError(f"{name} must have string keys, got {key!r}")
        if isinstance(v, (list, tuple)):
            v = list(v)
        if not (v is None or isinstance(v, (bool, int, float, str, list))):
            raise ValueError(
                f"{name} must hold numbers, strings, booleans or lists; {key!r} is {type(v).__name__}"
            )
        out[key] = v
    return dict(sorted(out.items()))


def _check_data(data: Any, network: str) -> torch.Tensor:
    """Training data [N, ...] as finite float32; the U-Net needs images [N, C, H, W]."""
    data = check_tensor("data", data, min_ndim=2, float_dtype=torch.float32).to(torch.float32)
    if len(data) < 1:
        raise ValueError(f"data must hold at least one sample, got shape {tuple(data.shape)}")
    if network == "unet" and data.ndim != 4:
        raise ValueError(
            f"data must be images [N, C, H, W] for the U-Net, got shape {tuple(data.shape)}"
        )
    return data.contiguous()


def make_config(
    network: str = "mlp",
    precond: str = "edm",
    loss: str = "edm",
    *,
    network_kwargs: Mapping | None = None,
    precond_kwargs: Mapping | None = None,
    loss_kwargs: Mapping | None = None,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 2e-3,
    lr_rampup: int | None = None,
    ema_halflife: float | None = None,
    ema_rampup_ratio: float | None = 0.05,
    augment_p: float = 0.0,
    seed: int = 0,
) -> dict:
    """A checked, canonical training configuration (a dict of JSON values; its hash keys the cache).

    Args:
        network: 'mlp' or 'unet' (`networks.NETWORKS`), built with `network_kwargs`.
        precond: 'vp', 've', 'iddpm', 'edm' or 'target' (`PRECONDS`), with `precond_kwargs`.
        loss: 'vp', 've', 'edm' or 'target' (`LOSSES`), with `loss_kwargs`.
        steps: Adam steps (≥ 1).
        batch_size: samples per step (≥ 1).
        lr: the learning rate after the ramp-up (> 0).
        lr_rampup: steps of the linear ramp-up (default: a tenth of `steps`).
        ema_halflife: the EMA's half-life in training samples (default: a twentieth of all
            samples seen, steps·batch_size/20).
        ema_rampup_ratio: the half-life is at most this fraction of the samples seen so far
            (None: no ramp-up).
        augment_p: non-leaky augmentation (`augment.AugmentPipe`): the probability of a flip
            and of a rotation per training image, whose labels the network gets as
            ``augment_labels`` (it needs ``augment_dim=3`` in `network_kwargs`); 0: none.
        seed: seeds the run's generator: initial weights, batches, σ and noise.
    """
    steps = check_integer("steps", steps, 1, 10**7)
    batch_size = check_integer("batch_size", batch_size, 1, 10**6)
    config = {
        "network": check_choice("network", network, tuple(NETWORKS)),
        "network_kwargs": _check_kwargs("network_kwargs", network_kwargs),
        "precond": check_choice("precond", precond, tuple(PRECONDS)),
        "precond_kwargs": _check_kwargs("precond_kwargs", precond_kwargs),
        "loss": check_choice("loss", loss, tuple(LOSSES)),
        "loss_kwargs": _check_kwargs("loss_kwargs", loss_kwargs),
        "steps": steps,
        "batch_size": batch_size,
        "lr": check_real("lr", lr, low=0.0, low_open=True, high=10.0),
        "lr_rampup": max(1, steps // 10)
        if lr_rampup is None
        else check_integer("lr_rampup", lr_rampup, 0, 10**7),
        "ema_halflife": steps * batch_size / 20
        if ema_halflife is None
        else check_real("ema_halflife", ema_halflife, low=0.0),
        "ema_rampup_ratio": None
        if ema_rampup_ratio is None
        else check_real("ema_rampup_ratio", ema_rampup_ratio, low=0.0, low_open=True, high=1.0),
        "augment_p": check_real("augment_p", augment_p, low=0.0, high=1.0),
        "seed": check_seed("seed", seed),
    }
    return config


def _build(config: dict, shape: tuple[int, ...], generator: torch.Generator | None):
    """(raw network, preconditioner without a network, loss) of a configuration."""
    model = make_network(config["network"], shape, generator=generator, **config["network_kwargs"])
    for kind, table in (("precond", PRECONDS), ("loss", LOSSES)):
        allowed = [k for k in inspect.signature(table[config[kind]]).parameters if k != "model"]
        check_keywords(f"{kind}_kwargs of {config[kind]!r}", config[f"{kind}_kwargs"], allowed)
    precond = PRECONDS[config["precond"]](None, **config["precond_kwargs"])
    loss = LOSSES[config["loss"]](**config["loss_kwargs"])
    return model, precond, loss


class _Unchecked(nn.Module):
    """A raw network called without its argument checks (`_forward`), for `torch.func.vmap`,
    where the checks' data-dependent tests cannot run."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(
        self, x_in: torch.Tensor, noise_labels: torch.Tensor, augment_labels=None, logvar=False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        F_x = self.model._forward(x_in, noise_labels, augment_labels)
        return (F_x, self.model._logvar(noise_labels)) if logvar else F_x


def denoiser(config: Mapping, model: nn.Module) -> nn.Module:
    """The preconditioned denoiser D_θ of a configuration around a raw network."""
    if not isinstance(config, Mapping):
        raise ValueError(
            f"config must be a configuration dict (make_config), got {type(config).__name__}"
        )
    config = make_config(**config)
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    precond = PRECONDS[config["precond"]](model, **config["precond_kwargs"])
    precond.dim = getattr(model, "dim", None)  # the samplers check latents against it
    return precond.eval().requires_grad_(False)


# ------------------------------------------------------------------ the cache


def model_cache_dir() -> Path:
    """Where trained weights are cached: $EDM_MODEL_CACHE, else `.model_cache` in the repository
    (a source checkout, git-ignored), else ~/.cache/edm_src/models."""
    if os.environ.get(MODEL_CACHE_ENV):
        return Path(os.environ[MODEL_CACHE_ENV]).expanduser()
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file():
        return root / ".model_cache"
    return Path.home() / ".cache" / "edm_src" / "models"


def training_code_hash() -> str:
    """SHA-256 of the source of `TRAINING_CODE` and of torch's version."""
    digest = hashlib.sha256(torch.__version__.encode())
    here = Path(__file__).resolve().parent
    for name in TRAINING_CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def cache_key(config: Mapping, data: torch.Tensor) -> str:
    """The cache key of a run: a hash of its configuration, its data and the training code."""
    if not isinstance(config, Mapping):
        raise ValueError(
            f"config must be a configuration dict (make_config), got {type(config).__name__}"
        )
    config = make_config(**config)
    data = check_tensor("data", data, min_ndim=1)
    digest = hashlib.sha256(json.dumps(dict(config), sort_keys=True).encode())
    digest.update(str((tuple(data.shape), str(data.dtype))).encode())
    digest.update(data.detach().cpu().contiguous().numpy().tobytes())
    digest.update(training_code_hash().encode())
    return digest.hexdigest()[:32]


@dataclass
class Trained:
    """A trained denoiser: D_θ with the EMA weights, and what training recorded.

    Attributes:
        net: the preconditioned denoiser D_θ(x; σ) with the EMA weights (eval mode, no grad).
        raw_net: the same with the last raw (non-EMA) weights.
        config: the run's configuration (`make_config`).
        history: 'loss' [steps], the mean training loss per step (per coordinate; with EDM2's
            uncertainty head, the weighted loss λ‖D − y‖² before the division by e^u);
            'bin_edges' [25] (σ), 'bin_loss' and 'bin_count' [chunks, 24], the loss summed
            per σ bin over each of `HISTORY_CHUNKS` chunks of training, and its sample count.
        seconds: the training time of the pass that trained it (shared by runs trained together).
        key: its cache key.
        from_cache: whether the weights were loaded from the cache.
    """

    net: nn.Module
    raw_net: nn.Module
    config: dict
    history: dict[str, torch.Tensor]
    seconds: float
    key: str
    from_cache: bool

    def bin_mean_loss(self, chunk: int = -1) -> torch.Tensor:
        """The mean training loss per σ bin over one chunk of training (NaN where no σ fell) [24]."""
        chunks = len(self.history["bin_loss"])
        chunk = check_integer("chunk", chunk, -chunks, chunks - 1)
        loss, count = self.history["bin_loss"][chunk], self.history["bin_count"][chunk]
        return torch.where(count > 0, loss / count.clamp(min=1), math.nan)


def _save(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _load(path: Path) -> dict | None:
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # a truncated or foreign file: retrain
        return None


# ------------------------------------------------------------------ training


def _adam_(params, grads, m, v, step: int, lr: torch.Tensor) -> None:
    """One Adam step in place (Kingma & Ba 2015, Algorithm 1), with one learning rate per run.

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − lr·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ),
    v̂ = v/(1 − β₂ᵗ).  `lr` is [M]; every tensor is stacked over the M runs.
    """
    beta1, beta2 = ADAM_BETAS
    t = step + 1
    for name, p in params.items():
        g = grads[name]
        m[name].mul_(beta1).add_(g, alpha=1 - beta1)
        v[name].mul_(beta2).addcmul_(g, g, value=1 - beta2)
        m_hat = m[name] / (1 - beta1**t)
        v_hat = v[name] / (1 - beta2**t)
        rate = lr.reshape((-1,) + (1,) * (p.ndim - 1))  # [M, 1, ...]
        p.data.sub_(rate * m_hat / (v_hat.sqrt() + ADAM_EPS))


def _ema_(ema, params, beta: torch.Tensor) -> None:
    """θ_ema ← β·θ_ema + (1 − β)·θ, one β per run ([M])."""
    for name, p in params.items():
        b = beta.reshape((-1,) + (1,) * (p.ndim - 1))  # [M, 1, ...]
        ema[name].mul_(b).add_((1 - b) * p.detach())


def _progress_bar(total: int, desc: str, progress: bool | None):
    """tqdm when run live (or asked for), nothing in the book's build."""
    show = (not in_book_build()) if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False)


def _train_group(runs: list[tuple[dict, torch.Tensor]], progress: bool | None):
    """Train runs of one architecture, batch size and step count together; returns
    (stacked EMA params, stacked raw params, buffers, models, histories, seconds)."""
    from torch.func import functional_call, stack_module_state, vmap

    start = time.perf_counter()
    config0, data0 = runs[0]
    steps, B = config0["steps"], config0["batch_size"]
    shape = tuple(data0.shape[1:])
    generators = [torch.Generator().manual_seed(config["seed"]) for config, _ in runs]
    built = [_build(config, shape, g) for (config, _), g in zip(runs, generators, strict=True)]
    models = [model for model, _, _ in built]
    params, buffers = stack_module_state(models)  # each [M, ...]
    M = len(runs)
    # All weights of a run in one row of a flat leaf tensor, so that Adam and the EMA are a
    # few operations on [M, P] instead of a few per parameter tensor.
    names = list(params)
    shapes = [params[k].shape[1:] for k in names]
    sizes = [math.prod(shape) for shape in shapes]
    flat = torch.cat([params[k].detach().reshape(M, -1) for k in names], dim=1)  # [M, P]
    flat = flat.clone().requires_grad_(True)
    ema = {"flat": flat.detach().clone()}
    m = {"flat": torch.zeros_like(flat)}
    v = {"flat": torch.zeros_like(flat)}
    base = _Unchecked(copy.deepcopy(models[0]).to("meta"))

    def unflatten(rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parameter tensors [M, ...] as views of the flat rows [M, P]."""
        parts = rows.split(sizes, dim=1)
        return {
            k: part.reshape(M, *shape) for k, part, shape in zip(names, parts, shapes, strict=True)
        }

    augment_dim = getattr(models[0], "augment_dim", 0)
    pipes = [
        AugmentPipe(config["augment_p"]) if config["augment_p"] > 0 else None for config, _ in runs
    ]

    # EDM2's uncertainty-weighted loss where the network has a head u(σ) (`MLP.logvar`)
    uncertainty = getattr(models[0], "logvar_channels", 0) > 0

    def raw(p, b, x_in, c_noise, *augment_labels):  # F_θ (and u) for one run
        p = {f"model.{k}": v for k, v in p.items()}
        b = {f"model.{k}": v for k, v in b.items()}
        args = (x_in, c_noise, *augment_labels) if augment_labels else (x_in, c_noise, None)
        return functional_call(base, (p, b), args, {"logvar": uncertainty})

    raw_batched = vmap(raw)  # over the M runs
    lr = [config["lr"] for config, _ in runs]
    sigma_shape = (B,) + (1,) * len(shape)  # [B, 1, ..., 1], as the losses draw σ
    chunks = min(HISTORY_CHUNKS, steps)
    n_bins = len(SIGMA_BIN_EDGES) - 1
    loss_history = torch.zeros(M, steps, dtype=torch.float64)
    bin_loss = torch.zeros(M, chunks, n_bins, dtype=torch.float64)
    bin_count = torch.zeros(M, chunks, n_bins, dtype=torch.float64)
    bar = _progress_bar(steps, f"training {M} network{'s' * (M > 1)}", progress)
    for step in range(steps):
        ys, xs, coefs, weights, sigmas, labels = [], [], [], [], [], []
        for (_, data), (_, precond, loss), g, pipe in zip(
            runs, built, generators, pipes, strict=True
        ):
            y = data[torch.randint(len(data), (B,), generator=g)]  # [B, ...] a batch of data
            sigma = loss.sample_sigma(sigma_shape, generator=g)  # [B, 1, ...] σ ~ p_train
            if pipe is not None:  # non-leaky augmentation, drawn after σ as the losses draw it
                y, augment_labels = pipe(y, generator=g)  # [B, ...], [B, 3]
            else:
                augment_labels = torch.zeros(B, augment_dim)  # "not augmented"
            labels.append(augment_labels)
            n = torch.randn(y.shape, generator=g) * sigma  # [B, ...] n ~ N(0, σ²I)
            sigma = sigma.reshape(B).to(torch.float32)  # [B]
            ys.append(y)
            xs.append(y + n)
            coefs.append(precond.coefficients(sigma))  # 4 × [B]
            weights.append(loss.weight(sigma))  # [B] λ(σ)
            sigmas.append(sigma)
        y, x = torch.stack(ys), torch.stack(xs)  # [M, B, ...]
        c_skip, c_out, c_in, c_noise = (torch.stack(c).to(torch.float32) for c in zip(*coefs))
        bcast = (M, B) + (1,) * len(shape)  # [M, B, 1, ..., 1]
        extra = (torch.stack(labels),) if augment_dim else ()  # [M, B, augment_dim]
        F_x = raw_batched(unflatten(flat), buffers, c_in.reshape(bcast) * x, c_noise, *extra)
        F_x, u = F_x if uncertainty else (F_x, None)  # [M, B, ...], [M, B] u(σ)
        D_x = c_skip.reshape(bcast) * x + c_out.reshape(bcast) * F_x  # [M, B, ...] Eq. 7
        weight = torch.stack(weights).to(torch.float32).reshape(bcast)
        per_sample = (weight * (D_x - y) ** 2).reshape(M, B, -1).mean(dim=2)  # [M, B] Eq. 2
        run_loss = per_sample.mean(dim=1)  # [M], what the history records
        # EDM2: the loss divided by its expected value e^u(σ), plus u(σ) (minimal at e^u = loss)
        objective = run_loss if u is None else (per_sample / u.exp() + u).mean(dim=1)  # [M]
        if not torch.isfinite(objective).all():
            raise ValueError(
                f"the training loss became non-finite at step {step}: lower lr or check the data"
            )
        (grad,) = torch.autograd.grad(objective.sum(), [flat])  # [M, P]: run m's own gradient
        rates = torch.tensor(
            [
                learning_rate(step, r, config["lr_rampup"])
                for r, (config, _) in zip(lr, runs, strict=True)
            ]
        )
        with torch.no_grad():
            _adam_({"flat": flat}, {"flat": grad}, m, v, step, rates)  # Adam at the ramped-up rate
            beta = torch.tensor(
                [
                    ema_beta((step + 1) * B, B, config["ema_halflife"], config["ema_rampup_ratio"])
                    for config, _ in runs
                ]
            )
            _ema_(ema, {"flat": flat}, beta)  # update the EMA of the weights
        # record the loss per step and per σ bin
        loss_history[:, step] = run_loss.detach().to(torch.float64)
        chunk = step * chunks // steps
        bins = (torch.bucketize(torch.stack(sigmas).to(torch.float64), SIGMA_BIN_EDGES) - 1).clamp(
            0, n_bins - 1
        )  # [M, B]
        bin_loss[:, chunk].scatter_add_(1, bins, per_sample.detach().to(torch.float64))
        bin_count[:, chunk].scatter_add_(
            1, bins, torch.ones_like(bin_loss[:, chunk, :1]).expand(M, B)
        )
        if bar is not None:
            bar.update(1)
            if step % 50 == 0 or step == steps - 1:
                bar.set_postfix(loss=f"{float(run_loss.detach().mean()):.4g}")
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    histories = [
        {
            "loss": loss_history[i],
            "bin_edges": SIGMA_BIN_EDGES.clone(),
            "bin_loss": bin_loss[i],
            "bin_count": bin_count[i],
        }
        for i in range(M)
    ]
    ema_params = unflatten(ema["flat"])
    raw_params = unflatten(flat.detach())
    return ema_params, raw_params, buffers, models, histories, seconds


def _state(models_params: dict, buffers: dict, i: int) -> dict:
    """Run i's state dict from the stacked parameters and buffers."""
    return {k: p[i].clone() for k, p in (models_params | buffers).items()}


def _trained(config: dict, shape, ema_state, raw_state, history, seconds, key, from_cache):
    nets = []
    for state in (ema_state, raw_state):
        model, _, _ = _build(config, shape, None)
        model.load_state_dict(state)
        nets.append(denoiser(config, model))
    return Trained(nets[0], nets[1], config, history, seconds, key, from_cache)


def _check_run(run: Any, index: int) -> tuple[dict, torch.Tensor]:
    if not isinstance(run, Mapping) or "data" not in run:
        raise ValueError(f"runs[{index}] must be a dict with 'data' and configuration keys")
    check_keywords(f"runs[{index}]", {k: v for k, v in run.items() if k != "data"}, CONFIG_KEYS)
    config = make_config(**{k: v for k, v in run.items() if k != "data"})
    data = _check_data(run["data"], config["network"])
    model, _, _ = _build(config, tuple(data.shape[1:]), None)  # every keyword fits
    if config["augment_p"] > 0:
        if getattr(model, "augment_dim", 0) != AUGMENT_DIM:
            raise ValueError(
                f"augment_p > 0 needs network_kwargs augment_dim={AUGMENT_DIM} (the augment "
                f"labels the network is told), got augment_dim={getattr(model, 'augment_dim', 0)}"
            )
        if data.ndim != 4 or data.shape[-1] != data.shape[-2]:
            raise ValueError(
                f"data must be square images [N, C, H, H] to be augmented (augment_p > 0), "
                f"got shape {tuple(data.shape)}"
            )
    return config, data


def train_many(
    runs: Sequence[Mapping], *, cache: bool = True, progress: bool | None = None
) -> list[Trained]:
    """Train several runs, those that share an architecture together in one batched pass.

    Each run is a dict with ``data`` (training samples [N, ...]) and the keywords
    of `make_config`.  Runs found in the cache are loaded, not trained.  Runs
    with the same network, network keywords, sample shape, batch size and
    number of steps train together (`torch.func.vmap` over their stacked
    weights); each keeps its own generator, so its weights are those it gets
    when trained alone.

    Args:
        runs: the runs, checked before any training.
        cache: read and write the model cache (`model_cache_dir`).
        progress: a tqdm bar; by default shown live, hidden in the book's build.
    Returns:
        One `Trained` per run, in order.
    """
    runs = check_sequence("runs", runs, min_length=1)
    cache = check_bool("cache", cache)
    if progress is not None:
        progress = check_bool("progress", progress)
    checked = [_check_run(run, i) for i, run in enumerate(runs)]
    results: list[Trained | None] = [None] * len(checked)
    groups: dict[str, list[int]] = {}
    directory = model_cache_dir()
    for i, (config, data) in enumerate(checked):
        key = cache_key(config, data)
        payload = _load(directory / f"{key}.pt") if cache else None
        if payload is not None:
            results[i] = _trained(
                config,
                tuple(data.shape[1:]),
                payload["ema"],
                payload["raw"],
                payload["history"],
                payload["seconds"],
                key,
                True,
            )
            continue
        group = json.dumps(
            [
                config["network"],
                config["network_kwargs"],
                list(data.shape[1:]),
                config["batch_size"],
                config["steps"],
            ]
        )
        groups.setdefault(group, []).append(i)
    for indices in groups.values():
        group_runs = [checked[i] for i in indices]
        threads = torch.get_num_threads()
        torch.set_num_threads(TRAINING_THREADS)
        try:
            ema, raw, buffers, _, histories, seconds = _train_group(group_runs, progress)
        finally:
            torch.set_num_threads(threads)
        for j, i in enumerate(indices):
            config, data = checked[i]
            key = cache_key(config, data)
            ema_state, raw_state = _state(ema, buffers, j), _state(raw, buffers, j)
            if cache:
                _save(
                    directory / f"{key}.pt",
                    {
                        "config": json.dumps(config, sort_keys=True),
                        "ema": ema_state,
                        "raw": raw_state,
                        "history": histories[j],
                        "seconds": seconds,
                    },
                )
            results[i] = _trained(
                config,
                tuple(data.shape[1:]),
                ema_state,
                raw_state,
                histories[j],
                seconds,
                key,
                False,
            )
    return results


def train(
    data: torch.Tensor, *, cache: bool = True, progress: bool | None = None, **config
) -> Trained:
    """Train one denoiser on `data` [N, ...] (keywords as `make_config`); see `train_many`."""
    return train_many([dict(config, data=data)], cache=cache, progress=progress)[0]
