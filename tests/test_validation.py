"""Bad input, for every public function of edm_src: a `ValueError` naming the argument, before any work.

The table `SPECS` lists every public function and method with the kind of each
of its arguments; each kind has its bad values (wrong types, NaN and ±inf,
negative numbers, zero where it is not allowed, non-integral integers,
tensors that are empty, of the wrong shape or dtype, unknown names, bad
callables).  `test_bad_argument` calls the function with one argument replaced
by one bad value, the others valid, and expects a `ValueError` whose message
*starts with* the argument's name (`helpers.naming`: no regex that a message
about another argument could satisfy).  Nets, raw models and metrics that are
passed are `NeverCalled`, so an error raised after the first network
evaluation fails the test.  `test_every_public_function_is_covered` checks that
the table leaves no public function or method out.  Cases that involve two
arguments at once (a range, a mismatch of shapes) are in `RELATIONS`.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import CLAIM, raises_naming, randn  # noqa: E402

import edm_src  # noqa: E402
from edm_src import (  # noqa: E402
    _net,  # noqa: E402
    augment,
    data,
    denoisers,
    losses,
    networks,
    preconditioning,
    samplers,
    schedules,
    sde,
    training,
)
from edm_src.instruments import (  # noqa: E402
    benchmarks,
    claims,
    convergence,
    evaluation,
    glue,
    metrics,
    plotting,
    published,
    reference,
    sweeps,
    table1,
    trained,
)

nan, inf = math.nan, math.inf


class NeverCalled:
    """A net, model, metric or sampler that fails the test when called: the checks come first.

    It declares 2 values per sample (`dim`), like the 2-D ring below.
    """

    dim = 2

    def __call__(self, *args, **kwargs):
        raise AssertionError("called before every argument was checked")


NEVER = NeverCalled()
RING = data.toy_mixture("ring")  # K = 8 components in 2-D
LEVELS = torch.tensor([0.01, 0.1, 1.0, 10.0], dtype=torch.float64)  # noise levels u_j
POINTS = randn(3, 2)  # [B, D] = [3, 2]
IMAGES = randn(3, 1, 2, 2)  # [B, C, H, W]
DATA = randn(5, 2, seed=1)  # a finite training set
EMPIRICAL = denoisers.EmpiricalDenoiser(DATA)


@dataclass
class Named:
    """A bad value whose error names another argument than the one it is passed as."""

    value: object
    name: str


def net_with(**attributes) -> NeverCalled:
    """A never-called net with the given protocol attributes (sigma_min, round_sigma, …)."""
    net = NeverCalled()
    net.__dict__.update(attributes)
    return net


def model(x, noise_labels, class_labels=None):
    """A raw network F that returns zeros shaped like its input."""
    return torch.zeros_like(x)


# ------------------------------------------------------------ bad values per kind
NOT_NUMBERS = ["1.0", None, True, [1.0], object(), torch.ones(2)]
BAD = {
    # finite numbers > 0
    "positive": NOT_NUMBERS + [nan, inf, -inf, -1.0, 0.0],
    # finite numbers >= 0
    "nonneg": NOT_NUMBERS + [nan, inf, -inf, -1.0],
    # numbers >= 0, ∞ allowed
    "nonneg_or_inf": NOT_NUMBERS + [nan, -inf, -1.0],
    # any finite real number
    "real": NOT_NUMBERS + [nan, inf, -inf],
    # numbers in [0, 1]
    "unit_closed": NOT_NUMBERS + [nan, inf, -0.5, 1.5],
    # numbers in (0, 1)
    "unit": NOT_NUMBERS + [nan, inf, -1.0, 0.0, 1.0, 1.5],
    # α of Algorithm 1: (0, 1]
    "alpha": NOT_NUMBERS + [nan, inf, 0.0, -0.5, 1.5],
    # integers >= 2 (numbers of steps), at most 100,000
    "steps": ["18", None, True, 2.5, nan, inf, 1, 0, -3, 10**6],
    # integers >= 1
    "count": ["3", None, True, 2.5, nan, inf, 0, -1],
    # integers >= 0
    "count0": ["3", None, True, 2.5, nan, inf, -1],
    # generator seeds
    "seed": ["0", None, True, 2.7, nan, -1, 2**70],
    # booleans
    "bool": [1, 0, "yes", None],
    # callables
    "callable": [None, 3, "f"],
    "callable_or_none": [3, "f"],
    "generator": [3, "g", torch.zeros(1)],
    "dtype": [torch.int64, torch.bool, "float32", None, float],
    "device": [3, "nowhere", object()],
    # a batch of 2-D points or latents [B, 2]
    "points": [
        None,
        "x",
        object(),
        torch.tensor(1.0),
        torch.zeros(3, 5),
        torch.zeros(3, 2, dtype=torch.complex64),
        torch.zeros(3, 2, dtype=torch.bool),
        torch.tensor([[nan, 0.0]]),
        torch.tensor([[inf, 0.0]]),
    ],
    # samples for a statistic: at least one, finite
    "samples": [
        None,
        "x",
        object(),
        torch.zeros(0, 2),
        torch.tensor(1.0),
        torch.tensor([[nan, 0.0]]),
        torch.tensor([[0.0, -inf]]),
    ],
    # a tensor of any shape, finite
    "tensor": [
        None,
        "x",
        object(),
        torch.tensor([nan]),
        torch.tensor([inf]),
        torch.zeros(2, dtype=torch.complex64),
    ],
    # images [B, C, H, W]
    "images": [
        None,
        "x",
        torch.zeros(3),
        torch.tensor([[[[nan]]]]),
        torch.zeros(1, 1, 2, 2, dtype=torch.complex64),
    ],
    # noise levels σ of any shape: finite and >= 0 (a list of numbers is a tensor too)
    "sigma_any": [
        "1.0",
        None,
        True,
        object(),
        nan,
        inf,
        -1.0,
        torch.tensor([0.5, -0.1]),
        [0.5, nan],
    ],
    # noise levels σ > 0 of any shape
    "sigma_any_positive": [
        "1.0",
        None,
        True,
        object(),
        nan,
        inf,
        -1.0,
        0.0,
        torch.tensor([0.5, 0.0]),
    ],
    # finite numbers > 0, or None for "the default"
    "positive_or_default": [v for v in NOT_NUMBERS if v is not None] + [nan, inf, -inf, -1.0, 0.0],
    # numbers > 0, ∞ allowed
    "positive_or_inf": NOT_NUMBERS + [nan, -inf, -1.0, 0.0],
    # an adaptive solver's tolerance: (0, 1]
    "tolerance": NOT_NUMBERS + [nan, inf, -1.0, 0.0, 1.5],
    # integers >= 1, or None for "the default"
    "count_or_default": ["3", True, 2.5, nan, inf, 0, -1],
    # True, False or None ("choose for me")
    "bool_or_none": [1, 0, "yes"],
    # noise levels σ: finite, >= 0, a scalar or one per sample
    "sigma": ["1.0", None, True, object()]
    + [torch.ones(2), nan, inf, -1.0, torch.tensor([0.5, -0.1, 0.2]), torch.ones(2, 3)],
    # noise levels σ > 0
    "sigma_positive": ["1.0", None, True, object()]
    + [torch.ones(2), nan, inf, -1.0, 0.0, torch.tensor([0.5, 0.0, 0.2])],
    # times t >= 0 (or σ-like arguments of one value per entry, any shape)
    "time": [
        "1",
        None,
        object(),
        nan,
        inf,
        -0.5,
        torch.tensor([0.5, nan]),
        torch.tensor([-1.0, 0.5]),
    ],
    # a (schedule, scaling, …) name
    "name": ["unknown", None, 3, ["vp"]],
    # sequences of at least one item
    "sequence": [None, 3, "abc", []],
}


@dataclass
class Spec:
    """A public function or method: how to call it with valid arguments, and the kinds of its arguments.

    `call(**overrides)` calls it with valid arguments, replaced by `overrides`.
    `extra` adds bad values for one argument beyond its kind's.
    """

    target: str
    call: Callable[..., object]
    kinds: dict[str, str] = field(default_factory=dict)
    extra: dict[str, list] = field(default_factory=dict)


def spec(target, call, kinds=None, **extra):
    return Spec(target, call, kinds or {}, extra)


def vp():
    return preconditioning.VPPrecond(model)


def _edm_sampler(**kw):
    return samplers.edm_sampler(**({"net": NEVER, "latents": POINTS} | kw))


def _ablation_sampler(**kw):
    return samplers.ablation_sampler(**({"net": NEVER, "latents": POINTS} | kw))


SAMPLER_KINDS = {
    "net": "callable",
    "latents": "points",
    "randn_like": "callable",
    "num_steps": "steps",
    "sigma_min": "positive",
    "sigma_max": "positive",
    "rho": "positive",
    "S_churn": "nonneg",
    "S_min": "nonneg",
    "S_max": "nonneg_or_inf",
    "S_noise": "nonneg",
    "callback": "callable_or_none",
}

FIGURE = go.Figure()
TRAINED = training.train(POINTS, steps=2, batch_size=2, cache=False, progress=False)
AX = plt.subplots()[1]


SPECS: list[Spec] = [
    # ---------------------------------------------------------------- samplers
    spec("samplers.edm_sampler", _edm_sampler, SAMPLER_KINDS, rho=[1e-3, 1e30]),
    spec(
        "samplers.ablation_sampler",
        _ablation_sampler,
        SAMPLER_KINDS
        | {
            "sigma_min": "positive_or_default",
            "sigma_max": "positive_or_default",
            "solver": "name",
            "discretization": "name",
            "schedule": "name",
            "scaling": "name",
            "epsilon_s": "unit",
            "C_1": "positive",
            "C_2": "positive",
            "M": "count",
            "alpha": "alpha",
        },
        M=[10**7],
    ),
    spec(
        "samplers.CountingNet",
        lambda **kw: samplers.CountingNet(**({"net": NEVER} | kw)),
        {"net": "callable"},
    ),
    spec(
        "samplers.run_counted",
        lambda **kw: samplers.run_counted(
            **({"sampler": samplers.edm_sampler, "net": NEVER, "latents": POINTS} | kw)
        ),
        {
            "sampler": "callable",
            "net": "callable",
            "latents": "points",
            "num_steps": "steps",
            "rho": "positive",
        },
        foo=[1],
    ),
    spec(
        "samplers.record_trajectory",
        lambda **kw: samplers.record_trajectory(
            **({"sampler": samplers.edm_sampler, "net": NEVER, "latents": POINTS} | kw)
        ),
        {
            "sampler": "callable",
            "net": "callable",
            "latents": "points",
            "num_steps": "steps",
            "callback": "callable_or_none",
        },
        foo=[1],
    ),
    spec(
        "samplers.check_sampler_call",
        lambda **kw: samplers.check_sampler_call(
            **({"sampler": samplers.edm_sampler, "net": NEVER, "latents": POINTS} | kw)
        ),
        {
            "sampler": "callable",
            "net": "callable",
            "latents": "points",
            "num_steps": "steps",
            "rho": "positive",
        },
        foo=[1],
    ),
    spec(
        "sde.sde_sampler",
        lambda **kw: sde.sde_sampler(**({"net": NEVER, "latents": POINTS} | kw)),
        {k: v for k, v in SAMPLER_KINDS.items() if not k.startswith("S_")} | {"beta": "nonneg"},
    ),
    # ---------------------------------------------------------------- net protocol
    spec(
        "_net.check_net", lambda **kw: _net.check_net(**({"net": NEVER} | kw)), {"net": "callable"}
    ),
    spec(
        "_net.check_latents",
        lambda **kw: _net.check_latents(**({"net": NEVER, "latents": POINTS} | kw)),
        {"latents": "points"},
    ),
    spec(
        "_net.net_sigma_range",
        lambda **kw: _net.net_sigma_range(**({"net": NEVER} | kw)),
        net=[
            Named(net_with(sigma_min=nan), "net.sigma_min"),
            Named(net_with(sigma_min=-1.0), "net.sigma_min"),
            Named(net_with(sigma_min=None), "net.sigma_min"),
            Named(net_with(sigma_max="x"), "net.sigma_max"),
            Named(net_with(sigma_max=-inf), "net.sigma_max"),
        ],
    ),
    spec(
        "_net.net_round_sigma",
        lambda **kw: _net.net_round_sigma(
            **({"net": NEVER, "sigma": torch.tensor([1.0, 2.0])} | kw)
        ),
        net=[
            Named(net_with(round_sigma=lambda s: s * nan), "net.round_sigma(sigma)"),
            Named(net_with(round_sigma=lambda s: s[:1]), "net.round_sigma(sigma)"),
            Named(net_with(round_sigma=lambda s: "x"), "net.round_sigma(sigma)"),
            Named(net_with(round_sigma=lambda s: -s), "net.round_sigma(sigma)"),
        ],
    ),
    spec(
        "_net.net_clamp_range",
        lambda **kw: _net.net_clamp_range(
            **({"net": NEVER, "sigma_min": 0.1, "sigma_max": 1.0} | kw)
        ),
        net=[
            Named(net_with(sigma_min=2.0), "sigma_min"),
            Named(net_with(sigma_max=0.05), "sigma_min"),
            Named(net_with(sigma_min=nan), "net.sigma_min"),
        ],
    ),
    spec(
        "_net.sampling_range",
        lambda **kw: _net.sampling_range(
            **({"net": NEVER, "sigma_min": 0.1, "sigma_max": 1.0} | kw)
        ),
        {"sigma_min": "positive", "sigma_max": "positive"},
    ),
    spec(
        "_net.net_output",
        lambda **kw: _net.net_output(**({"denoised": POINTS, "x": POINTS} | kw)),
        denoised=[
            Named(None, "net"),
            Named("x", "net"),
            Named(torch.zeros(2, 2), "net"),
            Named(torch.zeros(3, 2, 1), "net"),
        ],
    ),
    spec(
        "_net.check_returned",
        lambda **kw: _net.check_returned(
            **({"name": "randn_like", "value": POINTS, "x": POINTS, "finite": True} | kw)
        ),
        value=[
            Named(None, "randn_like"),
            Named(torch.zeros(2, 2), "randn_like"),
            Named(POINTS.to(torch.int64), "randn_like"),
            Named(POINTS * math.nan, "randn_like output"),
        ],
    ),
    # ---------------------------------------------------------------- schedules
    *[
        spec(
            f"schedules.{name}",
            (lambda f: lambda **kw: f(**({"t": 0.5} | kw)))(getattr(schedules, name)),
            {"t": "time"}
            | ({"beta_d": "real", "beta_min": "real"} if name.startswith("vp") else {}),
        )
        for name in [
            "vp_sigma",
            "vp_sigma_deriv",
            "vp_scaling",
            "vp_scaling_deriv",
            "ve_sigma",
            "ve_sigma_deriv",
            "linear_sigma",
            "linear_sigma_deriv",
            "no_scaling",
            "no_scaling_deriv",
        ]
    ],
    *[
        spec(
            f"schedules.{name}",
            (lambda f: lambda **kw: f(**({"sigma": 0.5} | kw)))(getattr(schedules, name)),
            {"sigma": "time"}
            | ({"beta_d": "real", "beta_min": "real"} if name.startswith("vp") else {}),
        )
        for name in ["vp_sigma_inv", "ve_sigma_inv", "linear_sigma_inv"]
    ],
    spec(
        "schedules.vp_beta_from_sigma_range",
        lambda **kw: schedules.vp_beta_from_sigma_range(
            **({"sigma_min": 0.002, "sigma_max": 80} | kw)
        ),
        {"sigma_min": "nonneg", "sigma_max": "positive", "epsilon_s": "unit"},
    ),
    spec(
        "schedules.check_vp_betas",
        lambda **kw: schedules.check_vp_betas(**({"beta_d": 19.9, "beta_min": 0.1} | kw)),
        {"beta_d": "positive", "beta_min": "nonneg"},
        beta_d=[1e-9, 200.0],
        beta_min=[Named(100.0, "beta_d")],  # ½β_d + β_min beyond float32's exp: names both
    ),
    spec(
        "schedules.schedule_betas",
        lambda **kw: schedules.schedule_betas(
            **({"schedule": "ve", "sigma_min": 0.002, "sigma_max": 80} | kw)
        ),
        {"schedule": "name", "sigma_min": "nonneg", "sigma_max": "positive", "epsilon_s": "unit"},
    ),
    spec(
        "schedules.get_schedule",
        lambda **kw: schedules.get_schedule(**({"name": "vp"} | kw)),
        {"name": "name", "beta_d": "real", "beta_min": "real"},
    ),
    spec(
        "schedules.get_scaling",
        lambda **kw: schedules.get_scaling(
            **(
                {"name": "vp", "sigma": schedules.vp_sigma, "sigma_deriv": schedules.vp_sigma_deriv}
                | kw
            )
        ),
        {"name": "name", "sigma": "callable", "sigma_deriv": "callable"},
    ),
    spec(
        "schedules.vp_sigma_steps",
        lambda **kw: schedules.vp_sigma_steps(
            **({"num_steps": 5, "sigma_min": 0.002, "sigma_max": 80} | kw)
        ),
        {"num_steps": "steps", "sigma_min": "nonneg", "sigma_max": "positive", "epsilon_s": "unit"},
    ),
    spec(
        "schedules.ve_sigma_steps",
        lambda **kw: schedules.ve_sigma_steps(
            **({"num_steps": 5, "sigma_min": 0.02, "sigma_max": 100} | kw)
        ),
        {"num_steps": "steps", "sigma_min": "positive", "sigma_max": "positive"},
    ),
    spec(
        "schedules.iddpm_alpha_bar",
        lambda **kw: schedules.iddpm_alpha_bar(**({"j": 3} | kw)),
        {"j": "time", "M": "count", "C_2": "positive", "dtype": "dtype"},
        j=[2000],
    ),
    spec(
        "schedules.iddpm_u",
        lambda **kw: schedules.iddpm_u(**kw),
        {"M": "count", "C_1": "positive", "C_2": "positive", "dtype": "dtype"},
        M=[10**7],
    ),
    spec(
        "schedules.iddpm_sigma_steps",
        lambda **kw: schedules.iddpm_sigma_steps(
            **({"num_steps": 5, "sigma_min": 0.002, "sigma_max": 81} | kw)
        ),
        {
            "num_steps": "steps",
            "sigma_min": "nonneg",
            "sigma_max": "positive",
            "C_1": "positive",
            "C_2": "positive",
            "M": "count",
        },
    ),
    spec(
        "schedules.edm_sigma_steps",
        lambda **kw: schedules.edm_sigma_steps(**({"num_steps": 5} | kw)),
        {"num_steps": "steps", "sigma_min": "nonneg", "sigma_max": "positive", "rho": "positive"},
        rho=[1e-3, 1e300],
    ),
    spec(
        "schedules.get_sigma_steps",
        lambda **kw: schedules.get_sigma_steps(
            **({"discretization": "edm", "num_steps": 5, "sigma_min": 0.002, "sigma_max": 80} | kw)
        ),
        {
            "discretization": "name",
            "num_steps": "steps",
            "sigma_max": "positive",
            "rho": "positive",
            "epsilon_s": "unit",
            "C_1": "positive",
            "C_2": "positive",
            "M": "count",
        },
    ),
    spec(
        "schedules.check_discretization_knobs",
        lambda **kw: schedules.check_discretization_knobs(
            **({"rho": 7, "epsilon_s": 1e-3, "C_1": 0.001, "C_2": 0.008, "M": 1000} | kw)
        ),
        {
            "rho": "positive",
            "epsilon_s": "unit",
            "C_1": "positive",
            "C_2": "positive",
            "M": "count",
        },
    ),
    spec(
        "schedules.default_sigma_range",
        lambda **kw: schedules.default_sigma_range(**({"discretization": "vp"} | kw)),
        {"discretization": "name", "epsilon_s": "unit"},
    ),
    # ---------------------------------------------------------------- exact denoisers
    spec(
        "denoisers.GaussianMixture",
        lambda **kw: denoisers.GaussianMixture(
            **({"means": torch.zeros(2, 3), "stds": torch.ones(2), "weights": torch.ones(2)} | kw)
        ),
        {"means": "tensor", "stds": "tensor", "weights": "tensor"},
        means=[torch.zeros(3), torch.zeros(0, 2)],
        stds=[torch.ones(3), -torch.ones(2)],
        weights=[torch.ones(3), -torch.ones(2), torch.zeros(2)],
    ),
    spec(
        "denoisers.GaussianMixture.__call__",
        lambda **kw: RING(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma"},
    ),
    spec(
        "denoisers.GaussianMixture.score",
        lambda **kw: RING.score(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma"},
    ),
    spec(
        "denoisers.GaussianMixture.log_prob",
        lambda **kw: RING.log_prob(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma"},
    ),
    spec(
        "denoisers.GaussianMixture.sample",
        lambda **kw: RING.sample(**({"n": 3} | kw)),
        {"n": "count0", "generator": "generator", "sigma": "nonneg"},
    ),
    spec(
        "denoisers.GaussianMixture.to",
        lambda **kw: RING.to(**({"device": "cpu"} | kw)),
        {"device": "device"},
    ),
    spec(
        "denoisers.EmpiricalDenoiser",
        lambda **kw: denoisers.EmpiricalDenoiser(**({"data": DATA} | kw)),
        {"data": "tensor", "batch_size": "count"},
        data=[torch.zeros(4), torch.zeros(0, 2)],
    ),
    spec(
        "denoisers.EmpiricalDenoiser.__call__",
        lambda **kw: EMPIRICAL(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma"},
    ),
    spec(
        "denoisers.EmpiricalDenoiser.sample",
        lambda **kw: EMPIRICAL.sample(**({"n": 3} | kw)),
        {"n": "count0", "generator": "generator", "sigma": "nonneg"},
    ),
    spec(
        "denoisers.EmpiricalDenoiser.to",
        lambda **kw: EMPIRICAL.to(**({"device": "cpu"} | kw)),
        {"device": "device"},
    ),
    spec(
        "denoisers.EmpiricalDenoiser.score",
        lambda **kw: EMPIRICAL.score(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma_positive"},
    ),
    spec(
        "denoisers.EmpiricalDenoiser.log_prob",
        lambda **kw: EMPIRICAL.log_prob(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "points", "sigma": "sigma_positive"},
    ),
    # ---------------------------------------------------------------- preconditioning
    spec(
        "preconditioning.VPPrecond",
        lambda **kw: preconditioning.VPPrecond(**({"model": model} | kw)),
        {
            "model": "callable_or_none",
            "beta_d": "positive",
            "beta_min": "nonneg",
            "M": "count",
            "epsilon_t": "unit",
        },
    ),
    spec(
        "preconditioning.VEPrecond",
        lambda **kw: preconditioning.VEPrecond(**({"model": model} | kw)),
        {"model": "callable_or_none", "sigma_min": "positive", "sigma_max": "positive"},
    ),
    spec(
        "preconditioning.iDDPMPrecond",
        lambda **kw: preconditioning.iDDPMPrecond(**({"model": model} | kw)),
        {"model": "callable_or_none", "C_1": "positive", "C_2": "positive", "M": "count"},
    ),
    spec(
        "preconditioning.EDMPrecond",
        lambda **kw: preconditioning.EDMPrecond(**({"model": model} | kw)),
        {
            "model": "callable_or_none",
            "sigma_min": "nonneg",
            "sigma_max": "nonneg_or_inf",
            "sigma_data": "positive",
        },
    ),
    *[
        spec(
            f"preconditioning.{cls.__name__}.forward",
            (lambda c, k: lambda **kw: c(NEVER)(**({"x": IMAGES, "sigma": 0.5} | kw)))(cls, kind),
            {"x": "images", "sigma": kind, "force_fp32": "bool"},
            sigma=[torch.ones(3, 2), torch.ones(3, 1, 1, 1, 1), torch.ones(2)],
        )
        for cls, kind in [
            (preconditioning.VPPrecond, "sigma"),
            (preconditioning.VEPrecond, "sigma_positive"),
            (preconditioning.iDDPMPrecond, "sigma"),
            (preconditioning.EDMPrecond, "sigma_positive"),
            (preconditioning.TargetPrecond, "sigma_positive"),
        ]
    ],
    *[
        spec(
            f"preconditioning.{cls.__name__}.coefficients",
            (lambda c: lambda **kw: c(None).coefficients(**({"sigma": 0.5} | kw)))(cls),
            {"sigma": kind.replace("sigma", "sigma_any")},
        )
        for cls, kind in [
            (preconditioning.VPPrecond, "sigma"),
            (preconditioning.VEPrecond, "sigma_positive"),
            (preconditioning.iDDPMPrecond, "sigma"),
            (preconditioning.EDMPrecond, "sigma_positive"),
            (preconditioning.TargetPrecond, "sigma_positive"),
        ]
    ],
    *[
        spec(
            f"preconditioning.{cls.__name__}.round_sigma",
            (lambda c: lambda **kw: c(None).round_sigma(**({"sigma": 0.5} | kw)))(cls),
            {"sigma": kind.replace("sigma", "sigma_any")}
            | ({"return_index": "bool"} if cls is preconditioning.iDDPMPrecond else {}),
        )
        for cls, kind in [
            (preconditioning.VPPrecond, "sigma"),
            (preconditioning.VEPrecond, "sigma_positive"),
            (preconditioning.iDDPMPrecond, "sigma"),
            (preconditioning.EDMPrecond, "sigma_positive"),
            (preconditioning.TargetPrecond, "sigma_positive"),
        ]
    ],
    spec(
        "preconditioning.VPPrecond.sigma",
        lambda **kw: vp().sigma(**({"t": 0.5} | kw)),
        {"t": "time"},
    ),
    spec(
        "preconditioning.VPPrecond.sigma_inv",
        lambda **kw: vp().sigma_inv(**({"sigma": 0.5} | kw)),
        {"sigma": "time"},
    ),
    spec(
        "preconditioning.iDDPMPrecond.alpha_bar",
        lambda **kw: preconditioning.iDDPMPrecond(None).alpha_bar(**({"j": 3} | kw)),
        {"j": "time"},
        j=[1001],
    ),
    # ---------------------------------------------------------------- losses
    spec(
        "losses.VPLoss",
        lambda **kw: losses.VPLoss(**kw),
        {"beta_d": "positive", "beta_min": "nonneg", "epsilon_t": "unit"},
    ),
    spec(
        "losses.VELoss",
        lambda **kw: losses.VELoss(**kw),
        {"sigma_min": "positive", "sigma_max": "positive"},
    ),
    spec(
        "losses.EDMLoss",
        lambda **kw: losses.EDMLoss(**kw),
        {"P_mean": "real", "P_std": "positive", "sigma_data": "positive"},
    ),
    *[
        spec(
            f"losses.{cls.__name__}.__call__",
            (lambda c: lambda **kw: c()(**({"net": NEVER, "images": POINTS} | kw)))(cls),
            {
                "net": "callable",
                "images": "tensor",
                "augment_pipe": "callable_or_none",
                "generator": "generator",
            },
        )
        for cls in (losses.VPLoss, losses.VELoss, losses.EDMLoss, losses.TargetLoss)
    ],
    *[
        spec(
            f"losses.{cls.__name__}.sample_sigma",
            (lambda c: lambda **kw: c().sample_sigma(**({"shape": (3, 1)} | kw)))(cls),
            {"generator": "generator", "device": "device"},
            shape=["3", None, (2.5,), (-1,), ("a",)],
        )
        for cls in (losses.VPLoss, losses.VELoss, losses.EDMLoss, losses.TargetLoss)
    ],
    *[
        spec(
            f"losses.{cls.__name__}.weight",
            (lambda c: lambda **kw: c().weight(**({"sigma": 0.5} | kw)))(cls),
            {"sigma": "sigma_any_positive"},
        )
        for cls in (losses.VPLoss, losses.VELoss, losses.EDMLoss, losses.TargetLoss)
    ],
    *[
        spec(
            f"losses.{cls.__name__}.p_train_density",
            (lambda c: lambda **kw: c().p_train_density(**({"sigma": 0.5} | kw)))(cls),
            {"sigma": kind.replace("sigma", "sigma_any")},
        )
        for cls, kind in [
            (losses.VPLoss, "sigma"),
            (losses.VELoss, "sigma"),
            (losses.EDMLoss, "sigma_positive"),
            (losses.TargetLoss, "sigma_positive"),
        ]
    ],
    spec(
        "preconditioning.TargetPrecond",
        lambda **kw: preconditioning.TargetPrecond(**({"model": model} | kw)),
        {
            "model": "callable_or_none",
            "target": "name",
            "sigma_min": "nonneg",
            "sigma_max": "nonneg_or_inf",
            "sigma_data": "positive",
        },
    ),
    spec(
        "preconditioning.target_coefficients",
        lambda **kw: preconditioning.target_coefficients(
            **({"target": "edm", "sigma": torch.ones(3), "sigma_data": 0.5} | kw)
        ),
        {"target": "name", "sigma": "sigma_any", "sigma_data": "positive"},
    ),
    spec(
        "losses.TargetLoss",
        lambda **kw: losses.TargetLoss(**kw),
        {"target": "name", "P_mean": "real", "P_std": "positive", "sigma_data": "positive"},
    ),
    spec(
        "losses.effective_weight",
        lambda **kw: losses.effective_weight(
            **(
                {
                    "loss": losses.EDMLoss(),
                    "precond": preconditioning.EDMPrecond(None),
                    "sigma": 0.5,
                }
                | kw
            )
        ),
        {"sigma": "sigma_any_positive"},
        loss=[None, "edm", 3],
        precond=[None, "edm", 3],
    ),
    spec(
        "preconditioning.unit_variance_c_out",
        lambda **kw: preconditioning.unit_variance_c_out(
            **({"c_skip": 0.5, "sigma": 1.0, "sigma_data": 0.5} | kw)
        ),
        {"c_skip": "tensor", "sigma": "sigma_any", "sigma_data": "positive"},
    ),
    spec(
        "plotting.plot_with_band",
        lambda **kw: plotting.plot_with_band(
            **({"ax": AX, "x": [1.0, 2.0], "y": [1.0, 2.0], "se": [0.1, 0.1]} | kw)
        ),
        {"x": "tensor", "y": "tensor", "se": "tensor", "floor": "positive"},
        ax=[None, 3],
        y=[[1.0]],
    ),
    # ---------------------------------------------------------------- networks
    spec(
        "networks.positional_embedding",
        lambda **kw: networks.positional_embedding(
            **({"noise_labels": torch.ones(3), "num_channels": 8} | kw)
        ),
        {"noise_labels": "tensor", "num_channels": "count", "max_positions": "positive"},
        num_channels=[3, 1],
        noise_labels=[torch.ones(2, 2)],
    ),
    spec(
        "networks.fourier_embedding",
        lambda **kw: networks.fourier_embedding(
            **({"noise_labels": torch.ones(3), "freqs": torch.ones(4)} | kw)
        ),
        {"noise_labels": "tensor", "freqs": "tensor"},
        freqs=[torch.ones(2, 2)],
    ),
    spec(
        "networks.NoiseEmbedding",
        lambda **kw: networks.NoiseEmbedding(**({"channels": 8, "out_channels": 4} | kw)),
        {"channels": "count", "out_channels": "count", "kind": "name", "generator": "generator"},
        channels=[3],
    ),
    spec(
        "networks.NoiseEmbedding.forward",
        lambda **kw: networks.NoiseEmbedding(8, 4)(**({"noise_labels": torch.ones(3)} | kw)),
        {"noise_labels": "tensor"},
    ),
    spec(
        "networks.MLP",
        lambda **kw: networks.MLP(**({"dim": 2, "width": 4, "depth": 1} | kw)),
        {
            "dim": "count",
            "width": "count",
            "depth": "count0",
            "emb_channels": "count",
            "embedding": "name",
            "generator": "generator",
            "logvar_channels": "count0",
        },
        emb_channels=[3],
    ),
    spec(
        "networks.MLP.logvar",
        lambda **kw: networks.MLP(2, width=4, depth=1, logvar_channels=4).logvar(
            **({"noise_labels": torch.ones(3)} | kw)
        ),
        {"noise_labels": "tensor"},
    ),
    spec(
        "networks.MLP.forward",
        lambda **kw: networks.MLP(2, width=4, depth=1)(
            **({"x": POINTS, "noise_labels": torch.ones(3)} | kw)
        ),
        {"x": "points", "noise_labels": "tensor"},
        noise_labels=[torch.ones(2)],
        class_labels=[torch.ones(3)],
    ),
    spec(
        "networks.UNet",
        lambda **kw: networks.UNet(**({"channels": 4, "groups": 2} | kw)),
        {
            "in_channels": "count",
            "channels": "count",
            "emb_channels": "count",
            "embedding": "name",
            "groups": "count",
            "generator": "generator",
        },
        image_size=[7, (8,), (8, 8, 8), "8", (0, 8)],
    ),
    spec(
        "networks.UNet.forward",
        lambda **kw: networks.UNet(channels=4, groups=2, image_size=2)(
            **({"x": IMAGES, "noise_labels": torch.ones(3)} | kw)
        ),
        {"x": "images", "noise_labels": "tensor"},
        x=[POINTS, torch.ones(3, 1, 4, 4)],
        class_labels=[torch.ones(3)],
    ),
    spec(
        "networks.make_network",
        lambda **kw: networks.make_network(**({"network": "mlp", "shape": (2,)} | kw)),
        {"network": "name", "shape": "sequence", "generator": "generator"},
        shape=[(0,), (2.5,)],
    ),
    spec(
        "networks.network_parameter_count",
        lambda **kw: networks.network_parameter_count(**({"model": networks.MLP(2, 4, 1)} | kw)),
        {"model": "callable"},
    ),
    # ---------------------------------------------------------------- training
    spec(
        "training.learning_rate",
        lambda **kw: training.learning_rate(**({"step": 3, "lr": 1e-3, "rampup_steps": 10} | kw)),
        {"step": "count0", "lr": "positive", "rampup_steps": "count0"},
    ),
    spec(
        "training.ema_beta",
        lambda **kw: training.ema_beta(
            **({"num_samples": 100, "batch_size": 10, "halflife": 50.0} | kw)
        ),
        {
            "num_samples": "count0",
            "batch_size": "count",
            "halflife": "nonneg",
            "rampup_ratio": "positive_or_default",
        },
    ),
    spec(
        "training.make_config",
        lambda **kw: training.make_config(**kw),
        {
            "network": "name",
            "precond": "name",
            "loss": "name",
            "steps": "count",
            "batch_size": "count",
            "lr": "positive",
            "ema_rampup_ratio": "positive_or_default",
            "augment_p": "unit_closed",
            "seed": "seed",
        },
        network_kwargs=[3, {"width": object()}],
        lr_rampup=["3", True, 2.5, nan, -1],
        ema_halflife=["1", True, nan, inf, -1.0],
    ),
    spec(
        "training.denoiser",
        lambda **kw: training.denoiser(
            **({"config": training.make_config(), "model": networks.MLP(2, 4, 1)} | kw)
        ),
        {"model": "callable"},
        config=[None, Named({"steps": 0}, "steps")],
    ),
    spec(
        "training.cache_key",
        lambda **kw: training.cache_key(
            **({"config": training.make_config(), "data": POINTS} | kw)
        ),
        {"data": "tensor"},
        config=[None, Named({"steps": -1}, "steps")],
    ),
    spec(
        "training.Trained.bin_mean_loss",
        lambda **kw: TRAINED.bin_mean_loss(**kw),
        chunk=["1", None, True, 2.5, 5, -3],
    ),
    spec(
        "training.train",
        lambda **kw: training.train(**({"data": POINTS, "steps": 1, "cache": False} | kw)),
        {"data": "samples", "cache": "bool", "progress": "bool_or_none", "steps": "count"},
        network=["transformer", Named("unet", "data")],
    ),
    spec(
        "training.train_many",
        lambda **kw: training.train_many(
            **({"runs": [{"data": POINTS, "steps": 1}], "cache": False} | kw)
        ),
        {"runs": "sequence", "cache": "bool", "progress": "bool_or_none"},
    ),
    # ---------------------------------------------------------------- evaluation
    spec(
        "evaluation.gaussian_floor",
        lambda **kw: evaluation.gaussian_floor(**({"sigma": 0.5, "data_std": 1.0} | kw)),
        {"sigma": "sigma_any", "data_std": "positive"},
    ),
    spec(
        "evaluation.denoising_errors",
        lambda **kw: evaluation.denoising_errors(
            **(
                {
                    "net": NEVER,
                    "exact": NEVER,
                    "data": POINTS,
                    "sigmas": torch.ones(2),
                    "num_samples": 4,
                }
                | kw
            )
        ),
        {
            "net": "callable",
            "exact": "callable",
            "data": "samples",
            "sigmas": "sigma_any_positive",
            "num_samples": "count",
            "generator": "generator",
        },
        num_samples=[1],
    ),
    spec(
        "evaluation.gaussian_weighted_floor",
        lambda **kw: evaluation.gaussian_weighted_floor(
            **({"loss": losses.EDMLoss(), "sigma": 0.5, "data_std": 1.0} | kw)
        ),
        {"loss": "callable", "sigma": "sigma_any_positive", "data_std": "positive"},
    ),
    spec(
        "evaluation.learned_uncertainty",
        lambda **kw: evaluation.learned_uncertainty(
            **(
                {
                    "net": preconditioning.EDMPrecond(
                        networks.MLP(2, width=4, depth=1, logvar_channels=4)
                    ),
                    "sigma": 0.5,
                }
                | kw
            )
        ),
        {"sigma": "sigma_any_positive"},
        net=[None, preconditioning.EDMPrecond(networks.MLP(2, width=4, depth=1)), NEVER],
    ),
    spec(
        "evaluation.weighted_by_loss",
        lambda **kw: evaluation.weighted_by_loss(
            **(
                {
                    "errors": {
                        k: torch.ones(2) for k in ("sigma", "loss", "floor", "network_error")
                    },
                    "loss": losses.EDMLoss(),
                }
                | kw
            )
        ),
        {"errors": "sequence", "loss": "callable"},
    ),
    # ---------------------------------------------------------------- trained
    spec(
        "trained.ring_training_data",
        lambda **kw: trained.ring_training_data(**({"n": 10} | kw)),
        {"n": "count", "seed": "seed"},
    ),
    spec(
        "trained.mixture_training_data",
        lambda **kw: trained.mixture_training_data(**({"dim": 3, "n": 10} | kw)),
        {"dim": "count", "n": "count", "seed": "seed"},
    ),
    spec(
        "trained.table2_run",
        lambda **kw: trained.table2_run(**({"data": POINTS, "column": "vp", "row": "D"} | kw)),
        {"column": "name", "row": "name", "seed": "seed", "sigma_data": "positive"},
    ),
    spec(
        "trained.table2_metrics",
        lambda **kw: trained.table2_metrics(
            **({"mixture": RING, "samples": POINTS, "reference": POINTS} | kw)
        ),
        {"samples": "samples", "reference": "samples"},
        mixture=[None, "ring", POINTS],
    ),
    spec(
        "trained.digits_f_run",
        lambda **kw: trained.digits_f_run(
            **({"train": randn(40, 1, 2, 2), "row": "F", "num_train": 4} | kw)
        ),
        {"train": "samples", "row": "name", "seed": "seed", "num_train": "count"},
        num_train=[1, 41],
    ),
    spec(
        "trained.initial_denoiser",
        lambda **kw: trained.initial_denoiser(
            **({"run": {"data": POINTS, "steps": 1}, "shape": (2,)} | kw)
        ),
        {"run": "callable", "shape": "sequence"},
    ),
    spec(
        "trained.mixture64_training_data",
        lambda **kw: trained.mixture64_training_data(**({"n": 10} | kw)),
        {"n": "count", "seed": "seed"},
    ),
    spec(
        "trained.measured_sigma_data",
        lambda **kw: trained.measured_sigma_data(**({"data": POINTS} | kw)),
        {"data": "samples"},
    ),
    spec(
        "trained.target_run",
        lambda **kw: trained.target_run(
            **({"data": POINTS, "target": "edm", "sigma_data": 0.5} | kw)
        ),
        {"target": "name", "sigma_data": "positive"},
    ),
    spec(
        "trained.family_run",
        lambda **kw: trained.family_run(
            **({"data": POINTS, "family": "edm", "sigma_data": 0.5} | kw)
        ),
        {"family": "name", "sigma_data": "positive"},
    ),
    spec(
        "trained.digits_report",
        lambda **kw: trained.digits_report(
            **(
                {
                    "samples": randn(6, 4),
                    "train": randn(8, 4, seed=2),
                    "held_out": randn(5, 4, seed=3),
                    "k": 2,
                }
                | kw
            )
        ),
        {"samples": "samples", "train": "samples", "held_out": "samples", "k": "count"},
        k=[5],
    ),
    # ---------------------------------------------------------------- augmentation
    spec(
        "augment.AugmentPipe",
        lambda **kw: augment.AugmentPipe(**kw),
        {"p": "unit_closed", "generator": "generator"},
    ),
    spec(
        "augment.AugmentPipe.__call__",
        lambda **kw: augment.AugmentPipe(0.5)(**({"images": randn(2, 1, 4, 4)} | kw)),
        {"images": "images", "generator": "generator"},
        images=[randn(2, 1, 4, 3)],
    ),
    spec(
        "augment.invert",
        lambda **kw: augment.invert(
            **({"images": randn(2, 1, 4, 4), "augment_labels": torch.zeros(2, 3)} | kw)
        ),
        {"images": "images"},
        augment_labels=[
            None,
            torch.zeros(3, 3),
            torch.zeros(2, 2),
            torch.tensor([[nan, 0, 0]] * 2),
        ],
    ),
    # ---------------------------------------------------------------- data
    spec("data.load_digits", lambda **kw: data.load_digits(**kw), {"dtype": "dtype"}),
    spec(
        "data.toy_mixture",
        lambda **kw: data.toy_mixture(**({"name": "ring"} | kw)),
        {"name": "name", "std": "positive", "K": "count", "radius": "positive"},
    ),
    spec(
        "data.toy_samples",
        lambda **kw: data.toy_samples(**({"name": "moons"} | kw)),
        {"name": "name", "n": "count", "noise": "nonneg", "seed": "seed"},
    ),
    # ---------------------------------------------------------------- benchmarks
    spec(
        "benchmarks.low_dim_mixture",
        lambda **kw: benchmarks.low_dim_mixture(**kw),
        {
            "dim": "count",
            "intrinsic_dim": "count",
            "num_components": "count",
            "std": "positive",
            "seed": "seed",
        },
        num_components=[1],
        std=[0.5],
    ),
    spec(
        "benchmarks.DiscreteLevels",
        lambda **kw: benchmarks.DiscreteLevels(**({"net": NEVER, "levels": LEVELS} | kw)),
        {"net": "callable", "levels": "tensor"},
        levels=[torch.zeros(0), torch.tensor([1.0, 0.0]), torch.tensor([-1.0])],
    ),
    spec(
        "benchmarks.DiscreteLevels.round_sigma",
        lambda **kw: benchmarks.DiscreteLevels(NEVER, LEVELS).round_sigma(**({"sigma": 0.5} | kw)),
        {"sigma": "time"},
    ),
    spec(
        "benchmarks.DiscreteLevels.__call__",
        lambda **kw: benchmarks.DiscreteLevels(NEVER, LEVELS)(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "tensor", "sigma": "sigma"},
    ),
    spec(
        "benchmarks.ImperfectDenoiser",
        lambda **kw: benchmarks.ImperfectDenoiser(**({"net": NEVER} | kw)),
        {
            "net": "callable",
            "delta": "real",
            "sigma_delta": "positive_or_inf",
            "bias": "real",
            "seed": "seed",
            "sigma_data": "positive",
        },
        bias_sigma=[None, (1.0,), (2.0, 1.0), (0.0, 1.0), "ab"],
    ),
    spec(
        "benchmarks.ImperfectDenoiser.__call__",
        lambda **kw: benchmarks.ImperfectDenoiser(NEVER)(**({"x": POINTS, "sigma": 0.5} | kw)),
        {"x": "tensor", "sigma": "sigma"},
    ),
    spec(
        "benchmarks.ImperfectDenoiser.delta_of_sigma",
        lambda **kw: benchmarks.ImperfectDenoiser(NEVER).delta_of_sigma(**({"sigma": 0.5} | kw)),
        {"sigma": "time"},
    ),
    spec(
        "benchmarks.ImperfectDenoiser.bias_window",
        lambda **kw: benchmarks.ImperfectDenoiser(NEVER).bias_window(**({"sigma": 0.5} | kw)),
        {"sigma": "time"},
    ),
    spec(
        "benchmarks.ImperfectDenoiser.field",
        lambda **kw: benchmarks.ImperfectDenoiser(NEVER).field(**({"x": POINTS} | kw)),
        {"x": "tensor"},
    ),
    spec(
        "benchmarks.ImperfectDenoiser.round_sigma",
        lambda **kw: benchmarks.ImperfectDenoiser(NEVER).round_sigma(**({"sigma": 0.5} | kw)),
        {"sigma": "time"},
    ),
    # ---------------------------------------------------------------- reference solutions
    spec(
        "reference.solve_pf_ode",
        lambda **kw: reference.solve_pf_ode(
            **({"net": NEVER, "x": POINTS, "sigma_start": 80, "sigma_end": 0.002} | kw)
        ),
        {
            "net": "callable",
            "x": "tensor",
            "sigma_start": "positive",
            "sigma_end": "positive",
            "rtol": "tolerance",
            "atol": "tolerance",
            "method": "name",
        },
    ),
    spec(
        "reference.reference_samples",
        lambda **kw: reference.reference_samples(**({"net": NEVER, "latents": POINTS} | kw)),
        {
            "net": "callable",
            "latents": "points",
            "sigma_min": "positive",
            "sigma_max": "positive",
            "schedule": "name",
            "scaling": "name",
            "epsilon_s": "unit",
            "rtol": "tolerance",
            "atol": "tolerance",
            "method": "name",
        },
        foo=[1],
    ),
    spec(
        "reference.rk45_sampler",
        lambda **kw: reference.rk45_sampler(**({"net": NEVER, "latents": POINTS} | kw)),
        {
            "net": "callable",
            "latents": "points",
            "sigma_min": "positive",
            "sigma_max": "positive",
            "rtol": "tolerance",
            "atol": "tolerance",
        },
    ),
    spec(
        "reference.local_truncation_error",
        lambda **kw: reference.local_truncation_error(
            **(
                {"net": NEVER, "latents": POINTS, "sigma_steps": torch.tensor([80.0, 1.0, 0.01])}
                | kw
            )
        ),
        {"net": "callable", "latents": "points", "solver": "name", "reference_rtol": "tolerance"},
        sigma_steps=[
            None,
            torch.tensor([1.0]),
            torch.tensor([1.0, 2.0]),
            torch.tensor([1.0, 0.0]),
            torch.tensor([1.0, nan]),
            torch.ones(2, 2),
        ],
        latents=[torch.zeros(0, 2)],
    ),
    # ---------------------------------------------------------------- claims
    spec(
        "claims.make_claim",
        lambda **kw: claims.make_claim(**(CLAIM | kw)),
        {"section": "name", "verdict": "name"},
        id=[None, "", "Has Caps", "a--b", "-a", 3],
        source=[None, "", "  ", 3],
        statement=[None, ""],
        why=[None, ""],
        paper=[None, 3],
        measured=[None, "", "none", "about the same", 7.3],
        page=[None],
    ),
    spec(
        "claims.record_claim",
        lambda **kw: claims.record_claim(**({k: v for k, v in CLAIM.items()} | kw)),
        {"section": "name", "verdict": "name"},
        id=["", "a b"],
        measured=["", "no number"],
        why=[""],
    ),
    spec(
        "claims.claims_in_notebook",
        lambda **kw: claims.claims_in_notebook(**({"notebook": {"cells": []}} | kw)),
        notebook=[None, {}, {"cells": 3}, [], "nb"],
        page=[None, 3],
    ),
    spec(
        "claims.claims_in_glue",
        lambda **kw: claims.claims_in_glue(**({"glued": {}} | kw)),
        glued=[None, [], "x"],
        page=[None, 3],
    ),
    spec(
        "claims.merge_claims",
        lambda **kw: claims.merge_claims(**({"pages": {"a": [claims.make_claim(**CLAIM)]}} | kw)),
        pages=[
            None,
            [],
            "a",
            Named({"a": [1]}, "pages['a']"),
            Named({"a": "x"}, "pages['a']"),
        ],
    ),
    spec(
        "claims.verdict_counts",
        lambda **kw: claims.verdict_counts(**({"claims": []} | kw)),
        claims=[None, "x", [1], {"a": 1}, 3],
    ),
    spec(
        "claims.ledger_groups",
        lambda **kw: claims.ledger_groups(**({"claims": []} | kw)),
        claims=[None, "x", [None], 3],
    ),
    # ---------------------------------------------------------------- glue
    spec(
        "glue.glue",
        lambda **kw: glue.glue(**({"name": "x", "variable": 1.0} | kw)),
        {"display": "bool"},
        name=[None, "", 3],
    ),
    # ---------------------------------------------------------------- convergence
    spec(
        "convergence.per_sample_error",
        lambda **kw: convergence.per_sample_error(**({"x": POINTS, "reference": POINTS} | kw)),
        {"x": "tensor", "reference": "tensor"},
        reference=[torch.zeros(1, 2), torch.zeros(3, 3)],
    ),
    spec(
        "convergence.converged_references",
        lambda **kw: convergence.converged_references(
            **(
                {
                    "net": NEVER,
                    "latents": POINTS,
                    "sigma_min": 0.002,
                    "sigma_max": 80.0,
                    "last_steps": {"edm": ("linear", "none")},
                }
                | kw
            )
        ),
        {
            "net": "callable",
            "latents": "points",
            "sigma_min": "positive",
            "sigma_max": "positive",
            "rtol": "tolerance",
            "epsilon_s": "unit",
        },
        last_steps=[
            {},
            None,
            Named({"a": "linear"}, "last_steps['a']"),
            Named({"a": ("x", "none")}, "last_steps['a'] schedule"),
        ],
    ),
    spec(
        "convergence.nfe_sweep",
        lambda **kw: convergence.nfe_sweep(
            **({"net": NEVER, "latents": POINTS, "num_steps": [4, 8], "reference": POINTS} | kw)
        ),
        {
            "latents": "tensor",
            "reference": "tensor",
            "metric": "callable_or_none",
            "sampler": "callable",
        },
        num_steps=[[8, 1], [], None, [8, 2.5]],
        reference=[torch.zeros(1, 2)],
        at=["end", None],
        foo=[1],
    ),
    spec(
        "convergence.speedup",
        lambda **kw: convergence.speedup(
            **(
                {
                    "base": {"nfe": [1, 2], "errors": torch.ones(2, 3)},
                    "new": {"nfe": [3], "errors": torch.ones(1, 3)},
                }
                | kw
            )
        ),
        {"num_resamples": "count0", "band": "unit", "seed": "seed"},
        base=[None, {"nfe": [1]}, Named({"nfe": [1], "errors": torch.ones(3)}, "base['errors']")],
        new=[
            Named({"nfe": [1], "errors": torch.ones(1, 2)}, "new['errors']"),
            Named({"nfe": [1, 2], "errors": torch.ones(1, 3)}, "new['errors']"),
            Named({"nfe": [0.0], "errors": torch.ones(1, 3)}, "new['nfe']"),
        ],
    ),
    spec(
        "convergence.lowest_nfe_within",
        lambda **kw: convergence.lowest_nfe_within(
            **({"nfe": [1, 2], "values": [1.0, 0.5], "best": 0.5} | kw)
        ),
        {"nfe": "sequence", "values": "sequence", "best": "nonneg", "tolerance": "nonneg"},
        values=[[1.0], [1.0, nan]],
    ),
    spec(
        "convergence.nfe_to_match",
        lambda **kw: convergence.nfe_to_match(
            **({"nfe": [1, 2], "errors": [1.0, 0.5], "target": 0.7} | kw)
        ),
        {"nfe": "sequence", "errors": "sequence", "target": "positive"},
        errors=[[1.0], [1.0, 0.0], [1.0, inf]],
    ),
    # ---------------------------------------------------------------- metrics
    spec(
        "metrics.mean_log_likelihood",
        lambda **kw: metrics.mean_log_likelihood(**({"mixture": RING, "x": POINTS} | kw)),
        {"x": "samples"},
        mixture=[None, EMPIRICAL, "ring"],
        x=[torch.zeros(3, 3)],
    ),
    spec(
        "metrics.assign_components",
        lambda **kw: metrics.assign_components(**({"mixture": RING, "x": POINTS} | kw)),
        {"x": "points"},
        mixture=[None, 3],
    ),
    spec(
        "metrics.mode_weights",
        lambda **kw: metrics.mode_weights(**({"mixture": RING, "x": POINTS} | kw)),
        {"x": "samples"},
        mixture=[None],
    ),
    spec(
        "metrics.mode_coverage",
        lambda **kw: metrics.mode_coverage(**({"mixture": RING, "x": POINTS} | kw)),
        {"x": "samples"},
        mixture=[None],
    ),
    spec(
        "metrics.exact_sample_scores",
        lambda **kw: metrics.exact_sample_scores(
            **({"mixture": RING, "metric": len, "num_samples": 3} | kw)
        ),
        {"metric": "callable", "num_samples": "count", "first_seed": "seed"},
        mixture=[None, "ring"],
        num_sets=["3", None, 0, 2.5, 10**6],
    ),
    spec(
        "metrics.fidelity_report",
        lambda **kw: metrics.fidelity_report(**({"mixture": RING, "samples": POINTS} | kw)),
        {"samples": "samples", "seed": "seed"},
        mixture=[None, EMPIRICAL],
    ),
    spec(
        "metrics.rms_error",
        lambda **kw: metrics.rms_error(**({"x": POINTS, "y": POINTS} | kw)),
        {"x": "tensor", "y": "tensor"},
        y=[torch.zeros(3, 3)],
        x=[torch.zeros(0, 2)],
    ),
    spec(
        "metrics.frechet_distance_gaussians",
        lambda **kw: metrics.frechet_distance_gaussians(
            **(
                {
                    "mean1": torch.zeros(2),
                    "cov1": torch.eye(2),
                    "mean2": torch.zeros(2),
                    "cov2": torch.eye(2),
                }
                | kw
            )
        ),
        {"mean1": "tensor", "cov1": "tensor", "mean2": "tensor", "cov2": "tensor"},
        cov1=[-torch.eye(2), torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.eye(3)],
        cov2=[-torch.eye(2)],
        mean2=[torch.zeros(3)],
    ),
    spec(
        "metrics.frechet_distance",
        lambda **kw: metrics.frechet_distance(
            **({"x": POINTS, "mean": torch.zeros(2), "cov": torch.eye(2)} | kw)
        ),
        {"x": "samples", "mean": "tensor", "cov": "tensor"},
        x=[torch.zeros(1, 2)],
        cov=[-torch.eye(2)],
    ),
    spec(
        "metrics.frechet_distance_samples",
        lambda **kw: metrics.frechet_distance_samples(**({"x": POINTS, "y": POINTS} | kw)),
        {"x": "samples", "y": "samples"},
        y=[torch.zeros(3, 4), torch.zeros(1, 2)],
    ),
    spec(
        "metrics.sliced_wasserstein",
        lambda **kw: metrics.sliced_wasserstein(**({"x": POINTS, "y": POINTS} | kw)),
        {"x": "samples", "y": "samples", "num_projections": "count", "generator": "generator"},
        y=[torch.zeros(4, 2)],
    ),
    spec(
        "metrics.nearest_neighbor_distance",
        lambda **kw: metrics.nearest_neighbor_distance(**({"x": POINTS, "data": DATA} | kw)),
        {"x": "samples", "data": "samples", "batch_size": "count", "return_index": "bool"},
        data=[torch.zeros(3, 4)],
    ),
    spec(
        "metrics.pca_features",
        lambda **kw: metrics.pca_features(**({"data": DATA, "k": 1} | kw)),
        {"data": "samples", "k": "count"},
        k=[3],
        data=[torch.zeros(1, 2)],
    ),
    # ---------------------------------------------------------------- sweeps
    spec(
        "sweeps.seeded_randn_like",
        lambda **kw: sweeps.seeded_randn_like(**({"seed": 0} | kw)),
        {"seed": "seed"},
    ),
    spec(
        "sweeps.setting_sweep",
        lambda **kw: sweeps.setting_sweep(
            **(
                {
                    "sampler": samplers.edm_sampler,
                    "net": NEVER,
                    "latents": POINTS,
                    "metric": NEVER,
                    "name": "S_churn",
                    "values": [0, 1],
                }
                | kw
            )
        ),
        {"sampler": "callable", "metric": "callable", "values": "sequence", "seed": "seed"},
        name=["randn_like", 3, "foo"],
        foo=[1],
    ),
    spec(
        "sweeps.metric_vs_nfe",
        lambda **kw: sweeps.metric_vs_nfe(
            **(
                {
                    "sampler": samplers.edm_sampler,
                    "net": NEVER,
                    "latents": POINTS,
                    "metric": NEVER,
                    "steps": [4, 8],
                }
                | kw
            )
        ),
        {"sampler": "callable", "metric": "callable", "seed": "seed"},
        steps=[[8, 1], [], None, [8, 2.5]],
        foo=[1],
    ),
    spec(
        "sweeps.whitened_frechet_distance",
        lambda **kw: sweeps.whitened_frechet_distance(
            **({"x": POINTS, "mean": torch.zeros(2), "cov": torch.eye(2)} | kw)
        ),
        {"x": "samples", "mean": "tensor", "cov": "tensor"},
        cov=[torch.zeros(2, 2), torch.eye(3), torch.zeros(2)],
        x=[torch.zeros(3, 3)],
    ),
    spec(
        "sweeps.spread_ratio",
        lambda **kw: sweeps.spread_ratio(**({"x": POINTS, "cov": torch.eye(2), "k": 1} | kw)),
        {"x": "samples", "cov": "tensor", "k": "count"},
        k=[3],
        cov=[torch.eye(3)],
    ),
    spec(
        "sweeps.paired_bootstrap",
        lambda **kw: sweeps.paired_bootstrap(
            **({"metric": lambda v: float(v.mean()), "runs": [POINTS], "num_resamples": 2} | kw)
        ),
        {"metric": "callable", "runs": "sequence", "num_resamples": "count", "seed": "seed"},
        runs=[[POINTS[:1]], [POINTS, POINTS[:2]]],
    ),
    spec(
        "sweeps.denoiser_error_profile",
        lambda **kw: sweeps.denoiser_error_profile(
            **({"net": NEVER, "exact": NEVER, "y": POINTS, "sigmas": [0.1, 1.0]} | kw)
        ),
        {"net": "callable", "exact": "callable", "y": "tensor", "seed": "seed"},
        sigmas=[None, [], [0.1, -1.0], [nan], "ab"],
    ),
    # ---------------------------------------------------------------- Table 1, published numbers
    spec(
        "table1.table1_markdown",
        lambda **kw: table1.table1_markdown(**kw),
        {"transpose": "bool"},
        rows=[["nope"], [], "ODE solver", [3]],
    ),
    spec(
        "published.speedup",
        lambda **kw: published.speedup(**({"model": "VP (CIFAR-10)"} | kw)),
        {"model": "name"},
    ),
    # ---------------------------------------------------------------- plotting
    spec(
        "plotting.grid_points",
        lambda **kw: plotting.grid_points(**({"extent": (-1, 1, -1, 1), "n": 3} | kw)),
        {"n": "steps"},
        extent=[None, (1, 2, 3), (1, 0, 0, 1), (0, nan, 0, 1), "abcd"],
    ),
    spec(
        "plotting.plot_density_2d",
        lambda **kw: plotting.plot_density_2d(**({"ax": AX, "mixture": RING} | kw)),
        {"sigma": "sigma_any", "n": "steps"},
        mixture=[None],
        extent=[(0, 1)],
    ),
    spec(
        "plotting.plot_points",
        lambda **kw: plotting.plot_points(**({"ax": AX, "x": POINTS} | kw)),
        {"x": "points"},
    ),
    spec(
        "plotting.plot_score_field",
        lambda **kw: plotting.plot_score_field(**({"ax": AX, "mixture": RING, "sigma": 0.5} | kw)),
        {"sigma": "sigma_any", "n": "steps"},
        mixture=["ring"],
        extent=[(0, 1)],
    ),
    spec(
        "plotting.image_grid",
        lambda **kw: plotting.image_grid(**({"images": IMAGES, "nrow": 2} | kw)),
        {"nrow": "count"},
        images=[None, torch.zeros(3, 4), "x"],
    ),
    spec(
        "plotting.show_images",
        lambda **kw: plotting.show_images(**({"ax": AX, "images": IMAGES} | kw)),
        {"nrow": "count_or_default"},
        images=[None, torch.zeros(3, 4)],
    ),
    spec(
        "plotting.plot_density_1d_over_sigma",
        lambda **kw: plotting.plot_density_1d_over_sigma(
            **({"ax": AX, "mixture": data.toy_mixture("line_1d"), "sigmas": [0.1, 1.0]} | kw)
        ),
        {"n": "steps"},
        mixture=[EMPIRICAL, None],
        sigmas=[None, [-1.0], [nan], [[0.1]]],
        x_range=[(1, 0), None, (0, 1, 2)],
    ),
    spec(
        "plotting.InteractiveFigure",
        lambda **kw: plotting.InteractiveFigure(**({"figure": FIGURE} | kw)),
        {"height": "count"},
        figure=[None, {}],
        config=[3, "x"],
    ),
    spec(
        "plotting.InteractiveFigure.to_html",
        lambda **kw: plotting.InteractiveFigure(FIGURE).to_html(**kw),
        div_id=[3, "", "has space"],
    ),
    spec(
        "plotting.show_interactive",
        lambda **kw: plotting.show_interactive(**({"fig": FIGURE} | kw)),
        {"height": "count"},
        fig=[None, {}],
        config=[3],
    ),
    spec(
        "plotting.slider_figure",
        lambda **kw: plotting.slider_figure(
            **({"frames": {1: [], 2: []}, "slider_label": "steps"} | kw)
        ),
        {"active": "count0"},
        frames=[{}, None, [1, 2]],
        slider_label=[3, None],
        active=[2],
        static=[None, 3],
        layout=[3],
    ),
    spec(
        "plotting.dropdown_slider_figure",
        lambda **kw: plotting.dropdown_slider_figure(
            **({"frames": {"a": {1: []}}, "dropdown_label": "solver", "slider_label": "steps"} | kw)
        ),
        frames=[{}, None, {"a": {}}, {"a": [1]}],
        dropdown_label=[3],
        slider_label=[None],
        active=[(1, 0), (0, -1), 0, (0.5, 0)],
        static=[3],
        layout=["x"],
    ),
    spec(
        "plotting.explorable",
        lambda **kw: plotting.explorable(**({"compute": NEVER, "slider": ("steps", [1, 2])} | kw)),
        {"compute": "callable", "height": "count", "live": "bool_or_none"},
        slider=["ab", ("steps", []), ("steps", [1, 1]), (3, [1]), None],
        dropdown=["ab", ("solver", [])],
        active=[1.5, 2, -1, (0, 1), True],
        static=[3],
        layout=[3],
        config=[3],
    ),
    spec(
        "plotting.points_trace",
        lambda **kw: plotting.points_trace(**({"x": POINTS} | kw)),
        {"x": "points"},
        name=[3],
    ),
    spec(
        "plotting.curve_trace",
        lambda **kw: plotting.curve_trace(**({"x": [1, 2], "y": [1.0, 2.0]} | kw)),
        x=[None, "ab", [[1, 2]]],
        y=[[1.0], None],
        name=[3],
    ),
    spec(
        "plotting.points_layout",
        lambda **kw: plotting.points_layout(**kw),
        {"size": "count", "legend_below_slider": "bool"},
        extent=[None, (1, 0, 0, 1)],
    ),
    spec(
        "plotting.log_layout",
        lambda **kw: plotting.log_layout(**({"x_title": "NFE", "y_title": "error"} | kw)),
        {"log_x": "bool", "log_y": "bool"},
        x_title=[3],
        y_title=[None],
        x_range=[(0, 1), (2, 1), (1,)],
        y_range=[(-1, 1)],
    ),
]


#: Public objects with no argument to check, and why.
EXEMPT = {
    "benchmarks.digits_benchmark": "takes no arguments",
    "benchmarks.ring_2d": "takes no arguments",
    "data.load_digit_labels": "takes no arguments",
    "_env.in_book_build": "takes no arguments",
    "training.model_cache_dir": "takes no arguments",
    "trained.digits_split": "takes no arguments",
    "training.training_code_hash": "takes no arguments",
    "training.Trained": "a record of a trained denoiser (a dataclass, no computation)",
    "plotting.InteractiveFigure.to_json_dict": "takes no arguments",
    "samplers.Trajectory": "a record of the tensors a sampler produced (a dataclass, no computation)",
    "claims.Claim": "a record of one claim (a frozen dataclass; make_claim checks its fields)",
    "table1.Cell": "a record of one table cell (a frozen dataclass, no computation)",
    "table1.constants_markdown": "takes no arguments",
    "samplers.CountingNet.__call__": "passes its arguments on to the wrapped net, which checks them",
}

# Every module of the package, subpackages' modules included (the validation layer's own checks
# are tested through these), so that a new module's public functions are missed by nothing.
# Packages are left out: their `__init__` only re-exports what their modules define.
MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(edm_src.__path__, "edm_src.")
    if not info.ispkg and info.name != "edm_src._validation"
]


def public_objects() -> set[str]:
    """Every public function, class and method of edm_src, as 'module.name' or 'module.Class.method'.

    A module's imports count where they are defined; the validation layer itself is
    tested below.  Methods: public ones, `__call__` and `forward`, inherited ones
    included (named after the public class), properties excluded.
    """
    names = set()
    for module in MODULES:
        for name, obj in vars(module).items():
            defined_in = getattr(obj, "__module__", "") or ""
            if name.startswith("_") or not defined_in.startswith("edm_src"):
                continue
            if defined_in == "edm_src._validation" or not (
                inspect.isfunction(obj) or inspect.isclass(obj)
            ):
                continue
            qualified = f"{defined_in.split('.')[-1]}.{name}"
            names.add(qualified)
            if inspect.isclass(obj):
                for method_name in dir(obj):
                    if method_name.startswith("_") and method_name not in ("__call__",):
                        continue
                    owner = next((c for c in obj.__mro__ if method_name in vars(c)), None)
                    if owner is None or not owner.__module__.startswith("edm_src"):
                        continue  # nn.Module's own methods, object's dunders
                    if inspect.isfunction(vars(owner)[method_name]) or isinstance(
                        vars(owner)[method_name], classmethod
                    ):
                        names.add(f"{qualified}.{method_name}")
    return names


def short(value: object) -> str:
    """A short test id for a bad value."""
    if isinstance(value, torch.Tensor):
        return f"tensor{list(value.shape)}{str(value.dtype).replace('torch.', '')}"
    text = type(value).__name__ if callable(value) and not isinstance(value, type) else repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def cases():
    for s in SPECS:
        for arg, kind in s.kinds.items():
            for value in BAD[kind]:
                yield pytest.param(s, arg, value, arg, id=f"{s.target}-{arg}-{short(value)}")
        for arg, values in s.extra.items():
            for value in values:
                name = value.name if isinstance(value, Named) else arg
                value = value.value if isinstance(value, Named) else value
                yield pytest.param(s, arg, value, name, id=f"{s.target}-{arg}-{short(value)}")


@pytest.mark.parametrize("spec, arg, value, name", list(cases()))
def test_bad_argument(spec: Spec, arg: str, value: object, name: str):
    """spec.target(arg=value), all else valid, raises a ValueError whose message starts with `name`,
    before calling any net, model or metric passed (NeverCalled fails otherwise)."""
    with raises_naming(name):
        spec.call(**{arg: value})


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.target)
def test_the_valid_call_passes_every_check(spec: Spec):
    """Each table entry's valid call passes validation: it returns, or gets as far as calling a
    NeverCalled net (so each bad-value case above fails because of its one bad value)."""
    try:
        spec.call()
    except AssertionError as error:
        assert "called before every argument was checked" in str(error)


def test_every_public_function_is_covered():
    """Every public function, class and method of edm_src has bad-input cases (or a reason not to)."""
    covered = {s.target for s in SPECS}
    missing = sorted(public_objects() - covered - set(EXEMPT))
    assert missing == [], f"public functions without bad-input cases: {missing}"
    unknown = sorted((covered | set(EXEMPT)) - public_objects())
    assert unknown == [], f"table entries that are not public functions: {unknown}"
