"""The shared plotting helpers draw what they claim (checked on their returned data)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from helpers import NOTEBOOK_HEADER, build_scratch_book, raises_naming

from edm_src import toy_mixture  # noqa: E402
from edm_src.instruments.plotting import (  # noqa: E402
    grid_points,
    image_grid,
    plot_density_1d_over_sigma,
    plot_density_2d,
    plot_score_field,
)


def test_image_grid_places_each_image_with_one_pixel_gaps():
    """Image k lands at row k // nrow, column k % nrow; gaps and empty slots are NaN."""
    images = torch.arange(5, dtype=torch.float64)[:, None, None, None].expand(5, 1, 2, 3)
    canvas = image_grid(images, nrow=3)
    assert canvas.shape == (2 * 3 - 1, 3 * 4 - 1)
    for k in range(5):
        r, c = divmod(k, 3)
        assert (canvas[r * 3 : r * 3 + 2, c * 4 : c * 4 + 3] == k).all()
    assert np.isnan(canvas[2]).all() and np.isnan(canvas[:, 3]).all()
    assert np.isnan(canvas[3:, 8:]).all()  # the sixth slot is empty


def test_density_2d_is_the_normalised_density():
    """The drawn p(x; σ) integrates to ≈ 1 over a box holding the mixture (Riemann sum)."""
    fig, ax = plt.subplots()
    extent = (-2.5, 2.5, -2.5, 2.5)
    density = plot_density_2d(ax, toy_mixture("ring", std=0.1), sigma=0.2, extent=extent, n=301)
    cell = (5 / 300) ** 2
    assert abs(density.sum() * cell - 1) < 0.01
    plt.close(fig)


def test_score_field_arrows_point_along_the_score():
    """Arrows are the unit score vectors at the grid points (where the score is not ~0)."""
    fig, ax = plt.subplots()
    ring = toy_mixture("ring")
    quiver = plot_score_field(ax, ring, sigma=0.5, n=5)
    points, _ = grid_points((-1.6, 1.6, -1.6, 1.6), 5)
    score = ring.score(points, 0.5)
    norm = score.norm(dim=1, keepdim=True)
    keep = (norm > 1e-9)[:, 0].numpy()  # the centre of the ring is a critical point
    assert keep.sum() == 24
    arrows = np.stack([quiver.U, quiver.V], 1)
    np.testing.assert_allclose(arrows[keep], (score / norm).numpy()[keep], atol=1e-12)
    plt.close(fig)


def test_density_1d_columns_are_normalised_to_their_maximum():
    """Each σ column of the 1-D heat map has maximum 1 and follows p(x; σ)."""
    fig, ax = plt.subplots()
    line = toy_mixture("line_1d")
    density = plot_density_1d_over_sigma(ax, line, [0.1, 1.0, 3.0], n=101)
    np.testing.assert_allclose(density.max(axis=0), 1.0)
    xs = torch.linspace(-3, 3, 101, dtype=torch.float64)[:, None]
    p = line.log_prob(xs, 1.0).exp().numpy()
    np.testing.assert_allclose(density[:, 1], p / p.max(), rtol=1e-12)
    plt.close(fig)


# --- Interactive figures (plotly) --------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from edm_src.instruments.plotting import (  # noqa: E402
    COLORS,
    PLOTLY_MIMETYPE,
    curve_trace,
    dropdown_slider_figure,
    log_layout,
    points_layout,
    points_trace,
    show_interactive,
    slider_figure,
)

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"https?://", re.IGNORECASE)


def _frames(n_frames=3, per_frame=2):
    """Frames labelled 0.1, 0.2, ... each with per_frame point clouds named by frame and series."""
    rng = np.random.default_rng(0)
    return {
        round(0.1 * (k + 1), 1): [
            points_trace(rng.normal(size=(5, 2)), f"f{k}s{j}") for j in range(per_frame)
        ]
        for k in range(n_frames)
    }


def test_interactive_bundle_has_plotly_json_and_offline_html():
    """Both mimetypes; the HTML draws with the page's global Plotly and references no http(s) URL."""
    fig = slider_figure(_frames(), "σ", layout=points_layout())
    bundle = show_interactive(fig)._repr_mimebundle_()
    assert {PLOTLY_MIMETYPE, "text/html", "text/plain"} <= set(bundle)
    figure = bundle[PLOTLY_MIMETYPE]
    json.dumps(figure)  # plain JSON
    assert (
        len(figure["data"]) == 6
        and figure["layout"]["sliders"]
        and figure["config"]["displaylogo"] is False
    )
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html and "<div" in html and "<script" in html
    assert not URL.search(html), "the HTML must not load or link anything remote"
    assert "src=" not in html  # no script is fetched: plotly.js comes from the site's _static


