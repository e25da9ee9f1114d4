"""Serve plotly.js from the book's own site: no CDN, works offline.

A local Sphinx extension (registered in _config.yml under
``sphinx: local_extensions``).  At build time Sphinx copies ``plotly.min.js``
from the installed ``plotly`` package (``plotly/package_data/plotly.min.js``)
into the site's ``_static/`` and every page that draws a plotly figure loads
it with a plain ``<script src="_static/plotly.min.js?v=...">`` in its
``<head>``; the other pages do not load it.  The
interactive figures of ``edm_src.instruments.plotting`` (``InteractiveFigure``) then call
the global ``Plotly`` from their inline scripts.  Nothing from the plotly
package is committed to the repository: the file always matches the installed,
pinned plotly, and its checksum in the URL busts browser caches on upgrades.

The same pages then load ``plotly_fit.js`` (this folder's), which fits each
figure to the text column: it redraws a figure whose drawn width differs from
its column's, and on a phone gives it small margins and its legend under the
slider (see the file's header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

PLOTLY_JS = "plotly.min.js"
FIT_JS = "plotly_fit.js"  # fits the figures to the column, on a phone too


def plotly_fit_js_path() -> Path:
    """The script that fits the figures to the text column (next to this extension)."""
    return Path(__file__).resolve().parent / FIT_JS


def plotly_js_path() -> Path:
    """The plotly.js bundle shipped inside the installed plotly package."""
    return Path(plotly.__file__).parent / "package_data" / PLOTLY_JS


def _add_static_file(app: Sphinx, config: Config) -> None:
    source = plotly_js_path()
    if not source.is_file():
        raise ExtensionError(f"plotly_static: {source} not found; is plotly installed?")
    # A file entry in html_static_path is copied into _static/ as is.  Assign a
    # new list: the default value object must not be mutated.
    fit = plotly_fit_js_path()
    new = [str(path) for path in (source, fit) if str(path) not in config.html_static_path]
    if new:
        config.html_static_path = [*config.html_static_path, *new]


def _load_on_pages_with_figures(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Load plotly.js (4.8 MB) only on the pages that draw a plotly figure."""
    if "Plotly.newPlot" in context.get("body", ""):
        # Synchronous (no async/defer): the figures' inline scripts need `Plotly`
        # defined when they run, and <head> scripts run before the body's.
        app.add_js_file(PLOTLY_JS)
        app.add_js_file(FIT_JS)  # after plotly.js: it calls `Plotly` once the page has loaded


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static_file)
    app.connect("html-page-context", _load_on_pages_with_figures)
    return {"version": plotly.__version__, "parallel_read_safe": True, "parallel_write_safe": True}
