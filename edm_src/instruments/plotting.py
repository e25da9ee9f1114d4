"""Plotting helpers shared by the chapters: static (matplotlib) and interactive (plotly).

Chapters call these so that the same picture (a density, a score field, a
grid of digits) looks the same on every page and is drawn by one piece of
code.  Each helper draws into a given `Axes` and returns what it drew.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.axes
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from matplotlib.colors import TABLEAU_COLORS, Colormap
from matplotlib.quiver import Quiver
from plotly.basedatatypes import BaseTraceType

from .._env import BOOK_BUILD_ENV, in_book_build  # noqa: F401  (BOOK_BUILD_ENV: re-exported)
from .._validation import (
    check_bool,
    check_callable,
    check_integer,
    check_positive,
    check_real,
    check_sequence,
    check_tensor,
)
from ..denoisers import GaussianMixture
from .metrics import _check_mixture

if TYPE_CHECKING:
    import ipywidgets

Extent = tuple[float, float, float, float]


def _check_ax(ax: Any) -> plt.Axes:
    """A matplotlib Axes to draw into."""
    if not isinstance(ax, matplotlib.axes.Axes):
        raise ValueError(
            f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}"
        )
    return ax


def _check_cmap(cmap: Any) -> str | Colormap:
    """A colormap: one of matplotlib's names, or a Colormap."""
    if isinstance(cmap, Colormap) or (isinstance(cmap, str) and cmap in matplotlib.colormaps):
        return cmap
    raise ValueError(
        f"cmap must be a matplotlib colormap name (e.g. 'Greys') or a Colormap, got {cmap!r}"
    )


def _check_mixture_dim(mixture: GaussianMixture, dim: int) -> GaussianMixture:
    """A GaussianMixture of `dim` dimensions (these plots draw 2-D or 1-D densities)."""
    _check_mixture(mixture, density=dim == 1)
    if mixture.dim != dim:
        raise ValueError(f"mixture must be {dim}-D for this plot, got a {mixture.dim}-D mixture")
    return mixture


def _draw(what: str, draw: Callable[[], Any]) -> Any:
    """Call matplotlib or plotly with the caller's style keywords: their errors become a
    ValueError naming the keyword arguments."""
    try:
        return draw()
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"kwargs must be valid {what} properties: {error}") from None


def _check_extent(extent: Extent, name: str = "extent") -> Extent:
    """(x_min, x_max, y_min, y_max): four finite numbers with x_min < x_max and y_min < y_max."""
    values = check_sequence(name, extent)
    if len(values) != 4:
        raise ValueError(f"{name} must be (x_min, x_max, y_min, y_max), got {extent!r}")
    x_min, x_max, y_min, y_max = (check_real(name, v) for v in values)
    if not (x_min < x_max and y_min < y_max):
        raise ValueError(f"{name} must have x_min < x_max and y_min < y_max, got {extent!r}")
    return x_min, x_max, y_min, y_max


def _check_interval(name: str, value: Any, *, positive: bool = False) -> tuple[float, float]:
    """(low, high): two finite numbers with low < high (and low > 0 if `positive`: a log axis)."""
    values = check_sequence(name, value)
    if len(values) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    low, high = (check_real(name, v) for v in values)
    if not low < high or (positive and low <= 0):
        need = "0 < low < high" if positive else "low < high"
        raise ValueError(f"{name} must be (low, high) with {need}, got {value!r}")
    return low, high