def test_interactive_html_is_deterministic_with_unique_ids():
    """Same figure → same id prefix (a hash), a fresh suffix per display so ids never collide."""
    fig = slider_figure(_frames(), "σ")
    ids = [re.search(r'id="([^"]+)"', show_interactive(fig).to_html()).group(1) for _ in range(2)]
    assert ids[0] != ids[1]
    assert ids[0].rsplit("-", 1)[0] == ids[1].rsplit("-", 1)[0]


def test_slider_figure_one_step_per_frame_showing_exactly_that_frame():
    """Step k's mask shows the static traces and frame k's traces only; colours agree across frames."""
    frames = _frames(n_frames=4, per_frame=2)
    static = [curve_trace([0, 1], [0, 1], "reference")]
    fig = slider_figure(frames, "σ", static=static, active=2)
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == [str(v) for v in frames]
    assert slider.active == 2
    names = [t.name for t in fig.data]
    for k, step in enumerate(slider.steps):
        (visible,) = step.args
        mask = visible["visible"]
        assert len(mask) == len(fig.data)
        shown = {name for name, v in zip(names, mask) if v}
        assert shown == {"reference", f"f{k}s0", f"f{k}s1"}
    # the figure starts at the active step
    assert [bool(t.visible) for t in fig.data] == slider.steps[2].args[0]["visible"]
    # series j has the same colour in every frame; the static trace took the first colour
    assert fig.data[0].line.color == COLORS[0]
    for k in range(4):
        assert [fig.data[1 + 2 * k + j].marker.color for j in range(2)] == COLORS[1:3]


def test_slider_figure_keeps_explicit_colours_and_layout():
    fig = slider_figure(
        {1: [points_trace(np.zeros((2, 2)), "a", marker=dict(color="black"))]},
        "N",
        layout=points_layout((-2, 2, -1, 1)),
    )
    assert fig.data[0].marker.color == "black"
    assert list(fig.layout.xaxis.range) == [-2, 2] and list(fig.layout.yaxis.range) == [-1, 1]
    assert fig.layout.yaxis.scaleanchor == "x"
    with pytest.raises(ValueError):
        slider_figure({}, "N")


def test_points_layout_is_responsive():
    """Point clouds fill the column's width on any screen: no fixed width (a phone's column is
    narrower than 480 px), autosize, a fixed height, and plotly.js's responsive config."""
    layout = points_layout(size=480)
    assert "width" not in layout and layout["autosize"] is True and layout["height"] == 590
    html = show_interactive(slider_figure(_frames(), "σ", layout=layout)).to_html("div-id")
    assert '"responsive": true' in html.replace('"responsive":true', '"responsive": true')
    assert "width:100%" in html.replace(" ", "")


def test_dropdown_slider_figure_masks_per_choice():
    """Each choice has its own slider over its own values; every mask shows exactly one (choice, value)."""
    rng = np.random.default_rng(1)
    frames = {
        solver: {n: [curve_trace(rng.random(3), rng.random(3), f"{solver}-{n}")] for n in steps}
        for solver, steps in {"Euler": [4, 8, 16], "Heun": [2, 4]}.items()
    }
    fig = dropdown_slider_figure(
        frames,
        "solver",
        "steps",
        active=(1, 5),
        layout=log_layout("NFE", "error", x_range=(1, 100)),
    )
    names = [t.name for t in fig.data]
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["solver: Euler", "solver: Heun"] and menu.active == 1
    for button, (solver, steps) in zip(menu.buttons, frames.items()):
        visible, relayout = button.args
        (slider,) = relayout["sliders"]
        assert [s["label"] for s in slider["steps"]] == [str(n) for n in steps]
        start = min(5, len(steps) - 1)  # active slider position clamped per choice
        assert slider["active"] == start
        assert [n for n, v in zip(names, visible["visible"]) if v] == [
            f"{solver}-{list(steps)[start]}"
        ]
        for step, n in zip(slider["steps"], steps):
            assert [m for m, v in zip(names, step["args"][0]["visible"]) if v] == [f"{solver}-{n}"]
    assert fig.layout.sliders[0].steps[0].label == "2"  # the Heun slider is shown first
    assert [n for n, t in zip(names, fig.data) if t.visible] == ["Heun-4"]
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.range) == [0, 2]


