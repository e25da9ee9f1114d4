"""Sample-quality measures that an exactly known data distribution makes meaningful.

For a `GaussianMixture` we know p_data itself, so instead of FID we can ask
directly: do samples lie where the density is high (average log-density), and
do they visit the components in the right proportions (mode weights)?

Distances between sample sets, all in float64 (inputs [B, ...] are flattened to [B, D]):

* `rms_error`: the endpoint error of a sampler against a converged reference
  from the same latents (`reference.reference_samples`) — with an exact
  denoiser this is pure truncation error (the y-axis of a Fig. 2-style error-vs-NFE plot);
* `frechet_distance`: FID's formula (the Fréchet distance between fitted
  Gaussians) against a known mean and covariance, e.g. a `GaussianMixture`'s exact
  `.mean`/`.covariance`, or between two sample sets; for digits, in the fixed
  feature space of `pca_features` instead of Inception features;
* `sliced_wasserstein`: the sliced 2-Wasserstein distance, which unlike a
  Fréchet distance sees more than two moments;
* `nearest_neighbor_distance`: distance to the closest training example, to see
  that the exact denoiser of a finite set (Eq. 57) only reproduces its training data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._validation import (
    check_bool,
    check_callable,
    check_generator,
    check_integer,
    check_samples,
    check_seed,
    check_tensor,
)
from ..denoisers import GaussianMixture


def _check_mixture(mixture: GaussianMixture, *, density: bool = False) -> GaussianMixture:
    """A `GaussianMixture` (with a density at σ = 0, i.e. every s_k > 0, if `density`)."""
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
    if density and bool((mixture.stds[mixture.weights > 0] == 0).any()):
        raise ValueError(
            "mixture must have components of positive width (stds > 0): with point masses "
            "p_data has no density (use nearest_neighbor_distance for a finite data set)"
        )
    return mixture


def mean_log_likelihood(mixture: GaussianMixture, x: torch.Tensor) -> float:
    """Average log p_data(x) of samples x [B, ...] (B >= 1) under the true distribution (σ = 0)."""
    _check_mixture(mixture, density=True)
    x = check_samples("x", x, dim=mixture.dim, min_count=1)
    return float(mixture.log_prob(x, 0.0).mean())


def assign_components(mixture: GaussianMixture, x: torch.Tensor) -> torch.Tensor:
    """The component each sample x [B, ...] most likely came from, shape [B] (int64).

    That is the component with the highest posterior responsibility under
    p_data.  For components with zero width, which have no density, the
    nearest mean decides.
    """
    _check_mixture(mixture)
    x = check_samples("x", x, dim=mixture.dim)  # [B, D], finite
    if (mixture.stds > 0).all():
        var = mixture.stds**2  # [K]
        log_terms = mixture.log_weights - 0.5 * torch.cdist(x, mixture.means).square() / var
        log_terms = log_terms - 0.5 * mixture.dim * torch.log(var)  # [B, K]
        return log_terms.argmax(dim=1)  # [B]
    return torch.cdist(x, mixture.means).argmin(dim=1)  # [B]


def mode_weights(mixture: GaussianMixture, x: torch.Tensor) -> torch.Tensor:
    """Share of the samples x [B, ...] assigned to each component (`assign_components`), shape [K]."""
    k = assign_components(mixture, x)  # [B]
    if len(k) == 0:
        raise ValueError("x must hold at least one sample to count shares")
    return torch.bincount(k, minlength=len(mixture.weights)).to(torch.float64) / len(k)


def mode_coverage(mixture: GaussianMixture, x: torch.Tensor) -> float:
    """Total-variation distance between the samples' component shares and the mixture's weights.

    ½ Σ_k |share_k − w_k| with the shares of `mode_weights`: 0 when every mode gets
    its share, the dropped weight when modes are missing (a mode-collapse
    metric that sees beyond two moments).  For n exact samples its expectation
    is O(√(K/n)), not 0: compare with exact samples of the same size.
    """
    shares = mode_weights(mixture, x)  # [K]
    weights = mixture.weights.to(shares)  # [K]
    return float(0.5 * (shares - weights).abs().sum())


def exact_sample_scores(
    mixture: GaussianMixture,
    metric: Callable[[torch.Tensor], Any],
    num_samples: int,
    num_sets: int = 20,
    first_seed: int = 100,
) -> list[Any]:
    """`metric` of `num_sets` sets of `num_samples` exact samples of p_data: the sampling spread.

    A metric computed on finitely many samples has a floor and a spread even for a perfect
    sampler; the chapters draw that spread as a band, and read a sampler's score against it.
    Set k is `mixture.sample(num_samples, torch.Generator().manual_seed(first_seed + k))`, so
    pages that use the same seeds quote the same spread.  Returns the scores, in set order.
    """
    _check_mixture(mixture)
    check_callable("metric", metric)
    num_samples = check_integer("num_samples", num_samples, 1)
    num_sets = check_integer("num_sets", num_sets, 1, 10_000)
    first_seed = check_seed("first_seed", first_seed)
    return [
        metric(mixture.sample(num_samples, generator=torch.Generator().manual_seed(first_seed + k)))
        for k in range(num_sets)
    ]


def fidelity_report(
    mixture: GaussianMixture, samples: torch.Tensor, seed: int = 0
) -> dict[str, float]:
    """Compare samples with the data distribution, and with true samples of the same size.

    Returns:
        loglik_samples: average log p_data of the samples;
        loglik_data: the same for as many exact samples of p_data (drawn with `seed`),
            the value a perfect sampler would reach up to sampling noise;
        max_weight_error: the largest |share of samples in component k − w_k|.
    """
    _check_mixture(mixture, density=True)
    samples = check_samples("samples", samples, dim=mixture.dim, min_count=1)
    seed = check_seed("seed", seed)
    reference = mixture.sample(len(samples), generator=torch.Generator().manual_seed(seed))
    try:
        loglik_samples = mean_log_likelihood(mixture, samples)
    except ValueError as error:  # its messages are about its argument x: here, the samples
        raise ValueError(
            f"samples{str(error)[1:]}" if str(error).startswith("x ") else str(error)
        ) from None
    return {
        "loglik_samples": loglik_samples,
        "loglik_data": mean_log_likelihood(mixture, reference),
        "max_weight_error": float((mode_weights(mixture, samples) - mixture.weights).abs().max()),
    }


# ------------------------------------------------------------ distances
#: The largest magnitude of a sample value a distance accepts: its square, and a covariance's
#: eigen-decomposition, must stay far inside float64's range.
MAX_SAMPLE_MAGNITUDE = 1e50


def _bounded(name: str, x: torch.Tensor, bound: float = MAX_SAMPLE_MAGNITUDE) -> torch.Tensor:
    """x with every |entry| <= bound, else a ValueError naming it."""
    if x.numel() and float(x.abs().max()) > bound:
        raise ValueError(f"{name} must have entries of magnitude <= {bound:g}")
    return x


def _flat(name: str, x: torch.Tensor) -> torch.Tensor:
    """x [B, ...] → float64 [B, D], finite, B >= 1, entries of magnitude <= 1e50."""
    return _bounded(name, check_samples(name, x, min_count=1))


def rms_error(x: torch.Tensor, y: torch.Tensor) -> float:
    """Root-mean-square difference per element, √(mean (x − y)²), of two batches of the same shape."""
    x, y = check_tensor("x", x, min_ndim=0), check_tensor("y", y, min_ndim=0)
    if x.numel() == 0:
        raise ValueError("x must not be empty: the mean of no differences is undefined")
    if x.shape != y.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    difference = x.to(torch.float64) - y.to(torch.float64)
    rms = float(difference.square().mean().sqrt())
    if math.isfinite(rms):
        return rms
    scale = float(difference.abs().max())  # d² overflowed: √(mean d²) = s √(mean (d/s)²)
    if not math.isfinite(scale):
        raise ValueError("y is too far from x: their difference exceeds float64's range")
    return scale * float((difference / scale).square().mean().sqrt())


def _check_covariance(name: str, cov: torch.Tensor) -> torch.Tensor:
    """A covariance [D, D]: symmetric and positive semi-definite, to rounding (1e-8 relative),
    with entries of magnitude <= 1e100 (the square of a sample value's bound)."""
    if cov.numel() == 0:
        return cov
    _bounded(name, cov, MAX_SAMPLE_MAGNITUDE**2)
    tolerance = 1e-8 * float(cov.abs().max())
    if float((cov - cov.T).abs().max()) > tolerance:
        raise ValueError(f"{name} must be a symmetric matrix (a covariance)")
    if float(torch.linalg.eigvalsh(0.5 * (cov + cov.T)).min()) < -tolerance:
        raise ValueError(
            f"{name} must be positive semi-definite (a covariance): it has a negative eigenvalue"
        )
    return cov


def _sqrtm_psd(C: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix via eigh (tiny negative λ → 0)."""
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (C + C.T))
    return (vectors * eigenvalues.clamp(min=0).sqrt()) @ vectors.T


def _mean_cov(x: torch.Tensor, name: str = "x") -> tuple[torch.Tensor, torch.Tensor]:
    """Sample mean [D] and unbiased sample covariance [D, D] of x [B, D] (`name` for errors)."""
    if len(x) < 2:
        raise ValueError(f"{name} must hold at least two samples to fit a covariance, got {len(x)}")
    mean = x.mean(0)
    centred = x - mean  # [B, D]
    return mean, centred.T @ centred / (len(x) - 1)


def frechet_distance_gaussians(
    mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor
) -> float:
    """Fréchet (2-Wasserstein²) distance between N(μ₁, C₁) and N(μ₂, C₂), the formula behind FID:

    ‖μ₁ − μ₂‖² + tr(C₁ + C₂ − 2 (C₁^½ C₂ C₁^½)^½),

    with symmetric square roots from eigh, so it stays real and ≥ 0 for
    (nearly) singular covariances.
    """
    mean1 = check_tensor("mean1", mean1, max_ndim=1, float_dtype=torch.float64)
    mean1 = _bounded("mean1", mean1.to(torch.float64).reshape(-1))  # [D]
    D = len(mean1)
    mean2 = check_tensor("mean2", mean2, max_ndim=1, float_dtype=torch.float64)
    mean2 = _bounded("mean2", mean2.to(mean1).reshape(-1))  # [D]
    cov1 = check_tensor("cov1", cov1, float_dtype=torch.float64).to(mean1)
    cov2 = check_tensor("cov2", cov2, float_dtype=torch.float64).to(mean1)
    for name, value, shape in [
        ("mean2", mean2, (D,)),
        ("cov1", cov1, (D, D)),
        ("cov2", cov2, (D, D)),
    ]:
        if value.shape != shape:
            raise ValueError(
                f"{name} must have shape {list(shape)} to match mean1, got {tuple(value.shape)}"
            )
    _check_covariance("cov1", cov1)
    _check_covariance("cov2", cov2)
    root1 = _sqrtm_psd(cov1)  # [D, D]
    cross = _sqrtm_psd(root1 @ cov2 @ root1)  # [D, D]
    distance = (
        (mean1 - mean2).square().sum()
        + torch.trace(cov1)
        + torch.trace(cov2)
        - 2 * torch.trace(cross)
    )
    return max(float(distance), 0.0)


def _samples_and_gaussian(
    x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Samples x [B, ...] and a Gaussian N(mean, cov), checked: mean [D] sets the dimension, cov
    [D, D] is symmetric and positive semi-definite, x has D numbers per sample; all float64 on
    x's device."""
    x = _flat("x", x)  # [B, D']
    mean = check_tensor("mean", mean, max_ndim=1, float_dtype=torch.float64)
    mean = _bounded("mean", mean.to(x).reshape(-1))  # [D]
    D = len(mean)
    cov = check_tensor("cov", cov, float_dtype=torch.float64).to(x)  # [D, D]
    if cov.shape != (D, D):
        raise ValueError(f"cov must have shape [{D}, {D}] to match mean, got {tuple(cov.shape)}")
    if x.shape[1] != D:
        raise ValueError(f"x must have {D} numbers per sample to match mean, got {x.shape[1]}")
    return x, mean, _check_covariance("cov", cov)


def frechet_distance(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> float:
    """Fréchet distance between the Gaussian fitted to samples x [B, ...] and N(mean, cov).

    With a `GaussianMixture` target, pass its exact `.mean` and `.covariance`:
    then only the samples carry sampling error.
    """
    x, mean, cov = _samples_and_gaussian(x, mean, cov)  # [B, D], [D], [D, D]
    return frechet_distance_gaussians(*_mean_cov(x), mean, cov)


def frechet_distance_samples(x: torch.Tensor, y: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to two sample sets x [B, ...] and y [B′, ...]."""
    x, y = _flat("x", x), _flat("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"y must have as many elements per sample as x ({x.shape[1]}), got {y.shape[1]}"
        )
    return frechet_distance_gaussians(*_mean_cov(x, "x"), *_mean_cov(y, "y"))


def sliced_wasserstein(
    x: torch.Tensor,
    y: torch.Tensor,
    num_projections: int = 128,
    generator: torch.Generator | None = None,
) -> float:
    """Sliced 2-Wasserstein distance between two equal-size sample sets x, y [B, ...].

    SW₂ = (E_θ W₂²(θ·x, θ·y))^½ over directions θ uniform on the unit sphere,
    estimated with `num_projections` directions; each 1-D W₂² is exact: the mean
    squared difference of the sorted projections.  `generator` draws the
    directions; None uses a fixed seed (0), so the metric is deterministic.
    """
    x, y = _flat("x", x), _flat("y", y)
    if x.shape != y.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    num_projections = check_integer("num_projections", num_projections, 1, 10_000)
    generator = check_generator("generator", generator)
    generator = torch.Generator().manual_seed(0) if generator is None else generator
    theta = torch.randn(
        x.shape[1], num_projections, generator=generator, dtype=torch.float64
    )  # [D, P]
    theta = (theta / theta.norm(dim=0)).to(x.device)
    x_proj, y_proj = (x @ theta).sort(dim=0).values, (y @ theta).sort(dim=0).values  # [B, P]
    return float((x_proj - y_proj).square().mean().sqrt())


def nearest_neighbor_distance(
    x: torch.Tensor, data: torch.Tensor, batch_size: int = 1024, return_index: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """RMS distance per element from each sample to its nearest training example, shape [B].

    ‖x_b − y_nn‖/√D: 0 for a copy of a training point, so it shows memorisation
    (the exact denoiser of a finite set, Eq. 57, can only reproduce its data).
    The neighbour is found with fast matrix products in chunks of `batch_size`
    samples, then its distance is recomputed directly (exact 0 for copies).
    With `return_index`, also returns the neighbour's index [B].
    """
    return_index = check_bool("return_index", return_index)
    x, data = _flat("x", x), _flat("data", data)
    if data.device != x.device:
        raise ValueError(f"data must be on the device of x ({x.device}), got {data.device}")
    if x.shape[1] != data.shape[1]:
        raise ValueError(
            f"data must have as many elements per sample as x ({x.shape[1]}), got {data.shape[1]}"
        )
    batch_size = check_integer("batch_size", batch_size, 1, 10**9)
    index = torch.cat(
        [torch.cdist(chunk, data).argmin(dim=1) for chunk in x.split(batch_size)]
    )  # [B]
    distance = (x - data[index]).square().mean(dim=1).sqrt()  # [B]
    return (distance, index) if return_index else distance


def pca_features(data: torch.Tensor, k: int = 16) -> Callable[[torch.Tensor], torch.Tensor]:
    """A fixed feature map from the data's top-k principal components: x [B, ...] → [B, k] float64.

    features(x) = (x − mean) V_k, with V_k the covariance's eigenvectors of the
    k largest eigenvalues, in decreasing order.  It stands in for FID's
    Inception features on the digits: `frechet_distance_samples(features(x),
    features(data))` compares samples and data in a space fixed by the data alone.
    The map carries `mean` [D], `components` V_k [D, k] and `variances` (the k
    largest eigenvalues of the data covariance) as attributes.
    """
    data = _flat("data", data)  # [N, D]
    k = check_integer("k", k, 1)
    if k > data.shape[1]:
        raise ValueError(f"k must be at most the data dimension {data.shape[1]}, got {k}")
    mean, cov = _mean_cov(data, "data")
    eigenvalues, vectors = torch.linalg.eigh(cov)  # ascending
    components = vectors[:, eigenvalues.argsort(descending=True)[:k]]  # [D, k]

    def features(x: torch.Tensor) -> torch.Tensor:
        """Coordinates of x [B, ...] on the top-k principal axes, [B, k]."""
        x = _flat("x", x)
        if x.shape[1] != len(mean):
            raise ValueError(
                f"x must have {len(mean)} values per sample, as the data, got {x.shape[1]}"
            )
        return (x.to(mean.device) - mean) @ components

    features.mean, features.components, features.variances = (
        mean,
        components,
        eigenvalues.flip(0)[:k],
    )
    return features
