"""The book's trained denoisers: the data and configurations that Chapters 4–6 share.

Each chapter that needs a trained network builds its runs here and passes them
to `edm_src.training.train_many`, so that a network two chapters use has one
configuration, one cache key, and is trained once (the first chapter to need it
trains it; the others load it from the model cache).

* The 2-D ring (`ring_training_data`): 20,000 samples of `benchmarks.ring_2d`,
  whose exact denoiser is the mixture itself; `RING_NET` is the MLP trained on it.
* Chapter 3's 64-D mixture (`mixture64_training_data`): 20,000 samples of
  `benchmarks.low_dim_mixture`, with `MIX64_NET`, the digits MLP's architecture.
* The digits (`digits_split`): scikit-learn's 1,797 8×8 digits split once, with a
  fixed seed, into 1,500 training and 297 held-out images; `DIGITS_NET` is the MLP
  trained on them, and the exact denoiser of a training set is `EmpiricalDenoiser`.
* `target_run`: a network asked for one training target (`TargetPrecond` with
  `TargetLoss`: 'D', 'eps', 'score' or 'edm', App. B.6);
* `family_run`: a network trained with one column of Table 1 (VP, VE or EDM
  preconditioning with the same column's loss).
* `table2_run`: one cell of Table 2 in miniature (Chapter 6): column 'vp' or 've',
  row 'A', 'B', 'D' or 'E', on `TABLE2_NET`; `DIGITS_F_NET` and `digits_f_run` are
  rows E and F (non-leaky augmentation) on a small set of training digits.
* `initial_denoiser`: a run's D_θ before its first step (Figure 5a's "at initialisation").
"""

from __future__ import annotations

import torch

from .._validation import (
    check_choice,
    check_integer,
    check_magnitude,
    check_samples,
    check_seed,
    check_sequence,
    check_tensor,
)
from ..data import load_digits
from ..denoisers import GaussianMixture
from ..networks import make_network
from ..training import denoiser, make_config
from .benchmarks import low_dim_mixture, ring_2d
from .metrics import (
    frechet_distance_samples,
    mean_log_likelihood,
    mode_coverage,
    nearest_neighbor_distance,
    pca_features,
    sliced_wasserstein,
)

#: The MLP of the 2-D ring: ~32k parameters, 2,000 Adam steps of 256 samples.
RING_NET = dict(
    network="mlp",
    network_kwargs=dict(width=64, depth=2, emb_channels=32),
    steps=2000,
    batch_size=256,
    lr=2e-3,
)

#: The MLP of the 8×8 digits (64 values per image): ~136k parameters, 2,000 steps of 128.
DIGITS_NET = dict(
    network="mlp",
    network_kwargs=dict(width=128, depth=2, emb_channels=32),
    steps=2000,
    batch_size=128,
    lr=2e-3,
)

#: The MLP of Chapter 3's 64-D mixture (`benchmarks.low_dim_mixture`): the digits MLP,
#: architecture and schedule, on 20,000 samples of a distribution with an exact denoiser.
MIX64_NET = dict(DIGITS_NET)

#: The U-Net of the 8×8 digits: ~104k parameters, 800 steps of 64 (a convolution on 8×8
#: images is slow on a CPU: about 40 ms a step on 2 cores).
DIGITS_UNET = dict(
    network="unet",
    network_kwargs=dict(channels=16, emb_channels=32),
    steps=800,
    batch_size=64,
    lr=2e-3,
)

#: The network of Table 2 in miniature (Chapter 6): an MLP small enough for 3 seeds of
#: every cell in a book build (~10k parameters on 16-D data), 1,000 Adam steps of 128.
TABLE2_NET = dict(
    network="mlp",
    network_kwargs=dict(width=64, depth=2, emb_channels=32),
    steps=1000,
    batch_size=128,
)

#: The noise embedding of each column's network, as in the networks Table 2 starts from:
#: DDPM++ (VP) embeds the noise label positionally, NCSN++ (VE) with random Fourier features.
TABLE2_EMBEDDING = {"vp": "positional", "ve": "fourier"}

#: Row A's learning rate (the baseline), and rows B–E's: row B adjusts only the learning rate.
TABLE2_LR = {"A": 2e-4, "B": 2e-3}

