"""edm_src: the mathematics of Karras et al. 2022 (EDM), small, exact and tested.

The package has two layers.  The top level is the paper's mathematics:

* samplers (Algorithms 1–2): `edm_sampler`, `ablation_sampler`, `record_trajectory`, `CountingNet`;
* the SDE family of Eq. 6: `sde_sampler`;
* Table 1's schedules and discretizations: the `schedules` module;
* preconditioning (Table 1, Sec. 5): `VPPrecond`, `VEPrecond`, `iDDPMPrecond`, `EDMPrecond`;
* losses (Table 1, Sec. 5): `VPLoss`, `VELoss`, `EDMLoss`, and `TargetLoss` with
  `TargetPrecond` (App. B.6: a network asked for D, ε, the score or EDM's mixture);
* non-leaky augmentation (`augment`: `AugmentPipe`, flips and 90° rotations whose labels the
  network is told, Table 2's config F);
* raw networks F_θ (`networks`: `MLP`, `UNet`) and their training (`training`: `train`,
  `train_many`, Adam with a ramp-up and an EMA, batched with vmap, cached on disk);
* exact denoisers: `GaussianMixture`, `EmpiricalDenoiser` (Eq. 57);
* data: `load_digits`, `toy_mixture`, `toy_samples`;
* and beneath them the one validation layer (`_validation`) and the net protocol (`_net`).

`edm_src.instruments` holds the book's measuring instruments, which use the mathematics and
are never used by it:

* benchmarks with exact answers (`benchmarks`: `low_dim_mixture`, `ImperfectDenoiser`, …);
* converged reference solutions (`reference`: `solve_pf_ode`, `reference_samples`,
  `rk45_sampler`, …) and convergence orders (`convergence`);
* sweeps of sampler settings (`sweeps`);
* a trained denoiser against the exact one per σ (`evaluation`: `denoising_errors`,
  `gaussian_floor`);
* metrics against a known distribution (`metrics`: `fidelity_report`, `frechet_distance`,
  `sliced_wasserstein`, …);
* the paper's published numbers (`published`) and Table 1 as data (`table1`);
* plotting (`plotting`, imported on first use).

Everything a chapter of the book needs is importable from the top level: the instruments'
modules and their most used names are re-exported here (`from edm_src import benchmarks,
frechet_distance`), and `edm_src.instruments.<module>` is each one's own path.
"""

from types import ModuleType

from . import augment, instruments, networks, schedules, training
from .augment import AugmentPipe
from .data import (
    TOY_MIXTURES,
    TOY_SAMPLES,
    load_digit_labels,
    load_digits,
    toy_mixture,
    toy_samples,
)
from .denoisers import EmpiricalDenoiser, GaussianMixture
from .instruments import (
    benchmarks,
    convergence,
    evaluation,
    metrics,  # noqa: F401  (edm_src.metrics, as before the move; not in __all__)
    published,
    reference,
    sweeps,
    table1,
)
from .instruments.benchmarks import (
    DiscreteLevels,
    ImperfectDenoiser,
    digits_benchmark,
    low_dim_mixture,
    ring_2d,
)
from .instruments.evaluation import denoising_errors, gaussian_floor
from .instruments.metrics import (
    exact_sample_scores,
    fidelity_report,
    frechet_distance,
    frechet_distance_gaussians,
    frechet_distance_samples,
    mean_log_likelihood,
    mode_coverage,
    mode_weights,
    nearest_neighbor_distance,
    pca_features,
    rms_error,
    sliced_wasserstein,
)
from .instruments.reference import (
    local_truncation_error,
    reference_samples,
    rk45_sampler,
    solve_pf_ode,
)
from .losses import EDMLoss, TargetLoss, VELoss, VPLoss, effective_weight
from .networks import MLP, UNet
from .preconditioning import EDMPrecond, TargetPrecond, VEPrecond, VPPrecond, iDDPMPrecond
from .samplers import CountingNet, Trajectory, ablation_sampler, edm_sampler, record_trajectory
from .sde import sde_sampler
from .training import Trained, train, train_many

__all__ = [
    "augment",
    "AugmentPipe",
    "instruments",
    "networks",
    "training",
    "evaluation",
    "MLP",
    "UNet",
    "Trained",
    "train",
    "train_many",
    "TargetLoss",
    "effective_weight",
    "TargetPrecond",
    "denoising_errors",
    "gaussian_floor",
    "benchmarks",
    "convergence",
    "published",
    "reference",
    "schedules",
    "sweeps",
    "table1",
    "DiscreteLevels",
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
    "exact_sample_scores",
    "fidelity_report",
    "mean_log_likelihood",
    "mode_coverage",
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


def __getattr__(name: str) -> ModuleType:
    """`edm_src.plotting`, the instruments' plotting module, imported on first access (PEP 562),
    so that `import edm_src` loads neither matplotlib nor plotly."""
    if name == "plotting":
        return instruments.plotting
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
