"""edm_src: the mathematics of Karras et al. 2022 (EDM), small, exact and tested.

Everything a chapter of the book needs is importable from the top level:

* samplers (Algorithms 1–2): `edm_sampler`, `ablation_sampler`, `record_trajectory`, `CountingNet`;
* the SDE family of Eq. 6: `sde_sampler`;
* Table 1's schedules and discretizations: the `schedules` module;
* preconditioning (Table 1, Sec. 5): `VPPrecond`, `VEPrecond`, `iDDPMPrecond`, `EDMPrecond`;
* losses (Table 1, Sec. 5): `VPLoss`, `VELoss`, `EDMLoss`;
* exact denoisers: `GaussianMixture`, `EmpiricalDenoiser` (Eq. 57);
* data: `load_digits`, `toy_mixture`, `toy_samples`;
* metrics against a known distribution: `fidelity_report`, `frechet_distance`, `sliced_wasserstein`, …;
* Chapter 3's benchmarks (`benchmarks`: `low_dim_mixture`, `ImperfectDenoiser`, …) and
  converged reference solutions (`reference`: `solve_pf_ode`, `reference_samples`, `rk45_sampler`, …);
* Table 1 as data: the `table1` module;
* the paper's published numbers: the `published` module.
"""

from . import benchmarks, convergence, published, reference, schedules, sweeps, table1
from .benchmarks import ImperfectDenoiser, digits_benchmark, low_dim_mixture, ring_2d
from .data import (
    TOY_MIXTURES,
    TOY_SAMPLES,
    load_digit_labels,
    load_digits,
    toy_mixture,
    toy_samples,
)
from .denoisers import EmpiricalDenoiser, GaussianMixture
from .losses import EDMLoss, VELoss, VPLoss
from .metrics import (
    fidelity_report,
    frechet_distance,
    frechet_distance_gaussians,
    frechet_distance_samples,
    mean_log_likelihood,
    mode_weights,
    nearest_neighbor_distance,
    pca_features,
    rms_error,
    sliced_wasserstein,
)
from .preconditioning import EDMPrecond, VEPrecond, VPPrecond, iDDPMPrecond
from .reference import local_truncation_error, reference_samples, rk45_sampler, solve_pf_ode
from .samplers import CountingNet, Trajectory, ablation_sampler, edm_sampler, record_trajectory
from .sde import sde_sampler

__all__ = [
    "benchmarks",
    "convergence",
    "published",
    "reference",
    "schedules",
    "sweeps",
    "table1",
    "ImperfectDenoiser",
    "digits_benchmark",
    "low_dim_mixture",
    "ring_2d",
    "frechet_distance",
    "frechet_distance_gaussians",
    "frechet_distance_samples",
    "nearest_neighbor_distance",
    "pca_features",
    "rms_error",
    "sliced_wasserstein",
    "local_truncation_error",
    "reference_samples",
    "rk45_sampler",
    "solve_pf_ode",
    "TOY_MIXTURES",
    "TOY_SAMPLES",
    "load_digit_labels",
    "load_digits",
    "toy_mixture",
    "toy_samples",
    "EmpiricalDenoiser",
    "GaussianMixture",
    "EDMLoss",
    "VELoss",
    "VPLoss",
    "fidelity_report",
    "mean_log_likelihood",
    "mode_weights",
    "EDMPrecond",
    "VEPrecond",
    "VPPrecond",
    "iDDPMPrecond",
    "CountingNet",
    "Trajectory",
    "ablation_sampler",
    "edm_sampler",
    "record_trajectory",
    "sde_sampler",
]
