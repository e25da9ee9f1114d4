"""Sample-quality measures that an exactly known data distribution makes meaningful.

For a `GaussianMixture` we know p_data itself, so instead of FID we can ask
directly: do samples lie where the density is high (average log-density), and
do they visit the components in the right proportions (mode weights)?
"""

from __future__ import annotations

import torch

from .denoisers import GaussianMixture


def mean_log_likelihood(mixture: GaussianMixture, x: torch.Tensor) -> float:
    """Average log p_data(x) of samples x [B, ...] under the true distribution (σ = 0)."""
    return float(mixture.log_prob(x, 0.0).mean())


def mode_weights(mixture: GaussianMixture, x: torch.Tensor) -> torch.Tensor:
    """Share of the samples x [B, ...] assigned to each component, shape [K].

    A sample belongs to the component with the highest posterior
    responsibility under p_data (its most likely origin).  For components with
    zero width, which have no density, the nearest mean decides.
    """
    x = torch.as_tensor(x, dtype=torch.float64).reshape(len(x), -1)  # [B, D]
    if (mixture.stds > 0).all():
        var = mixture.stds**2  # [K]
        log_terms = mixture.log_weights - 0.5 * torch.cdist(x, mixture.means).square() / var
        log_terms = log_terms - 0.5 * mixture.dim * torch.log(var)  # [B, K]
        k = log_terms.argmax(dim=1)  # [B]
    else:
        k = torch.cdist(x, mixture.means).argmin(dim=1)  # [B]
    return torch.bincount(k, minlength=len(mixture.weights)).to(torch.float64) / len(x)


def fidelity_report(mixture: GaussianMixture, samples: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """Compare samples with the data distribution, and with true samples of the same size.

    Returns:
        loglik_samples: average log p_data of the samples;
        loglik_data: the same for as many exact samples of p_data (drawn with `seed`),
            the value a perfect sampler would reach up to sampling noise;
        max_weight_error: the largest |share of samples in component k − w_k|.
    """
    reference = mixture.sample(len(samples), generator=torch.Generator().manual_seed(seed))
    return {
        "loglik_samples": mean_log_likelihood(mixture, samples),
        "loglik_data": mean_log_likelihood(mixture, reference),
        "max_weight_error": float((mode_weights(mixture, samples) - mixture.weights).abs().max()),
    }
