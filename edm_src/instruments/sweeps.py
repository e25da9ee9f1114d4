"""Sweeps of a sampler's settings against a distribution metric (Sec. 4: Fig. 4 and Fig. 5b).

A stochastic sampler (Algorithm 2) has four knobs, S_churn, S_tmin, S_tmax and
S_noise, and its quality is judged on the whole distribution of its samples.
This module runs such experiments reproducibly and measures them:

* `seeded_randn_like`: a noise source ε_i ~ N(0, I) for the churn with its own
  seeded generator, so a run is deterministic;
* `setting_sweep`: one run per value of one sampler keyword, every run from
  the same latents and the same noise stream (common random numbers: the
  differences between settings are not blurred by different random draws);
* `metric_vs_nfe`: the metric against the number of steps, with the network
  evaluations counted (the x-axis of Fig. 2 and Fig. 4);
* `whitened_frechet_distance`: FID's formula in the data's whitened
  coordinates, where every principal direction of the data counts equally,
  so the low-variance directions (fine detail) are not drowned by the large ones;
* `spread_ratio`: the samples' variance along the data's lowest-variance
  directions relative to the data's: below 1 the samples are too smooth
  (over-denoised), above 1 they carry leftover noise;
* `denoiser_error_profile`: how far an imperfect denoiser is from the exact
  one at each σ, to document the size of an error model;
* `paired_bootstrap`: bootstrap replicates of a metric on several runs that
  share their latents, resampling the same sample indices in every run, so
  the sampling noise of each score and of the differences between settings
  can be read off without sampling again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._net import check_net, net_output
from .._validation import (
    check_callable,
    check_forwarded,
    check_integer,
    check_num_steps,
    check_seed,
    check_sequence,
    check_sigma_tensor,
    check_tensor,
)
from ..samplers import Net, _checked_runs
from .metrics import (
    _check_covariance,
    _flat,
    _mean_cov,
    _samples_and_gaussian,
    frechet_distance_gaussians,
)

Metric = Callable[[torch.Tensor], Any]
Sampler = Callable[..., torch.Tensor]


def seeded_randn_like(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A `randn_like` for the samplers whose draws come from a generator seeded with `seed`.

    Each call returns float64 N(0, I) noise with x's shape on x's device (drawn
    on the CPU, so the stream does not depend on the device).  Two functions made
    with the same seed produce the same sequence of draws.
    """
    generator = torch.Generator().manual_seed(check_seed("seed", seed))

    def randn_like(x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape, generator=generator, dtype=torch.float64).to(x.device)

    return randn_like


def setting_sweep(
    sampler: Sampler,
    net: Net,
    latents: torch.Tensor,
    metric: Metric,
    name: str,
    values: Sequence[Any],
    *,
    seed: int = 0,
    **kwargs: Any,
) -> list[Any]:
    """metric(sampler(net, latents, **kwargs, name=value)) for each value, as a list.

    `metric` may return a float or several numbers at once (e.g. a tuple), so
    that one run is measured in several ways.
    Every run starts from the same `latents` and draws its churn noise from a
    fresh `seeded_randn_like(seed)`, so runs differ only in the swept setting.
    Example: ``setting_sweep(edm_sampler, net, z, metric, "S_churn", [0, 5, 10], num_steps=32)``.
    """
    check_callable("metric", metric)
    if not isinstance(name, str) or name in kwargs or name in ("randn_like", "latents", "net"):
        raise ValueError(
            f"name={name!r} must be a sampler keyword that is not also given in kwargs"
        )
    values = check_sequence("values", values, min_length=1)
    check_callable("sampler", sampler)
    try:
        check_forwarded("the sampler", sampler, {name: None})
    except ValueError:
        raise ValueError(f"name={name!r} must be a keyword argument of the sampler") from None
    seed = check_seed("seed", seed)
    runs = _checked_runs(
        sampler,
        net,
        latents,
        [{name: value} for value in values],
        kwargs,
        measure=metric,
        reserved=("randn_like",),
        noise=lambda: seeded_randn_like(seed),
    )
    return [result for _, result in runs]


def metric_vs_nfe(
    sampler: Sampler,
    net: Net,
    latents: torch.Tensor,
    metric: Metric,
    steps: Sequence[int],
    *,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[list[int], list[Any]]:
    """(NFE, metric) of `sampler` for each number of steps N in `steps` (Fig. 2 and Fig. 4's axes).

    The network evaluations are counted with `CountingNet` (one call on the
    batch is one evaluation): 2N − 1 for Algorithm 2, N for Euler–Maruyama.
    Runs share `latents` and a fresh `seeded_randn_like(seed)` as in `setting_sweep`.
    """
    check_callable("metric", metric)
    steps = [check_num_steps(n, "steps") for n in check_sequence("steps", steps, min_length=1)]
    seed = check_seed("seed", seed)
    runs = _checked_runs(
        sampler,
        net,
        latents,
        [{"num_steps": num_steps} for num_steps in steps],
        kwargs,
        measure=metric,
        reserved=("randn_like", "num_steps"),
        noise=lambda: seeded_randn_like(seed),
    )
    return [nfe for nfe, _ in runs], [result for _, result in runs]


# ------------------------------------------------------------- measures
def _inverse_sqrt_psd(cov: torch.Tensor, name: str) -> torch.Tensor:
    """C^{-1/2} of a symmetric positive-definite C [D, D] via eigh."""
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (cov + cov.T))
    if not eigenvalues.min() > 0:
        raise ValueError(
            f"{name} must be positive definite to whiten, "
            f"got smallest eigenvalue {float(eigenvalues.min())}"
        )
    return (vectors * eigenvalues.rsqrt()) @ vectors.T