SCRATCH_PAGE = (
    NOTEBOOK_HEADER
    + """

# Interactive figures

```{code-cell} ipython3
import numpy as np
from myst_nb import glue
from edm_src.instruments.plotting import (curve_trace, log_layout, points_layout, points_trace,
                              show_interactive, slider_figure)

rng = np.random.default_rng(0)
frames = {s: [points_trace(rng.normal(size=(200, 2)) * s, "samples")] for s in (0.2, 0.5, 1.0)}
show_interactive(slider_figure(frames, "σ", layout=points_layout()))
```

```{code-cell} ipython3
curves = {n: [curve_trace([1, 10, 100], np.array([1.0, 0.1, 0.01]) / n, f"N={n}")] for n in (1, 2, 4)}
glue("scratch_curves", show_interactive(slider_figure(curves, "N", layout=log_layout("x", "y"))), display=False)
```

```{glue:figure} scratch_curves
:name: fig-scratch-curves

A glued interactive figure with a caption.
```
"""
)


@pytest.fixture(scope="module")
def scratch_site(tmp_path_factory) -> Path:
    """A one-page book built with the book's own _config.yml (strict), holding interactive figures."""
    book = tmp_path_factory.mktemp("plotly_book")
    toc = "format: jb-book\nroot: scratch\n"
    run = build_scratch_book(book, {"scratch.md": SCRATCH_PAGE}, toc)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert "WARNING:" not in log, log[-4000:]  # Sphinx warnings (not the kernel's own log lines)
    return book / "_build" / "html"