TABLE2_COLUMNS = ("vp", "ve")
TABLE2_ROWS = ("A", "B", "D", "E")

#: Rows E and F on the digits: the digits MLP with an input for the augmentation labels,
#: 1,000 steps of 128 on `DIGITS_F_TRAIN` training digits, where a network memorises.
DIGITS_F_NET = dict(
    network="mlp",
    network_kwargs=dict(width=128, depth=2, emb_channels=32, augment_dim=3),
    steps=1000,
    batch_size=128,
    lr=2e-3,
)
DIGITS_F_TRAIN = 32
#: The probability of each augmentation (a flip; a 90° rotation) per image in row F.
DIGITS_F_AUGMENT_P = 0.5

#: Images the digits split holds out (of 1,797), and the seed of the split.
DIGITS_HELD_OUT = 297
DIGITS_SPLIT_SEED = 0

FAMILIES = ("vp", "ve", "edm")


def _training_samples(
    mixture: GaussianMixture, n: int, seed: int
) -> tuple[GaussianMixture, torch.Tensor]:
    """The mixture and `n` samples of it (seeded) as float32 [n, D], a training set."""
    n = check_integer("n", n, 1, 10**7)
    seed = check_seed("seed", seed)
    data = mixture.sample(n, generator=torch.Generator().manual_seed(seed)).to(torch.float32)
    return mixture, data


def mixture_training_data(
    dim: int = 64, n: int = 20_000, seed: int = 0
) -> tuple[GaussianMixture, torch.Tensor]:
    """Chapter 3's mixture (`benchmarks.low_dim_mixture(dim)`: 32 narrow modes on a curved
    2-D surface, σ_data = 0.5) in `dim` dimensions, and `n` samples of it as float32 [n, dim]."""
    return _training_samples(low_dim_mixture(dim=check_integer("dim", dim, 1, 4096)), n, seed)


def ring_training_data(n: int = 20_000, seed: int = 0) -> tuple[GaussianMixture, torch.Tensor]:
    """The 2-D ring mixture and `n` samples of it as float32 [n, 2], the networks' training set."""
    return _training_samples(ring_2d(), n, seed)


def mixture64_training_data(n: int = 20_000, seed: int = 0) -> tuple[GaussianMixture, torch.Tensor]:
    """Chapter 3's 64-D mixture (`benchmarks.low_dim_mixture()`) and `n` samples of it as
    float32 [n, 64], the networks' training set."""
    return mixture_training_data(64, n, seed)


def digits_split() -> tuple[torch.Tensor, torch.Tensor]:
    """(training digits [1500, 1, 8, 8], held-out digits [297, 1, 8, 8]), float64 in [−1, 1].

    One fixed random permutation (seed `DIGITS_SPLIT_SEED`) of `load_digits()`: the
    first `DIGITS_HELD_OUT` images are held out, the rest train.
    """
    digits = load_digits(torch.float64)  # [1797, 1, 8, 8]
    perm = torch.randperm(len(digits), generator=torch.Generator().manual_seed(DIGITS_SPLIT_SEED))
    return digits[perm[DIGITS_HELD_OUT:]], digits[perm[:DIGITS_HELD_OUT]]


#: Significant digits σ_data keeps in a run's configuration: a reduction's last bits depend
#: on the number of threads, and σ_data is part of the cache key.
SIGMA_DATA_DIGITS = 6


def _rounded(sigma_data: float) -> float:
    return float(f"{sigma_data:.{SIGMA_DATA_DIGITS}g}")


def measured_sigma_data(data: torch.Tensor) -> float:
    """σ_data as the paper defines it for preconditioning: the standard deviation of the
    training data's values, over all samples and coordinates (Sec. 5, App. B.6), to
    `SIGMA_DATA_DIGITS` significant digits (the same value whatever the thread count)."""
    data = check_tensor("data", data, min_ndim=2)
    if data.numel() < 2:
        raise ValueError(f"data must hold at least two values, got shape {tuple(data.shape)}")
    return _rounded(float(data.to(torch.float64).std()))