def _check_label(name: str, value: Any) -> str:
    """A control's or an axis' label: a string."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _check_choices(name: str, values: Any) -> list:
    """A control's values: a non-empty sequence (not a string) whose labels str(v) are distinct,
    so that no two slider positions or menu entries collapse into one."""
    if isinstance(values, Mapping):
        values = list(values)
    values = check_sequence(name, values, min_length=1)
    labels = [str(v) for v in values]
    try:
        equal_values = len(set(values)) != len(values)  # e.g. 1 and 1.0: one dictionary key
    except TypeError:  # the frames are keyed by value: a list cannot be a key
        raise ValueError(
            f"{name} must be hashable (numbers, strings, tuples), got {values!r}"
        ) from None
    if len(set(labels)) != len(labels) or equal_values:
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        raise ValueError(f"{name} must be distinct, got repeated values {repeated}")
    return values


def _check_control(name: str, control: Any) -> tuple[str, list]:
    """A control given as (label, values): a string label and distinct values."""
    if not (isinstance(control, (tuple, list)) and len(control) == 2):
        raise ValueError(f"{name} must be a pair (label, values), got {control!r}")
    return _check_label(f"{name} label", control[0]), _check_choices(f"{name} values", control[1])


def grid_points(extent: Extent, n: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """An n×n grid over extent = (x_min, x_max, y_min, y_max) as points [n², 2] (float64)."""
    extent = _check_extent(extent)
    n = check_integer("n", n, 2, 4096)
    xs = torch.linspace(extent[0], extent[1], n, dtype=torch.float64)
    ys = torch.linspace(extent[2], extent[3], n, dtype=torch.float64)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")  # [n, n] each, rows = y
    return torch.stack([X.flatten(), Y.flatten()], dim=1), (n, n)


def plot_density_2d(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigma: float = 0.0,
    extent: Extent = (-1.6, 1.6, -1.6, 1.6),
    n: int = 200,
    cmap: str = "Greys",
) -> np.ndarray:
    """Draw the mollified density p(x; σ) of a 2-D mixture as an image; returns the density [n, n]."""
    _check_ax(ax)
    _check_mixture_dim(mixture, 2)
    cmap = _check_cmap(cmap)
    points, shape = grid_points(extent, n)
    extent = _check_extent(extent)
    density = mixture.log_prob(points, sigma).exp().reshape(shape).detach().numpy()
    ax.imshow(density, origin="lower", extent=extent, cmap=cmap, aspect="equal")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return density


def plot_points(ax: plt.Axes, x: torch.Tensor, **kwargs) -> None:
    """Scatter 2-D points [B, 2] with small markers."""
    _check_ax(ax)
    x = _points("x", x)
    style = dict(s=3, alpha=0.6, linewidths=0) | kwargs
    _draw("matplotlib scatter", lambda: ax.scatter(x[:, 0], x[:, 1], **style))


def plot_score_field(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigma: float,
    extent: Extent = (-1.6, 1.6, -1.6, 1.6),
    n: int = 21,
    **kwargs,
) -> Quiver:
    """Quiver plot of the score ∇ log p(x; σ) on an n×n grid, arrows scaled to unit length.

    The magnitude spans orders of magnitude between σ = 0.05 and σ = 5, so only
    the direction is drawn.  Returns the quiver.
    """
    _check_ax(ax)
    _check_mixture_dim(mixture, 2)
    points, _ = grid_points(extent, n)
    extent = _check_extent(extent)
    score = mixture.score(points, sigma).detach()  # [n², 2]
    unit = (score / score.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()  # [n², 2]
    style = dict(color="black", alpha=0.7, angles="xy", pivot="mid") | kwargs
    quiver = _draw(
        "matplotlib quiver",
        lambda: ax.quiver(
            points[:, 0].numpy(), points[:, 1].numpy(), unit[:, 0], unit[:, 1], **style
        ),
    )
    ax.set_aspect("equal")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return quiver


def _check_images(images: Any) -> torch.Tensor:
    """One-channel images [B, 1, H, W], B >= 1 (NaN allowed: it is drawn as a gap)."""
    images = check_tensor("images", images, min_ndim=4, max_ndim=4, finite=False)
    if images.shape[0] < 1 or images.shape[1] != 1 or images.shape[2] < 1 or images.shape[3] < 1:
        raise ValueError(
            f"images must have shape [B, 1, H, W] with B, H, W >= 1, got {tuple(images.shape)}"
        )
    return images


def image_grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """Tile images [B, 1, H, W] (values in [−1, 1]) into one array for `imshow`, with 1-pixel gaps."""
    images = _check_images(images)
    images = images.detach().cpu().to(torch.float64)
    nrow = check_integer("nrow", nrow, 1, max(len(images), 1))
    B, _, H, W = images.shape
    ncol = -(-B // nrow)
    canvas = np.full((ncol * (H + 1) - 1, nrow * (W + 1) - 1), np.nan)
    for k in range(B):
        r, c = divmod(k, nrow)
        canvas[r * (H + 1) : r * (H + 1) + H, c * (W + 1) : c * (W + 1) + W] = images[k, 0].numpy()
    return canvas


def plot_with_band(
    ax: plt.Axes, x: Any, y: Any, se: Any, *, floor: float = 1e-12, **line_kwargs
) -> None:
    """A curve y(x) with a band of ±2 standard errors `se` (clipped below at `floor` for log
    axes): how the chapters draw a measured quantity per σ with its sampling noise."""
    ax = _check_ax(ax)
    x, y, se = (
        check_tensor(name, v, max_ndim=1, float_dtype=torch.float64).cpu().numpy()
        for name, v in (("x", x), ("y", y), ("se", se))
    )
    if not (x.shape == y.shape == se.shape):
        raise ValueError(f"y and se must have as many entries as x ({len(x)})")
    floor = check_positive("floor", floor)
    lines = _draw("matplotlib line", lambda: ax.plot(x, y, **line_kwargs))
    ax.fill_between(
        x, np.clip(y - 2 * se, floor, None), y + 2 * se, color=lines[0].get_color(), alpha=0.25
    )


def show_images(
    ax: plt.Axes, images: torch.Tensor, nrow: int | None = None, title: str | None = None
) -> None:
    """Show a batch of one-channel images [B, 1, H, W] in [−1, 1] as a grid (grey, clipped)."""
    _check_ax(ax)
    images = _check_images(images)
    nrow = len(images) if nrow is None else check_integer("nrow", nrow, 1, len(images))
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a string or None, got {title!r}")
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    ax.imshow(image_grid(images, nrow), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def plot_density_1d_over_sigma(
    ax: plt.Axes,
    mixture: GaussianMixture,
    sigmas: Sequence[float] | torch.Tensor,
    x_range: tuple[float, float] = (-3, 3),
    n: int = 300,
    cmap: str = "Blues",
) -> np.ndarray:
    """Heat map of p(x; σ) for a 1-D mixture: σ along the horizontal axis, x vertical.

    Each column is normalised to its maximum so that the shape of the density
    stays visible as it spreads out with σ.  Returns the density [n, len(sigmas)].
    """
    _check_ax(ax)
    _check_mixture_dim(mixture, 1)
    cmap = _check_cmap(cmap)
    sigmas = check_tensor("sigmas", sigmas, max_ndim=1, float_dtype=torch.float64).to(torch.float64)
    if sigmas.numel() == 0:
        raise ValueError("sigmas must hold at least one noise level")
    if (sigmas < 0).any():
        raise ValueError("sigmas must be >= 0")
    x_range = _check_interval("x_range", x_range)
    n = check_integer("n", n, 2, 100_000)
    xs = torch.linspace(*x_range, n, dtype=torch.float64)[:, None]  # [n, 1]
    density = torch.stack([mixture.log_prob(xs, s).exp() for s in sigmas], dim=1)  # [n, S]
    peak = density.max(dim=0).values  # [S]; 0 where the density underflows over the whole range
    density = (density / torch.where(peak > 0, peak, 1.0)).detach().numpy()
    ax.pcolormesh(sigmas.numpy(), xs[:, 0].numpy(), density, cmap=cmap, shading="auto")
    ax.set_xlabel(r"noise level $\sigma$")
    ax.set_ylabel(r"$x$")
    return density


# --- Interactive figures (plotly) --------------------------------------------
#
# The published site has no kernel, so an interactive figure carries every
# state it can show, precomputed: a slider or a dropdown only switches which
# traces are visible, which plotly.js does by itself in the browser.  The same
# cells run live in JupyterLab, where plotly's own renderer (the
# jupyterlab-plotly extension, installed with plotly) draws the figure.
# `explorable` serves both from one frame function: it precomputes every frame
# in a book build, and computes them on demand behind ipywidgets controls live.
#
# plotly.js is served from the site's _static/ by the local Sphinx extension
# _ext/plotly_static.py; the HTML written here only calls the global `Plotly`.


PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}
PLOTLY_TEMPLATE = "plotly_white"
# matplotlib's default colour cycle (tab10), so interactive and static figures agree.
COLORS: list[str] = list(TABLEAU_COLORS.values())

Traces = Sequence[BaseTraceType]


class InteractiveFigure:
    """Display wrapper for a plotly figure: live in JupyterLab, interactive on the static site.

    Its `_repr_mimebundle_` gives three representations of the same figure:

    - ``application/vnd.plotly.v1+json``: the figure (data, layout, config),
      drawn live by JupyterLab's plotly renderer;
    - ``text/html``: a ``<div>`` and a ``<script>`` calling ``Plotly.newPlot``
      with the figure's JSON.  It loads nothing: it relies on the global
      ``Plotly`` that every page of the book loads from ``_static/``.  The book's
      HTML build shows this one (see ``nb_mime_priority_overrides`` in _config.yml);
    - ``text/plain``: a one-line summary.

    The div's id is a hash of the figure plus a per-process counter, so a
    re-executed notebook gives byte-identical output and two copies of one
    figure on a page do not share an id.  Works with ``display(...)``, as a
    cell's last expression and with myst-nb's ``glue`` (``{glue:figure}``).
    """

    _counter = itertools.count()

    def __init__(
        self, figure: go.Figure, config: Mapping[str, Any] | None = None, height: int = 450
    ):
        if not isinstance(figure, go.Figure):
            raise ValueError(f"figure must be a plotly Figure, got {type(figure).__name__}")
        if config is not None and not (
            isinstance(config, Mapping) and all(isinstance(k, str) for k in config)
        ):
            raise ValueError(
                f"config must be a mapping of plotly.js option names to values, got {config!r}"
            )
        self.figure = figure
        self.config = PLOTLY_CONFIG | dict(config or {})
        self.height = check_integer("height", height, 1)  # used only when layout.height is unset

    def __repr__(self) -> str:
        return f"<InteractiveFigure: {len(self.figure.data)} traces>"

    def to_json_dict(self) -> dict[str, Any]:
        """The figure as plain JSON data, with its config (the plotly mimetype's payload)."""
        data = json.loads(pio.to_json(self.figure, validate=False, remove_uids=False))
        return data | {"config": self.config}

    def to_html(self, div_id: str | None = None) -> str:
        """A ``<div>`` + ``<script>`` that draws the figure with the page's global ``Plotly``.

        ``div_id``, if given, must be a valid HTML id: a non-empty string without spaces.
        """
        if div_id is not None and (
            not isinstance(div_id, str) or not div_id or any(c.isspace() for c in div_id)
        ):
            raise ValueError(f"div_id must be a non-empty string without spaces, got {div_id!r}")
        if div_id is None:
            digest = hashlib.sha1(
                json.dumps(self.to_json_dict(), sort_keys=True).encode()
            ).hexdigest()
            div_id = f"plotly-{digest[:12]}-{next(self._counter)}"
        return pio.to_html(
            self.figure,
            config=self.config,
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            div_id=div_id,
            default_width="100%",
            default_height=f"{self.height}px",
            validate=False,
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = {
            PLOTLY_MIMETYPE: self.to_json_dict(),
            "text/html": self.to_html(),
            "text/plain": repr(self),
        }
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle


def show_interactive(
    fig: go.Figure, config: Mapping[str, Any] | None = None, height: int = 450
) -> InteractiveFigure:
    """Wrap a plotly figure for display: make it a cell's last expression, or `glue` it.

    ``config`` updates `PLOTLY_CONFIG` (plotly.js config options); ``height``
    (pixels) applies when the figure's layout sets none.
    """
    if not isinstance(fig, go.Figure):
        raise ValueError(f"fig must be a plotly Figure, got {type(fig).__name__}")
    return InteractiveFigure(fig, config, height)


def _paint(trace: BaseTraceType, color: str) -> None:
    """Give a trace's marker and line `color` where the caller chose none."""
    for part in ("marker", "line"):
        if part in trace and trace[part].color is None:
            trace[part].color = color


def _add_group(fig: go.Figure, traces: Traces, first_color: int = 0) -> list[int]:
    """Add traces to fig, colouring the j-th one COLORS[first_color + j]; returns their indices."""
    start = len(fig.data)
    fig.add_traces(list(traces))
    for j, trace in enumerate(fig.data[start:]):
        _paint(trace, COLORS[(first_color + j) % len(COLORS)])
    return list(range(start, len(fig.data)))


def _check_traces(name: str, traces: Any) -> list:
    """A sequence of plotly traces."""
    traces = check_sequence(name, traces)
    if not all(isinstance(t, BaseTraceType) for t in traces):
        raise ValueError(f"{name} must be a sequence of plotly traces")
    return traces


def _check_layout(layout: Any) -> Mapping | None:
    """Plotly layout properties (a mapping that `go.Layout` accepts) or None."""
    layout = _check_mapping("layout", layout)
    if layout is not None:
        try:
            go.Layout(layout)
        except (ValueError, TypeError) as error:
            raise ValueError(f"layout must hold plotly layout properties: {error}") from None
    return layout


def _check_frames(name: str, frames: Mapping) -> None:
    """Every frame's traces are a sequence of plotly traces."""
    for value, traces in frames.items():
        _check_traces(f"{name}[{value!r}]", traces)


def _check_mapping(name: str, value: Any) -> Mapping | None:
    """A mapping (plotly layout or config properties) or None."""
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping of plotly properties or None, got {value!r}")
    return value


def _new_figure(static: Traces) -> tuple[go.Figure, list[int]]:
    """An empty figure in the book's template holding the static traces; returns it and their indices."""
    fig = go.Figure(layout=dict(template=PLOTLY_TEMPLATE))
    return fig, _add_group(fig, static)


def _mask(n: int, shown: Sequence[int]) -> list[bool]:
    shown = set(shown)
    return [i in shown for i in range(n)]


def _slider(label: str, steps: list[dict], active: int) -> dict:
    return dict(
        active=active,
        steps=steps,
        currentvalue=dict(prefix=f"{label}: "),
        pad=dict(t=50),
        len=1.0,
        x=0,
    )


def slider_figure(
    frames: Mapping[Any, Traces],
    slider_label: str,
    *,
    static: Traces = (),
    layout: Mapping[str, Any] | None = None,
    active: int = 0,
) -> go.Figure:
    """A figure whose slider shows one precomputed frame at a time (no kernel needed).

    ``frames`` maps each slider value to the traces drawn at that value (the
    slider shows ``str(value)``); ``static`` traces (data, a reference curve)
    are drawn in every frame.  Step k's visibility mask shows the static traces
    and frame k's traces only.  The j-th trace of every frame gets the same
    colour (the static traces take the first colours), so a series keeps its
    colour as the slider moves.  ``layout`` is merged into the figure's layout:
    fix the axis ranges there (`points_layout`, `log_layout`) so that the axes
    do not rescale from frame to frame.
    """
    if not isinstance(frames, Mapping) or not frames:
        raise ValueError("frames must be a non-empty mapping slider value → traces")
    _check_label("slider_label", slider_label)
    static, layout = _check_traces("static", static), _check_layout(layout)
    _check_frames("frames", frames)
    active = check_integer("active", active, 0, len(frames) - 1)
    fig, fixed = _new_figure(static)
    groups = [_add_group(fig, traces, first_color=len(fixed)) for traces in frames.values()]
    n = len(fig.data)
    steps = [
        dict(method="restyle", label=str(value), args=[{"visible": _mask(n, fixed + group)}])
        for value, group in zip(frames, groups)
    ]
    for i, visible in enumerate(steps[active]["args"][0]["visible"]):
        fig.data[i].visible = visible
    fig.update_layout(sliders=[_slider(slider_label, steps, active)])
    if layout:
        fig.update_layout(layout)
    return fig


def _check_active(active: Any, num_choices: int, num_values: int | None) -> tuple[int, int]:
    """A starting position (choice index, slider index) within num_choices × num_values
    (any slider index >= 0 if num_values is None: each choice clamps it to its own slider)."""
    if not (isinstance(active, (tuple, list)) and len(active) == 2):
        raise ValueError(f"active must be a pair (choice index, slider index), got {active!r}")
    last = None if num_values is None else num_values - 1
    return (
        check_integer("active", active[0], 0, num_choices - 1),
        check_integer("active", active[1], 0, last),
    )


def dropdown_slider_figure(
    frames: Mapping[Any, Mapping[Any, Traces]],
    dropdown_label: str,
    slider_label: str,
    *,
    static: Traces = (),
    layout: Mapping[str, Any] | None = None,
    active: tuple[int, int] = (0, 0),
) -> go.Figure:
    """A dropdown for a categorical choice (e.g. the solver) and a slider (e.g. the number of steps).

    ``frames[choice][value]`` are the traces drawn for that choice at that
    slider value; each choice has its own slider, so choices may offer
    different values.  Choosing in the dropdown shows that choice's frame and
    slider at slider position ``active[1]`` (clamped to its number of steps):
    plotly.js cannot carry the slider's position across choices without a
    kernel or custom JavaScript.  Each entry of the menu reads
    ``"<dropdown_label>: <choice>"``.  ``static`` traces are drawn in every
    frame, and colours are assigned as in `slider_figure`.
    """
    if (
        not isinstance(frames, Mapping)
        or not frames
        or not all(isinstance(v, Mapping) and v for v in frames.values())
    ):
        raise ValueError("frames must be a non-empty mapping choice → (slider value → traces)")
    _check_label("dropdown_label", dropdown_label)
    _check_label("slider_label", slider_label)
    static, layout = _check_traces("static", static), _check_layout(layout)
    for choice, by_value in frames.items():
        _check_frames(f"frames[{choice!r}]", by_value)
    active = _check_active(active, len(frames), None)
    fig, fixed = _new_figure(static)
    groups = {
        choice: [_add_group(fig, traces, first_color=len(fixed)) for traces in by_value.values()]
        for choice, by_value in frames.items()
    }
    n = len(fig.data)
    buttons, sliders = [], []
    for choice, by_value in frames.items():
        masks = [_mask(n, fixed + group) for group in groups[choice]]
        start = min(active[1], len(masks) - 1)
        steps = [
            dict(method="restyle", label=str(value), args=[{"visible": mask}])
            for value, mask in zip(by_value, masks)
        ]
        sliders.append(_slider(slider_label, steps, start))
        buttons.append(
            dict(
                method="update",
                # The menu's name goes into each entry: a label beside the menu
                # would need pixels that paper coordinates cannot promise.
                label=f"{dropdown_label}: {choice}",
                args=[{"visible": masks[start]}, {"sliders": [sliders[-1]]}],
            )
        )
    first = active[0]
    for i, visible in enumerate(buttons[first]["args"][0]["visible"]):
        fig.data[i].visible = visible
    fig.update_layout(
        sliders=[sliders[first]],
        updatemenus=[
            dict(
                buttons=buttons,
                active=first,
                direction="down",
                showactive=True,
                x=0,
                xanchor="left",
                y=1.02,
                yanchor="bottom",
                pad=dict(l=0, t=0),
            )
        ],
        margin=dict(t=70),
    )
    if layout:
        fig.update_layout(layout)
    return fig


# --- One frame function, two ways to show it -----------------------------------

# in_book_build and BOOK_BUILD_ENV live in edm_src._env (training uses them too).


def explorable(
    compute: Callable[..., Traces],
    slider: tuple[str, Sequence[Any]],
    dropdown: tuple[str, Iterable[Any]] | None = None,
    *,
    static: Traces = (),
    layout: Mapping[str, Any] | None = None,
    active: int | tuple[int, int] = 0,
    height: int = 450,
    config: Mapping[str, Any] | None = None,
    live: bool | None = None,
) -> InteractiveFigure | ipywidgets.VBox:
    """An interactive figure from a frame function: precomputed on the site, computed on demand live.

    ``compute(choice, value)`` returns the traces drawn when the dropdown shows
    ``choice`` and the slider ``value``; without a dropdown it is
    ``compute(value)``.  ``slider = (label, values)`` and ``dropdown = (label,
    choices)`` define the controls (``choices`` may be a mapping: its keys are
    the choices); every choice offers the same slider values.  ``static`` traces
    are drawn in every frame; ``layout`` is merged into the figure's layout (fix
    the axis ranges there); ``active`` is the starting slider index, or
    ``(choice index, slider index)`` with a dropdown; ``height`` and ``config``
    are those of `show_interactive`.

    Two paths, one ``compute``:

    - **Book build** (``live=False``): calls ``compute`` for every choice and
      value, in order, and returns ``show_interactive(dropdown_slider_figure(...))``
      (or `slider_figure` without a dropdown): an `InteractiveFigure` that
      plotly.js animates in the browser with no kernel and no widgets.
    - **Live** (``live=True``): returns an ipywidgets ``VBox`` holding a
      ``Dropdown`` and a ``SelectionSlider`` over the same choices and values and
      an ``Output`` that shows the current frame in plotly's own renderer.  Only
      the frame shown is computed: each control change calls ``compute`` for the
      chosen value, once (frames are memoised), and redraws with the same static
      traces, colours, layout and legend as the static figure.  The slider acts
      on release, so dragging does not compute the frames passed over.

    ``live=None`` (the default) chooses by where the code runs: the book-build
    path when `in_book_build()` is true (the book's Sphinx extension
    ``_ext/kernel_env.py`` sets ``EDM_BOOK_BUILD=1`` and the executing kernels
    inherit it), or when ipywidgets is not installed; the live path otherwise.
    In a chapter, glue the result with ``display=not in_book_build()``, so that a
    live notebook shows the controls and the site shows the glued figure.
    """
    check_callable("compute", compute)
    slider_label, values = _check_control("slider", slider)
    if dropdown is None:
        dropdown_label, choices = None, [None]
        if isinstance(active, (tuple, list)):
            raise ValueError("active must be an int (a slider index) when there is no dropdown")
        start = (0, check_integer("active", active, 0, len(values) - 1))
    else:
        dropdown_label, choices = _check_control("dropdown", dropdown)
        if isinstance(active, (tuple, list)):
            start = _check_active(active, len(choices), len(values))
        else:
            start = (0, check_integer("active", active, 0, len(values) - 1))
    static = _check_traces("static", static)
    layout, config = _check_layout(layout), _check_mapping("config", config)
    height = check_integer("height", height, 1)
    live = None if live is None else check_bool("live", live)

    def frame(choice: Any, value: Any) -> Traces:
        traces = compute(value) if dropdown is None else compute(choice, value)
        return _check_traces("compute(...)", traces)

    if live is None:
        live = not in_book_build() and importlib.util.find_spec("ipywidgets") is not None
    if live:

        def figure(traces: Traces) -> InteractiveFigure:
            fig, fixed = _new_figure(static)
            _add_group(fig, traces, first_color=len(fixed))
            if layout:
                fig.update_layout(layout)
            return show_interactive(fig, config, height)

        return _live_controls(
            frame, figure, (slider_label, values), (dropdown_label, choices), start
        )
    if dropdown is None:
        frames = {value: frame(None, value) for value in values}
        fig = slider_figure(frames, slider_label, static=static, layout=layout, active=start[1])
    else:
        frames = {choice: {value: frame(choice, value) for value in values} for choice in choices}
        fig = dropdown_slider_figure(
            frames, dropdown_label, slider_label, static=static, layout=layout, active=start
        )
    return show_interactive(fig, config, height)


def _live_controls(
    frame: Callable[[Any, Any], Traces],
    figure: Callable[[Traces], InteractiveFigure],
    slider: tuple[str, list[Any]],
    dropdown: tuple[str | None, list[Any]],
    start: tuple[int, int],
) -> ipywidgets.VBox:
    """The live path of `explorable`: a Dropdown and a SelectionSlider over an Output.

    Each change of a control shows ``figure(frame(choice, value))``; ``frame``
    is called once per (choice, value) and its traces are memoised.  Without a
    dropdown (label None) the menu is not shown and its value is None.
    """
    import ipywidgets as widgets

    memo: dict[tuple[Any, Any], list[BaseTraceType]] = {}
    labelled = dict(style=dict(description_width="initial"))
    slider_control = widgets.SelectionSlider(
        options=[(str(v), v) for v in slider[1]],
        value=slider[1][start[1]],
        description=f"{slider[0]}:",
        continuous_update=False,  # compute on release, not for every value dragged over
        layout=dict(width="420px"),
        **labelled,
    )
    menu = widgets.Dropdown(
        options=[(str(c), c) for c in dropdown[1]],
        value=dropdown[1][start[0]],
        description=f"{dropdown[0]}:",
        **labelled,
    )
    output = widgets.Output()

    def draw(_change: Any = None) -> None:
        key = (menu.value, slider_control.value)
        if key not in memo:
            memo[key] = list(frame(*key))
        shown = figure(memo[key])
        # Replace the Output's content directly (no `with output:` capture): this
        # needs no front end listening, and works the same in every front end.
        output.outputs = (
            {"output_type": "display_data", "data": _live_bundle(shown), "metadata": {}},
        )

    slider_control.observe(draw, names="value")
    menu.observe(draw, names="value")
    draw()
    controls = [slider_control] if dropdown[0] is None else [menu, slider_control]
    return widgets.VBox([widgets.HBox(controls), output])


def _live_bundle(shown: InteractiveFigure) -> dict[str, Any]:
    """The live figure's output: plotly's mimetype for JupyterLab; on Colab, which has no
    renderer for it, HTML that loads plotly.js from plotly's CDN (Colab is online anyway)."""
    if "google.colab" in sys.modules:
        html = pio.to_html(
            shown.figure, config=shown.config, include_plotlyjs="cdn", full_html=False
        )
        return {"text/html": html, "text/plain": repr(shown)}
    return {PLOTLY_MIMETYPE: shown.to_json_dict(), "text/plain": repr(shown)}


def _points(name: str, x: Any) -> np.ndarray:
    """2-D points [B, 2] (finite) as a NumPy array."""
    x = check_tensor(name, x, min_ndim=2, max_ndim=2)
    if x.shape[1] != 2:
        raise ValueError(f"{name} must have shape [B, 2] (2-D points), got {tuple(x.shape)}")
    return x.detach().cpu().numpy()


def _check_name(name: Any) -> str | None:
    """A trace's legend name: a string or None (no legend entry)."""
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name must be a string or None, got {name!r}")
    return name


def points_trace(x: torch.Tensor | np.ndarray, name: str | None = None, **kwargs) -> go.Scatter:
    """2-D points [B, 2] as a scatter trace with small markers (the style of `plot_points`).

    ``kwargs`` are `go.Scatter` properties and override the defaults.
    """
    x = _points("x", x)
    _check_name(name)
    style = dict(
        mode="markers",
        marker=dict(size=4, opacity=0.6, line=dict(width=0)),
        showlegend=name is not None,
    )
    return _draw(
        "plotly Scatter", lambda: go.Scatter(x=x[:, 0], y=x[:, 1], name=name, **(style | kwargs))
    )


def curve_trace(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    name: str | None = None,
    **kwargs,
) -> go.Scatter:
    """A curve y(x) as lines with markers at the data points (e.g. an error against the number of steps).

    NaN in y is allowed (a gap in the curve); x and y must have the same length.
    """
    _check_name(name)
    x = check_tensor("x", x, max_ndim=1, finite=False, float_dtype=torch.float64)
    y = check_tensor("y", y, max_ndim=1, finite=False, float_dtype=torch.float64)
    if x.shape != y.shape:
        raise ValueError(f"y must have as many entries as x ({len(x)}), got {len(y)}")
    x, y = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    style = dict(mode="lines+markers", marker=dict(size=6), showlegend=name is not None)
    return _draw(
        "plotly Scatter",
        lambda: go.Scatter(
            x=np.asarray(x, dtype=float),
            y=np.asarray(y, dtype=float),
            name=name,
            **(style | kwargs),
        ),
    )


def points_layout(
    extent: Extent = (-1.6, 1.6, -1.6, 1.6),
    size: int = 480,
    legend_below_slider: bool = False,
    **kwargs,
) -> dict[str, Any]:
    """Layout for 2-D point clouds: fixed axes over extent = (x_min, x_max, y_min, y_max), equal aspect.

    The figure is ``size + 110`` pixels high (the square plot, its legend and
    slider) and as wide as the page allows: no fixed width, so that on a phone
    it shrinks with the column (``autosize`` with plotly.js's ``responsive``
    config, `PLOTLY_CONFIG`) instead of overflowing it; the equal aspect keeps
    the plot square.  The ranges stay fixed as a slider switches frames.  The legend goes above
    the plot, or with ``legend_below_slider`` under the slider of
    `slider_figure` / `dropdown_slider_figure` (for long legend entries that
    would collide with a dropdown menu above the plot).  ``kwargs`` are added
    to the layout (e.g. ``title``).
    """
    extent = _check_extent(extent)
    size = check_integer("size", size, 1)
    legend_below_slider = check_bool("legend_below_slider", legend_below_slider)
    legend = dict(orientation="h", x=0, y=1.0, yanchor="bottom")
    margin = dict(l=40, r=20, t=70, b=40)
    if legend_below_slider:
        # Below the x tick labels and the slider (about 130 px under the axes).
        legend, margin = dict(orientation="h", x=0, y=-0.42, yanchor="top"), margin | dict(b=90)
    return (
        dict(
            xaxis=dict(range=list(extent[:2]), constrain="domain", zeroline=False),
            yaxis=dict(
                range=list(extent[2:]),
                scaleanchor="x",
                scaleratio=1,
                constrain="domain",
                zeroline=False,
            ),
            legend=legend,
            autosize=True,
            height=size + 110,
            margin=margin,
        )
        | kwargs
    )


def log_layout(
    x_title: str,
    y_title: str,
    *,
    log_x: bool = True,
    log_y: bool = True,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    **kwargs,
) -> dict[str, Any]:
    """Layout for curves on log axes, titled; ranges in data units (converted to log10 for log axes).

    Give the ranges when a slider or dropdown switches curves, so the axes stay put.
    A range on a log axis must be positive.
    """
    _check_label("x_title", x_title)
    _check_label("y_title", y_title)
    log_x, log_y = check_bool("log_x", log_x), check_bool("log_y", log_y)
    x_range = None if x_range is None else _check_interval("x_range", x_range, positive=log_x)
    y_range = None if y_range is None else _check_interval("y_range", y_range, positive=log_y)

    def axis(title, log, rng):
        out = dict(title=dict(text=title), type="log" if log else "linear", exponentformat="power")
        if rng is not None:
            out["range"] = [float(np.log10(v)) if log else float(v) for v in rng]
        return out

    return dict(xaxis=axis(x_title, log_x, x_range), yaxis=axis(y_title, log_y, y_range)) | kwargs
