"""edm_src.instruments: the book's measuring instruments, built on the paper's mathematics.

The top level of `edm_src` is the paper (schedules, samplers, the SDE, preconditioning,
losses, networks, training, exact denoisers, data); this subpackage holds what the book measures it with:

* `benchmarks`: benchmarks with exact answers (`low_dim_mixture`, `ring_2d`,
  `digits_benchmark`) and a denoiser with a known, tunable error (`ImperfectDenoiser`);
* `reference`: converged reference solutions of the probability-flow ODE (`solve_pf_ode`,
  `reference_samples`, `rk45_sampler`, `local_truncation_error`);
* `convergence`: error against NFE and convergence orders (`nfe_sweep`,
  `converged_references`, `per_sample_error`, …);
* `sweeps`: sweeps of sampler settings and their measures, with seeded noise
  (`metric_vs_nfe`, `setting_sweep`, `seeded_randn_like`, …);
* `metrics`: metrics against a known distribution (`frechet_distance`,
  `sliced_wasserstein`, `fidelity_report`, …);
* `evaluation`: a trained denoiser against the exact one, per σ (`denoising_errors`: the
  loss, its irreducible floor and the network's error; `gaussian_floor`);
* `trained`: the data and configurations of the trained denoisers that Chapters 4–6 share
  (`ring_training_data`, `digits_split`, `RING_NET`, `DIGITS_NET`, `target_run`, `family_run`);
* `published`: the paper's published numbers;
* `table1`: Table 1 as data (`TABLE1`, `table1_markdown`);
* `plotting`: matplotlib and offline interactive plotly figures (`explorable`,
  `in_book_build`, …);
* `claims`: the ledger of the paper's claims: `record_claim` in the chapter that measures
  one, read back and rendered as the conclusion's table by `_ext/ledger.py`;
* `glue`: the chapters' `glue`, which stores a value for the prose's {glue} roles as
  myst-nb's does, without myst-nb's 2-second import.

These modules import from the top level, never the other way round.  `plotting` is imported
on first use (it loads matplotlib and plotly), as before the move, and so is `glue`
(it loads IPython).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import (
    benchmarks,
    claims,
    convergence,
    evaluation,
    metrics,
    published,
    reference,
    sweeps,
    table1,
    trained,
)

__all__ = [
    "benchmarks",
    "claims",
    "convergence",
    "evaluation",
    "glue",
    "metrics",
    "plotting",
    "published",
    "reference",
    "sweeps",
    "table1",
    "trained",
]


def __getattr__(name: str) -> ModuleType:
    """`edm_src.instruments.plotting` and `.glue`, imported on first access (PEP 562)."""
    if name in ("plotting", "glue"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