def target_run(data: torch.Tensor, target: str, sigma_data: float, **config) -> dict:
    """A run whose network predicts `target` ('D', 'eps', 'score', 'edm'): `TargetPrecond`
    and `TargetLoss` with the same σ_data (to `SIGMA_DATA_DIGITS` digits); other keywords as
    `training.make_config`."""
    target = check_choice("target", target, ("D", "eps", "score", "edm"))
    sigma_data = _rounded(check_magnitude("sigma_data", sigma_data))
    kwargs = dict(target=target, sigma_data=sigma_data)
    return dict(
        config,
        data=data,
        precond="target",
        precond_kwargs=kwargs,
        loss="target",
        loss_kwargs=kwargs,
    )


def family_run(data: torch.Tensor, family: str, sigma_data: float, **config) -> dict:
    """A run trained as one column of Table 1: 'vp' (VPPrecond, VPLoss), 've' (VEPrecond,
    VELoss) or 'edm' (EDMPrecond, EDMLoss, both with σ_data = `sigma_data`), with the
    columns' default constants; other keywords as `training.make_config`."""
    family = check_choice("family", family, FAMILIES)
    sigma_data = _rounded(check_magnitude("sigma_data", sigma_data))
    run = dict(config, data=data, precond=family, loss=family)
    if family == "edm":
        run |= dict(
            precond_kwargs=dict(sigma_data=sigma_data), loss_kwargs=dict(sigma_data=sigma_data)
        )
    return run


def digits_report(
    samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, k: int = 16
) -> dict[str, float]:
    """How digit samples compare with the training and the held-out digits.

    * 'fd': the Fréchet distance between the samples and the held-out digits in the
      top-`k` principal components of the training digits (`metrics.pca_features`,
      FID's stand-in here), lower is better;
    * 'nn_train': the median RMS distance per pixel from a sample to its nearest
      training digit (0 for a copy: memorisation);
    * 'nn_held_out': the same for the held-out digits, the distance a new digit has;
    * 'nn_ratio': nn_train / nn_held_out, below 1 where samples sit closer to the
      training set than new digits do, about 1 for samples as novel as real digits;
    * 'copies': the fraction of samples within a third of nn_held_out of a training digit;
    * 'fd_halves': the Fréchet distances of the first and the second half of the samples,
      whose difference shows the metric's sampling noise.
    """
    samples = check_samples("samples", samples, min_count=1)
    train = check_samples("train", train, dim=samples.shape[1], min_count=2)
    held_out = check_samples("held_out", held_out, dim=samples.shape[1], min_count=1)
    k = check_integer("k", k, 1, samples.shape[1])
    features = pca_features(train, k)
    d_samples = nearest_neighbor_distance(samples.to(torch.float64), train.to(torch.float64))
    d_held = nearest_neighbor_distance(held_out.to(torch.float64), train.to(torch.float64))
    nn_held = float(d_held.median())
    reference = features(held_out)
    halves = samples.chunk(2) if len(samples) >= 4 else (samples, samples)
    return {
        "fd": frechet_distance_samples(features(samples), reference),
        "fd_halves": tuple(frechet_distance_samples(features(h), reference) for h in halves),
        "nn_train": float(d_samples.median()),
        "nn_held_out": nn_held,
        "nn_ratio": float(d_samples.median()) / nn_held,
        "copies": float((d_samples < nn_held / 3).to(torch.float64).mean()),
    }


def table2_run(
    data: torch.Tensor, column: str, row: str, seed: int = 0, sigma_data: float = 0.5, **config
) -> dict:
    """One cell of Table 2 in miniature: `TABLE2_NET` with the column's noise embedding.

    Rows, cumulative as in the paper's Table 2 (Sec. 5):
    * 'A': the column's preconditioning and loss (Table 1), at the baseline learning rate;
    * 'B': the same with the adjusted learning rate (`TABLE2_LR`);
    * 'D': EDM's preconditioning (σ_data = `sigma_data`) with the column's loss;
    * 'E': EDM's preconditioning and loss (λ and p_train).
    Row C (redistributed capacity between resolutions) has no counterpart in an MLP.
    Other keywords override `TABLE2_NET` (as `training.make_config`).
    """
    column = check_choice("column", column, TABLE2_COLUMNS)
    row = check_choice("row", row, TABLE2_ROWS)
    seed = check_seed("seed", seed)
    net = dict(TABLE2_NET, network_kwargs=dict(TABLE2_NET["network_kwargs"]))
    net["network_kwargs"]["embedding"] = TABLE2_EMBEDDING[column]
    net |= dict(lr=TABLE2_LR["A" if row == "A" else "B"], seed=seed) | config
    if row in ("A", "B"):
        return family_run(data, column, sigma_data, **net)
    if row == "E":
        return family_run(data, "edm", sigma_data, **net)
    sigma_data = _rounded(check_magnitude("sigma_data", sigma_data))
    return dict(
        net, data=data, precond="edm", precond_kwargs=dict(sigma_data=sigma_data), loss=column
    )