@pytest.mark.book  # builds a one-page book (about 10 s)
def test_built_page_loads_plotly_from_the_site_not_a_cdn(scratch_site):
    """The page loads _static/plotly.min.js (the installed plotly's own copy) and nothing from a
    CDN, then _static/plotly_fit.js (_ext's copy), which fits the figures to the column."""
    html = (scratch_site / "scratch.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    names = [s.split("?")[0] for s in scripts]
    assert any(re.fullmatch(r"_static/plotly\.min\.js(\?v=\w+)?", s) for s in scripts), scripts
    assert names.index("_static/plotly_fit.js") > names.index("_static/plotly.min.js"), scripts
    fit = (ROOT / "_ext" / "plotly_fit.js").read_bytes()
    assert (scratch_site / "_static" / "plotly_fit.js").read_bytes() == fit
    assert not [s for s in scripts if URL.match(s) or s.startswith("//")], scripts
    assert "cdn.plot.ly" not in html and "https://cdn" not in html
    import plotly

    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (scratch_site / "_static" / "plotly.min.js").read_bytes() == shipped.read_bytes()


@pytest.mark.book  # builds a one-page book (about 10 s)
def test_built_page_shows_the_html_outputs_and_the_glued_figure(scratch_site):
    """text/html was chosen for both figures (not the JSON), and the glued one sits in a captioned figure."""
    html = (scratch_site / "scratch.html").read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot(") == 2
    assert PLOTLY_MIMETYPE not in html
    figure = re.search(r'<figure[^>]*id="fig-scratch-curves".*?</figure>', html, re.S)
    assert figure and "Plotly.newPlot(" in figure.group(0)
    assert "A glued interactive figure with a caption." in figure.group(0)


# --- explorable: one frame function, precomputed in the build, live in a kernel ------

import base64  # noqa: E402

import ipywidgets  # noqa: E402

from edm_src.instruments.plotting import (  # noqa: E402
    BOOK_BUILD_ENV,
    InteractiveFigure,
    explorable,
    in_book_build,
)

SOLVERS = {"Euler": 1.0, "Heun": 2.0}
STEPS = (2, 4, 8)


class RecordingFrames:
    """A frame function that records its calls: one curve y = scale · value · x, named by its arguments."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, *args):
        self.calls.append(args)
        scale = SOLVERS[args[0]] if len(args) == 2 else 1.0
        value = args[-1]
        x = np.array([1.0, 2.0, 3.0])
        return [curve_trace(x, scale * value * x, "-".join(map(str, args)))]


def _plotted(box: ipywidgets.VBox) -> dict:
    """The figure the live widget's Output shows now (the plotly mimetype's JSON)."""
    (output,) = [w for w in box.children if isinstance(w, ipywidgets.Output)]
    (shown,) = output.outputs
    return shown["data"][PLOTLY_MIMETYPE]


def _controls(box: ipywidgets.VBox) -> dict:
    """The live widget's controls by type: Dropdown and SelectionSlider."""
    (row,) = [w for w in box.children if isinstance(w, ipywidgets.HBox)]
    return {type(w).__name__: w for w in row.children}


def test_explorable_build_precomputes_every_frame_as_the_dropdown_slider_figure():
    """live=False: an InteractiveFigure whose (choice, value) masks show exactly compute(choice, value)."""
    compute = RecordingFrames()
    static = [curve_trace([1, 3], [0, 0], "reference")]
    shown = explorable(
        compute, ("steps", STEPS), ("solver", SOLVERS), static=static, active=(1, 2), live=False
    )
    assert isinstance(shown, InteractiveFigure)
    assert compute.calls == [(s, n) for s in SOLVERS for n in STEPS]  # every frame, in order
    fig = shown.figure
    expected = dropdown_slider_figure(
        {s: {n: compute(s, n) for n in STEPS} for s in SOLVERS},
        "solver",
        "steps",
        static=static,
        active=(1, 2),
    )
    assert fig.to_plotly_json() == expected.to_plotly_json()
    (menu,) = fig.layout.updatemenus
    for button, solver in zip(menu.buttons, SOLVERS):
        (slider,) = button.args[1]["sliders"]
        for step, n in zip(slider["steps"], STEPS):
            shown_traces = [t for t, v in zip(fig.data, step["args"][0]["visible"]) if v]
            assert [t.name for t in shown_traces] == ["reference", f"{solver}-{n}"]
            (frame,) = compute(solver, n)
            np.testing.assert_array_equal(shown_traces[1].y, frame.y)


def test_explorable_build_without_dropdown_is_the_slider_figure():
    """No dropdown: compute(value) is called for each value and the result is slider_figure's."""
    compute = RecordingFrames()
    shown = explorable(compute, ("steps", STEPS), active=1, layout=points_layout(), live=False)
    assert compute.calls == [(n,) for n in STEPS]
    expected = slider_figure(
        {n: compute(n) for n in STEPS}, "steps", layout=points_layout(), active=1
    )
    assert shown.figure.to_plotly_json() == expected.to_plotly_json()


def test_explorable_live_computes_only_the_frames_asked_for_and_memoises_them():
    """live=True: a widget; only the shown frame is computed; each control change computes that frame once."""
    compute = RecordingFrames()
    static = [curve_trace([1, 3], [0, 0], "reference")]
    layout = log_layout("x", "y", x_range=(1, 10), y_range=(1, 100))
    box = explorable(
        compute,
        ("steps", STEPS),
        ("solver", SOLVERS),
        static=static,
        layout=layout,
        active=(0, 1),
        live=True,
    )
    assert isinstance(box, ipywidgets.VBox)
    controls = _controls(box)
    menu, slider = controls["Dropdown"], controls["SelectionSlider"]
    assert menu.options == tuple((s, s) for s in SOLVERS)
    assert slider.options == tuple((str(n), n) for n in STEPS)
    assert (menu.value, slider.value) == ("Euler", 4)
    assert compute.calls == [("Euler", 4)]  # the frame shown, nothing else

    def check_plotted(solver, n):
        figure = _plotted(box)
        assert [t["name"] for t in figure["data"]] == ["reference", f"{solver}-{n}"]
        y = figure["data"][1]["y"]  # a typed array: {"dtype": "f8", "bdata": base64}
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        np.testing.assert_array_equal(y, SOLVERS[solver] * n * np.arange(1, 4))
        # the static figure's colours and the fixed axis ranges
        assert figure["data"][0]["line"]["color"] == COLORS[0]
        assert figure["data"][1]["line"]["color"] == COLORS[1]
        assert figure["layout"]["xaxis"]["range"] == [0, 1]
        assert figure["layout"]["yaxis"]["range"] == [0, 2]

    check_plotted("Euler", 4)
    slider.value = 8
    assert compute.calls[-1] == ("Euler", 8)
    check_plotted("Euler", 8)
    menu.value = "Heun"  # the slider keeps its value across choices
    assert compute.calls[-1] == ("Heun", 8)
    check_plotted("Heun", 8)
    slider.value = 2
    menu.value = "Euler"
    slider.value = 4  # seen before: from the memo
    slider.value = 8
    assert compute.calls == [("Euler", 4), ("Euler", 8), ("Heun", 8), ("Heun", 2), ("Euler", 2)]
    check_plotted("Euler", 8)


def test_explorable_live_without_dropdown_calls_compute_with_the_value():
    """Slider only: the widget shows a slider alone and calls compute(value)."""
    compute = RecordingFrames()
    box = explorable(compute, ("steps", STEPS), live=True)
    controls = _controls(box)
    assert set(controls) == {"SelectionSlider"}
    controls["SelectionSlider"].value = 8
    assert compute.calls == [(2,), (8,)]
    assert _plotted(box)["data"][0]["name"] == "8"


def test_explorable_live_on_colab_draws_html_with_plotly_from_its_cdn(monkeypatch):
    """On Colab (no renderer for plotly's mimetype) the live frame is HTML that loads plotly.js
    from plotly's CDN and draws the same traces; elsewhere it is plotly's mimetype."""
    import types

    box = explorable(RecordingFrames(), ("steps", STEPS), live=True)
    assert set(box.children[1].outputs[0]["data"]) == {PLOTLY_MIMETYPE, "text/plain"}
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    box = explorable(RecordingFrames(), ("steps", STEPS), live=True)
    data = box.children[1].outputs[0]["data"]
    assert set(data) == {"text/html", "text/plain"}
    assert re.search(r'<script[^>]+src="https://cdn\.plot\.ly/plotly-[^"]+\.js"', data["text/html"])
    assert '"name":"2"' in data["text/html"]


def test_book_build_is_detected_from_the_environment(monkeypatch):
    """EDM_BOOK_BUILD set (not "" or "0") selects the precomputed figure; unset selects the widget."""
    compute = RecordingFrames()
    monkeypatch.setenv(BOOK_BUILD_ENV, "1")
    assert in_book_build()
    assert isinstance(explorable(compute, ("steps", STEPS)), InteractiveFigure)
    assert isinstance(explorable(compute, ("steps", STEPS), live=True), ipywidgets.VBox)
    for unset in ("", "0"):
        monkeypatch.setenv(BOOK_BUILD_ENV, unset)
        assert not in_book_build()
    monkeypatch.delenv(BOOK_BUILD_ENV)
    assert not in_book_build()
    assert isinstance(explorable(compute, ("steps", STEPS)), ipywidgets.VBox)
    assert isinstance(explorable(compute, ("steps", STEPS), live=False), InteractiveFigure)


def test_book_build_extension_sets_the_kernels_environment(monkeypatch):
    """The book's Sphinx extension sets EDM_BOOK_BUILD=1 at setup, for the kernels it starts,
    and one OpenMP thread unless OMP_NUM_THREADS is already set."""
    monkeypatch.setenv(BOOK_BUILD_ENV, "")  # restored after the test, whatever setup sets
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.syspath_prepend(str(ROOT / "_ext"))
    import kernel_env

    kernel_env.setup(None)
    assert kernel_env.BOOK_BUILD_ENV == BOOK_BUILD_ENV and in_book_build()
    assert os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    kernel_env.setup(None)
    assert os.environ["OMP_NUM_THREADS"] == "2"


def test_explorable_rejects_bad_controls_before_computing():
    """Empty values or choices and an out-of-range or mistyped `active` raise ValueError, computing nothing."""
    compute = RecordingFrames()
    bad = [
        (dict(slider=("steps", ())), "slider values"),
        (dict(slider=("steps", STEPS), dropdown=("solver", {})), "dropdown values"),
        (dict(slider=("steps", STEPS), active=3), "active"),
        (dict(slider=("steps", STEPS), dropdown=("solver", SOLVERS), active=(2, 0)), "active"),
        (dict(slider=("steps", STEPS), active=(0, 1)), "active"),
        (dict(slider=("steps", STEPS), active=1.5), "active"),
        (dict(slider="ab"), "slider"),
        (dict(slider=("steps", [1, 2, 1])), "slider values"),
        (dict(slider=("steps", [1, 1.0])), "slider values"),
        (dict(slider=(3, STEPS)), "slider label"),
        (dict(slider=("steps", STEPS), height=0), "height"),
        (dict(slider=("steps", STEPS), live="yes"), "live"),
    ]
    for kwargs, name in bad:
        for live in (False, True):
            with raises_naming(name):
                explorable(compute, **({"live": live} | kwargs))
    assert compute.calls == []


def test_plot_with_band_draws_the_curve_and_its_two_standard_errors():
    """One line through (x, y) and a band from y − 2·se (clipped at the floor) to y + 2·se."""
    import matplotlib.pyplot as plt

    from edm_src.instruments.plotting import plot_with_band

    fig, ax = plt.subplots()
    plot_with_band(ax, [1.0, 2.0, 3.0], [1.0, 0.5, 2.0], [0.1, 0.5, 0.2])
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [1.0, 0.5, 2.0]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.max() == pytest.approx(2.4) and band.min() == pytest.approx(1e-12)
    plt.close(fig)