def whitened_frechet_distance(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> float:
    """Fréchet distance between samples x [B, ...] and N(mean, cov), measured in whitened coordinates.

    Both are mapped by u = C^{-1/2}(x − mean), under which the target is
    N(0, I); then FID's formula is applied.  In closed form, for samples with
    mean m and covariance S it is ‖C^{-1/2}(m − mean)‖² + tr(Ŝ + I − 2 Ŝ^½) with
    Ŝ = C^{-1/2} S C^{-1/2}: a sample variance r times the data's along one
    principal direction costs (√r − 1)², whatever that direction's share of the
    total variance.  Invariant under any invertible affine map applied to the
    samples and the target alike.  `cov` must be positive definite.
    """
    x, mean, cov = _samples_and_gaussian(x, mean, cov)  # [B, D], [D], [D, D]
    D = len(mean)
    W = _inverse_sqrt_psd(cov, "cov")  # [D, D], symmetric
    m, S = _mean_cov((x - mean) @ W)
    return frechet_distance_gaussians(
        m, S, torch.zeros_like(m), torch.eye(D, dtype=torch.float64, device=x.device)
    )


def spread_ratio(x: torch.Tensor, cov: torch.Tensor, k: int) -> float:
    """Samples' mean variance along the data's k lowest-variance principal directions, over the data's.

    The directions are the eigenvectors of `cov` (the data covariance) with
    the k smallest eigenvalues.  1 means the samples spread like the data
    there; below 1 they are too smooth (over-denoised), above 1 they carry
    leftover noise.  For a mixture of narrow components on a low-dimensional
    surface these are the directions across the surface (the components' own width).
    """
    cov = check_tensor("cov", cov, min_ndim=2, max_ndim=2).to(torch.float64)
    x = _flat("x", x)
    D = x.shape[1]
    if cov.shape != (D, D):
        raise ValueError(f"cov must have shape [{D}, {D}] to match x, got {tuple(cov.shape)}")
    k = check_integer("k", k, 1)
    if k > D:
        raise ValueError(f"k must be at most the dimension {D}, got {k}")
    _check_covariance("cov", cov)
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (cov + cov.T))  # ascending
    if not float(eigenvalues[:k].mean()) > 0:
        raise ValueError(f"cov must have variance along its {k} lowest-variance directions, got 0")
    low = vectors[:, :k].to(x.device)  # [D, k]
    _, S = _mean_cov(x @ low)  # [k, k]
    return float(torch.diagonal(S).mean() / eigenvalues[:k].mean())


def denoiser_error_profile(
    net: Net, exact: Net, y: torch.Tensor, sigmas: Sequence[float], seed: int = 0
) -> torch.Tensor:
    """RMS per element of net(x; σ) − exact(x; σ) at x = y + σ n, n ~ N(0, I), for each σ: shape [len(sigmas)].

    `y` [B, ...] are clean data; one noise draw (seeded) is reused at every σ.
    Divide by σ_data for the error relative to the data's scale, or by
    c_out(σ) for the error of the network's raw output F (Sec. 5).
    """
    check_net(net)
    check_net(exact, "exact")
    y = check_tensor("y", y, float_dtype=torch.float64).to(torch.float64)
    if y.numel() == 0:
        raise ValueError(f"y must hold at least one value, got shape {tuple(y.shape)}")
    sigmas = check_sigma_tensor(check_sequence("sigmas", sigmas, min_length=1), "sigmas")
    if sigmas.ndim != 1:
        raise ValueError(
            f"sigmas must be a flat sequence of noise levels, got shape {tuple(sigmas.shape)}"
        )
    sigmas = sigmas.tolist()
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    noise = torch.randn(y.shape, generator=generator, dtype=torch.float64).to(y.device)
    errors = []
    for sigma in sigmas:
        x = y + sigma * noise
        sigma_t = torch.tensor(sigma, dtype=torch.float64, device=y.device)
        difference = net_output(net(x, sigma_t), x) - net_output(exact(x, sigma_t), x)
        errors.append(difference.square().mean().sqrt())
    return torch.stack(errors)


def paired_bootstrap(
    metric: Callable[[torch.Tensor], float],
    runs: Sequence[torch.Tensor],
    num_resamples: int = 50,
    seed: int = 0,
) -> torch.Tensor:
    """Bootstrap replicates of metric on each run, with the same resampled indices in every run: [R, len(runs)].

    Replicate r draws B indices with replacement (B = the runs' common number of
    samples) and evaluates ``metric(run[indices])`` for every run.  Because the
    runs of a `setting_sweep` share their latents and noise, sample i of one run
    and sample i of another belong together; resampling them together keeps that
    pairing.  The standard deviation over replicates (column j) estimates the
    standard error of run j's score; that of the difference of two columns
    estimates the standard error of the difference between two settings, which
    common random numbers make smaller than either.  For the mean of a scalar
    feature the bootstrap variance is the plug-in variance over B (Efron's
    bootstrap standard error of the mean).
    """
    check_callable("metric", metric)
    runs = check_sequence("runs", runs, min_length=1)
    runs = [check_tensor("runs", x, min_ndim=1) for x in runs]
    B = len(runs[0])
    if B < 2 or any(len(x) != B for x in runs):
        raise ValueError(
            f"runs must hold at least 2 samples each, the same number in every run, "
            f"got {[len(x) for x in runs]}"
        )
    num_resamples = check_integer("num_resamples", num_resamples, 2, 10**6)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    replicates = torch.empty(num_resamples, len(runs), dtype=torch.float64)
    for r in range(num_resamples):
        indices = torch.randint(B, (B,), generator=generator)  # [B], with replacement
        for j, x in enumerate(runs):
            replicates[r, j] = float(metric(x[indices.to(x.device)]))
    return replicates