def table2_metrics(
    mixture: GaussianMixture, samples: torch.Tensor, reference: torch.Tensor
) -> dict[str, float]:
    """The measures of Table 2 in miniature (Chapters 6 and 7): samples of a trained network
    against the mixture it was trained on, FID's stand-ins where the answer is known.

    * 'tv': mode coverage, the total-variation distance between the samples' shares of the
      mixture's components and the true weights (`metrics.mode_coverage`), lower is better;
    * 'loglik': the samples' mean log p_data (`metrics.mean_log_likelihood`), higher is better;
    * 'sw': the sliced Wasserstein-2 distance to `reference`, exact samples (lower is better);
    * 'fd': the Fréchet distance to `reference` (lower is better).
    """
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
    samples = check_samples("samples", samples, dim=mixture.dim, min_count=2)
    reference = check_samples("reference", reference, dim=mixture.dim, min_count=2)
    return dict(
        tv=mode_coverage(mixture, samples),
        loglik=mean_log_likelihood(mixture, samples),
        sw=sliced_wasserstein(samples, reference),
        fd=frechet_distance_samples(samples, reference),
    )


def digits_f_run(
    train: torch.Tensor, row: str, seed: int = 0, num_train: int = DIGITS_F_TRAIN, **config
) -> dict:
    """Row 'E' or 'F' of Table 2 on the first `num_train` of the training digits `train`.

    Both train `DIGITS_F_NET` with EDM's preconditioning and loss at the digits' measured
    σ_data; row F adds non-leaky augmentation (`augment.AugmentPipe`, Sec. 5 of
    the paper): each image is flipped and rotated by 90° with probability
    `DIGITS_F_AUGMENT_P`, and the network is told which (its augmentation labels), so
    that with the labels at zero, as when sampling, it generates un-augmented digits.
    """
    row = check_choice("row", row, ("E", "F"))
    train = check_tensor("train", train, min_ndim=2)
    if len(train) < 2:
        raise ValueError(f"train must hold at least two digits, got shape {tuple(train.shape)}")
    num_train = check_integer("num_train", num_train, 2, 10**7)
    if len(train) < num_train:
        raise ValueError(f"num_train must be at most len(train) = {len(train)}, got {num_train}")
    subset = train[:num_train]
    augment_p = DIGITS_F_AUGMENT_P if row == "F" else 0.0
    run = dict(DIGITS_F_NET, seed=check_seed("seed", seed), augment_p=augment_p) | config
    return family_run(subset.to(torch.float32), "edm", measured_sigma_data(subset), **run)


def initial_denoiser(run: dict, shape: tuple[int, ...]) -> torch.nn.Module:
    """The denoiser D_θ of `run` before its first training step (its initial weights).

    The raw network is built as training builds it, from the run's seed; its last layer
    starts at zero, so D_θ(x; σ) = c_skip(σ)·x whatever the other weights.  `shape` is
    the shape of one sample ([D] or [C, H, W]).
    """
    if not isinstance(run, dict):
        raise ValueError(
            f"run must be a run dict (with 'data' and configuration keys), got {run!r}"
        )
    config = make_config(**{k: v for k, v in run.items() if k != "data"})
    shape = tuple(
        check_integer("shape", n, 1, 10**6) for n in check_sequence("shape", shape, min_length=1)
    )
    model = make_network(
        config["network"],
        shape,
        generator=torch.Generator().manual_seed(config["seed"]),
        **config["network_kwargs"],
    )
    return denoiser(config, model)
