"""A trained denoiser against the exact one, per noise level σ.

For data y, noise n ~ N(0, σ²I) and x = y + n, the L2 loss of any denoiser D
splits in two (the ideal denoiser D*(x; σ) = E[y | x; σ] is the orthogonal
projection of y onto functions of x, Eq. 2–3):

    E‖D(x; σ) − y‖² = E‖D*(x; σ) − y‖² + E‖D(x; σ) − D*(x; σ)‖².
         loss               floor               network error

The floor is what no network can go below; the network error is what
training can still remove.  Both are measured here per σ, with the same
draws of y and n for the three terms, per coordinate (‖·‖² divided by the
number of values per sample).  For Gaussian data N(0, s²I) the floor is
σ²s²/(σ² + s²) per coordinate (`gaussian_floor`).

Training does not see this loss but λ(σ) times it (Sec. 5, Table 1): `weighted_by_loss`
weights all three terms as a loss of `edm_src.losses` does, which is how
Figure 5a plots the loss per σ, and `gaussian_weighted_floor` is the weighted
floor in closed form for Gaussian data.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._net import check_net, net_output
from .._validation import (
    check_generator,
    check_integer,
    check_magnitude,
    check_sigma_tensor,
    check_tensor,
)
from ..denoisers import GaussianMixture
from ..losses import _check_loss, _Loss

Net = Callable[..., torch.Tensor]


def gaussian_floor(sigma: torch.Tensor | float, data_std: float) -> torch.Tensor:
    """E‖D*(y + n; σ) − y‖² per coordinate for y ~ N(0, s²): σ²s²/(σ² + s²).

    D* is linear here, D*(x) = s²/(σ² + s²)·x, and its error is the posterior variance.
    """
    sigma = check_sigma_tensor(sigma)
    s = check_magnitude("data_std", data_std)
    return sigma**2 * s**2 / (sigma**2 + s**2)


def gaussian_weighted_floor(
    loss: _Loss, sigma: torch.Tensor | float, data_std: float
) -> torch.Tensor:
    """λ(σ)·σ²s²/(σ² + s²): the floor of `loss` at σ (per coordinate) for y ~ N(0, s²).

    For EDM's loss, λ = (σ² + σ_data²)/(σ·σ_data)², and data of std s = σ_data, this is 1
    at every σ: D = c_skip·x is then the exact denoiser, the network at initialisation
    (last layer zero) is already optimal, and the loss it starts from is its floor.
    """
    loss = _check_loss(loss)
    sigma = check_sigma_tensor(sigma, positive=True)
    return loss.weight(sigma) * gaussian_floor(sigma, data_std)


def weighted_by_loss(errors: dict[str, torch.Tensor], loss: _Loss) -> dict[str, torch.Tensor]:
    """The terms of `denoising_errors` weighted as `loss` weights them, λ(σ)·E‖·‖² (Sec. 5).

    Returns the same keys ('sigma', 'loss', 'floor', 'network_error' and their '_se');
    each term and its standard error is multiplied by λ(σ) of `loss`.  This is the loss
    per σ that Figure 5a plots: for EDM's loss it is about 1 at initialisation at every σ.
    """
    loss = _check_loss(loss)
    needed = ("sigma", "loss", "floor", "network_error")
    if not isinstance(errors, dict) or any(k not in errors for k in needed):
        raise ValueError(f"errors must be a dict of denoising_errors with keys {needed}")
    sigma = check_sigma_tensor(errors["sigma"], "errors['sigma']", positive=True)
    weight = loss.weight(sigma.to(torch.float64)).to(torch.float64)  # [S]
    out = {"sigma": sigma}
    for key, value in errors.items():
        if key != "sigma":
            out[key] = weight * check_tensor(f"errors[{key!r}]", value).to(torch.float64)
    return out


def _draw(data: torch.Tensor | GaussianMixture, n: int, generator) -> torch.Tensor:
    """n samples y: drawn from a mixture, or picked with replacement from a finite data set."""
    if isinstance(data, GaussianMixture):
        return data.sample(n, generator=generator)
    index = torch.randint(len(data), (n,), generator=generator, device=data.device)
    return data[index]


def denoising_errors(
    net: Net,
    exact: Net,
    data: torch.Tensor | GaussianMixture,
    sigmas: torch.Tensor,
    num_samples: int = 1024,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """The loss, its floor and the network's error of `net` at each σ, per coordinate.

    Args:
        net: the denoiser D_θ(x; σ) under test (e.g. `Trained.net`).
        exact: the exact denoiser D* of the same data (a `GaussianMixture`, or
            `EmpiricalDenoiser` of the training set).
        data: the data y: a `GaussianMixture` to sample, or samples [N, ...] to draw from.
        sigmas: the noise levels [S], > 0.
        num_samples: draws of (y, n) per σ.
        generator: seeds the draws.
    Returns:
        'sigma' [S]; 'loss' E‖D_θ − y‖², 'floor' E‖D* − y‖², 'network_error'
        E‖D_θ − D*‖², each [S] per coordinate, and each with its standard error
        ('loss_se', 'floor_se', 'network_error_se') over the draws.
    """
    check_net(net)
    check_net(exact, "exact")
    if not isinstance(data, GaussianMixture):
        data = check_tensor("data", data, min_ndim=2, float_dtype=torch.float64)
        if len(data) < 1:
            raise ValueError(f"data must hold at least one sample, got shape {tuple(data.shape)}")
    sigmas = check_sigma_tensor(sigmas, "sigmas", positive=True).reshape(-1)
    num_samples = check_integer("num_samples", num_samples, 2, 10**7)
    generator = check_generator("generator", generator)
    out: dict[str, list[float]] = {k: [] for k in ("loss", "floor", "network_error")}
    ses: dict[str, list[float]] = {k: [] for k in out}
    for sigma in sigmas.tolist():
        y = _draw(data, num_samples, generator).to(torch.float64)  # [n, ...]
        x = y + sigma * torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
        with torch.no_grad():
            D = net_output(net(x, sigma, None), x, finite=True)  # [n, ...]
            D_star = net_output(exact(x, sigma, None), x, finite=True)  # [n, ...]
        per = {
            "loss": (D - y).reshape(num_samples, -1).pow(2).mean(dim=1),  # [n]
            "floor": (D_star - y).reshape(num_samples, -1).pow(2).mean(dim=1),
            "network_error": (D - D_star).reshape(num_samples, -1).pow(2).mean(dim=1),
        }
        for k, v in per.items():
            out[k].append(float(v.mean()))
            ses[k].append(float(v.std()) / math.sqrt(num_samples))
    result = {"sigma": sigmas.to(torch.float64)}
    for k in out:
        result[k] = torch.tensor(out[k], dtype=torch.float64)
        result[f"{k}_se"] = torch.tensor(ses[k], dtype=torch.float64)
    return result


def learned_uncertainty(net: torch.nn.Module, sigma: torch.Tensor | float) -> torch.Tensor:
    """e^{u(σ)} of a denoiser trained with EDM2's uncertainty-weighted loss [S] (float64).

    EDM2 (Karras et al. 2024) trains u(σ) jointly with the network on
    λ(σ)‖D(y + n; σ) − y‖²/e^{u(σ)} + u(σ); at a fixed σ this is smallest over u at
    e^{u(σ)} = E[λ(σ)‖D − y‖²], so a converged u reads out the loss the network expects at σ:
    the curve of Figure 5a, learned instead of measured.  `net` is a trained denoiser
    (`Trained.net`) whose raw network has an uncertainty head (`MLP(logvar_channels > 0)`);
    u is evaluated at the denoiser's own c_noise(σ).
    """
    model = getattr(net, "model", None)
    if not callable(getattr(net, "coefficients", None)) or not getattr(model, "logvar_channels", 0):
        raise ValueError(
            "net must be a trained denoiser (Trained.net) whose raw network has an uncertainty "
            "head (network_kwargs logvar_channels > 0)"
        )
    sigma = check_sigma_tensor(sigma, positive=True).reshape(-1)  # [S]
    with torch.no_grad():
        c_noise = net.coefficients(sigma.to(torch.float32))[3]  # [S] (c_skip, c_out, c_in, c_noise)
        return model.logvar(c_noise).to(torch.float64).exp()  # [S]
