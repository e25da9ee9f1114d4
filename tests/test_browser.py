"""The built site in a real browser: Chromium, driven by Playwright, with no network.

`make test` runs these after the clean strict build.  A local HTTP server
serves ``_build/html``; the browser may reach only that server (every other
request is aborted and reported).  For every page of the site:

- it loads with status 200, with no JavaScript console error, no failed
  request and no request to any other host;
- every image has loaded (natural width > 0);
- every math element was typeset by MathJax and no raw TeX is left in the text;
- no cell shows an error, a traceback or stderr;
- every interactive figure is laid out cleanly (legend, slider, menu and plot
  do not overlap or stick out of the figure) and responds: moving its slider,
  or choosing another entry of its dropdown, changes what is plotted.

And on a phone's screen (390 px wide): the page is no wider than the screen,
every interactive figure is fitted to the column (``_ext/plotly_fit.js``) and
laid out cleanly, and every table or algorithm too wide for the column shows
the hint that it scrolls sideways (``_static/scroll_cue.js``).

A full-page screenshot of each page goes to ``_build/screenshots/``, so that a
reviewer can look at the site without building it.  Site search is checked
offline too.

The browser is the one `find_chromium` of scripts/ensure_chromium.py finds:
``$EDM_CHROMIUM`` if set, else the first of ``chromium`` (Debian's package),
``chromium-browser``, ``google-chrome`` or ``google-chrome-stable`` on the PATH
that runs, else Playwright's managed Chromium if it is downloaded.  `make test`
runs that script first (`make browser`), which installs one when there is none:
Debian's ``chromium`` with apt-get when run as root, otherwise Playwright's
download.  Without a browser the tests fail, with instructions; set
``EDM_SKIP_BROWSER_TESTS=1`` to skip them on a machine that has none (never on
CI, where they fail regardless).
``EDM_SITE_DIR`` points the tests at another built site than ``_build/html``
(to compare an older build, say).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from ensure_chromium import NO_CHROMIUM, find_chromium  # noqa: E402  (what `make browser` found)

HTML = Path(os.environ.get("EDM_SITE_DIR", ROOT / "_build" / "html"))
SCREENSHOTS = ROOT / "_build" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 30_000


def site_pages() -> list[str]:
    """Every HTML page of the built site, as paths relative to ``_build/html``."""
    skip = ("_static/", "_sources/", "_images/")
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).as_posix().startswith(skip)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The site on a local HTTP server; yields its base URL."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML} has no index.html: build the book first (`make book`)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium: the system's, or Playwright's managed one (`find_chromium`)."""
    found = find_chromium()
    if found is None or not Path(found.path).exists():
        message = f"{NO_CHROMIUM}; `make browser` installs one"
        if os.environ.get("EDM_SKIP_BROWSER_TESTS") == "1" and not os.environ.get("CI"):
            pytest.skip(message)
        pytest.fail(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=found.path, headless=True, args=BROWSER_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What happened while a page loaded: the problems found, by kind."""

    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def context(browser, server):
    """One browsing context for the whole site, like a reader moving between pages.

    Every request to a host other than the local server is aborted and
    recorded on the current `Visit` (``context.visit``).
    """
    yield from _browsing_context(browser, server, {"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def phone(browser, server):
    """The same on a phone's screen (`PHONE`)."""
    yield from _browsing_context(browser, server, PHONE)


def _browsing_context(browser, server, viewport: dict):
    """A browsing context of that viewport that may reach only the local server."""
    ctx = browser.new_context(viewport=viewport)
    ctx.set_default_timeout(TIMEOUT_MS)

    def route(route_):
        url = route_.request.url
        if url.startswith(server) or url.startswith("data:") or url.startswith("blob:"):
            route_.continue_()
        else:
            ctx.visit.foreign_requests.append(url)
            route_.abort()

    ctx.route("**/*", route)
    yield ctx
    ctx.close()


def open_page(context, url: str):
    """Open ``url`` in a new tab, recording errors; wait for the page, its fonts and MathJax."""
    visit = context.visit = Visit()
    page = context.new_page()
    page.on(
        "console",
        lambda msg: visit.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            None
            if request.url in visit.foreign_requests
            else visit.failed_requests.append(f"{request.url} ({request.failure})")
        ),
    )
    page.on(
        "response",
        lambda response: (
            visit.failed_requests.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    response = page.goto(url, wait_until="load")
    visit.status = response.status if response else None
    # Fonts, then MathJax's first typesetting pass (pages with math load it).
    page.evaluate(
        "async () => { await document.fonts.ready;"
        " if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        " await MathJax.startup.promise; }"
    )
    return page, visit


UNLOADED_IMAGES = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return images.filter(img => !(img.complete && img.naturalWidth > 0))
               .map(img => img.getAttribute("src"));
}"""

RAW_MATH = r"""() => {
  const problems = [];
  const math = [...document.querySelectorAll(".math")];
  for (const el of math)
    if (!el.querySelector("mjx-container")) problems.push("not typeset: " + el.textContent.slice(0, 60));
  const raw = /\$\$|\\\(|\\\)|\\\[|\\\]|\\(sigma|frac|mathrm|mathbf|nabla|operatorname|left|right)\b/;
  const root = document.querySelector("main") || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, script, style, textarea, mjx-container, .highlight"))
      continue;
    if (raw.test(node.textContent)) problems.push("raw TeX: " + node.textContent.trim().slice(0, 60));
  }
  return {count: math.length, problems};
}"""

CELL_ERRORS = """() => {
  const bad = [...document.querySelectorAll(
      ".output.error, .output.traceback, .output.stderr, .cell_output .stderr")];
  const text = document.body.innerText.includes("Traceback (most recent call last)");
  return bad.map(el => el.className).concat(text ? ["a traceback is shown"] : []);
}"""

# What is plotted: the traces' SVG (markers, lines), not the controls' own drawing.
PLOTTED = "id => document.getElementById(id).querySelector('.cartesianlayer').innerHTML"


def _screenshot_name(page_path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", page_path.removesuffix(".html")) + ".png"


def _wait_for_change(page, div_id: str, before: str, what: str) -> str | None:
    """None once the plotted SVG of figure ``div_id`` differs from ``before``, else a problem."""
    try:
        page.wait_for_function(
            "([id, before]) => document.getElementById(id)"
            ".querySelector('.cartesianlayer').innerHTML !== before",
            arg=[div_id, before],
            timeout=5_000,
        )
    except Exception:
        return f"figure {div_id}: {what} did not change what is plotted"
    return None


FIGURE_PARTS = """async id => {
  const div = document.getElementById(id);
  // Settle first: the full-page screenshot resizes the window, and a responsive figure
  // re-lays itself out after a resize; measuring mid-way once saw a panel past the edge.
  await Plotly.Plots.resize(div);
  const box = el => { const r = el.getBoundingClientRect();
                      return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; };
  const parts = {};
  // The plot areas (one per subplot: their drag rectangles), the legend, the slider, the
  // dropdown menu's header and any annotation (such as a label beside the menu).
  for (const [name, sel] of [["plot", ".draglayer .nsewdrag"], ["legend", "g.legend"],
                             ["slider", "g.slider-container"], ["menu", "g.updatemenu-header-group"],
                             ["annotation", "g.annotation"]]) {
    div.querySelectorAll(sel).forEach((el, i) => {
      if (el.getBoundingClientRect().width > 0) parts[`${name} ${i + 1}`] = box(el);
    });
  }
  return {div: box(div), parts};
}"""


def figure_layout_problems(page, div_id: str) -> list[str]:
    """The figure's legend, slider, menu and plot do not overlap, and none sticks out of the figure."""
    layout = page.evaluate(FIGURE_PARTS, div_id)
    outer, parts = layout["div"], layout["parts"]
    problems = []
    for name, r in parts.items():
        if r["x0"] < outer["x0"] - 1 or r["x1"] > outer["x1"] + 1:
            problems.append(f"figure {div_id}: its {name} is cut off at the figure's edge")
    names = sorted(parts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = parts[a], parts[b]
            overlap_x = min(ra["x1"], rb["x1"]) - max(ra["x0"], rb["x0"])
            overlap_y = min(ra["y1"], rb["y1"]) - max(ra["y0"], rb["y0"])
            if overlap_x > 2 and overlap_y > 2:
                problems.append(f"figure {div_id}: its {a} and {b} overlap")
    return problems


def exercise_figure(page, div_id: str) -> list[str]:
    """Move the figure's slider, then pick another dropdown entry, as a reader would."""
    problems = []
    figure = page.locator(f"#{div_id}")
    figure.scroll_into_view_if_needed()
    has_slider = figure.locator(".slider-rail-touch-rect").count() > 0
    has_dropdown = figure.locator(".updatemenu-header-group").count() > 0
    if not (has_slider or has_dropdown):
        return [f"figure {div_id}: no slider and no dropdown"]
    if has_slider:
        steps = page.evaluate(
            "id => { const s = document.getElementById(id).layout.sliders[0];"
            " return [s.steps.length, s.active || 0]; }",
            div_id,
        )
        count, active = steps
        target = count - 1 if active < count / 2 else 0
        box = figure.locator(".slider-rail-touch-rect").first.bounding_box()
        x = box["x"] + box["width"] * (target + 0.5) / count
        before = page.evaluate(PLOTTED, div_id)
        page.mouse.click(x, box["y"] + box["height"] / 2)
        if problem := _wait_for_change(page, div_id, before, "moving the slider"):
            problems.append(problem)
    if has_dropdown:
        before = page.evaluate(PLOTTED, div_id)
        figure.locator(".updatemenu-header-group").first.click()
        buttons = figure.locator(".updatemenu-dropdown-button-group .updatemenu-dropdown-button")
        active = page.evaluate(
            "id => document.getElementById(id).layout.updatemenus[0].active || 0", div_id
        )
        if buttons.count() < 2:
            problems.append(f"figure {div_id}: the dropdown offers fewer than two entries")
        else:
            buttons.nth(1 if active == 0 else 0).click()
            if problem := _wait_for_change(page, div_id, before, "choosing in the dropdown"):
                problems.append(problem)
    return problems


def test_site_has_pages():
    """The site was built and has the root page, the chapter pages, search and the index."""
    pages = site_pages()
    for page in ("index.html", "search.html", "genindex.html", "book/01_introduction.html"):
        assert page in pages, f"{page} missing from {HTML}: build the book first (`make book`)"


@pytest.mark.parametrize("page_path", site_pages() or ["index.html"])
def test_page_in_browser(context, server, page_path):
    """The page loads offline with no console error, all images, typeset math, no cell errors,
    and working interactive figures; its full-page screenshot is saved."""
    page, visit = open_page(context, server + page_path)
    problems = []
    if visit.status != 200:
        problems.append(f"status {visit.status}")
    problems += [f"image not loaded: {src}" for src in page.evaluate(UNLOADED_IMAGES)]
    math = page.evaluate(RAW_MATH)
    problems += math["problems"]
    problems += [f"cell error: {c}" for c in page.evaluate(CELL_ERRORS)]
    # Plotly draws each figure into its div (which then gets class js-plotly-plot).
    figures = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].map(d => d.id)"
    )
    for div_id in figures:
        page.wait_for_selector(f"#{div_id}.js-plotly-plot .cartesianlayer", state="attached")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / _screenshot_name(page_path)), full_page=True)
    for div_id in figures:
        problems += figure_layout_problems(page, div_id)
        problems += exercise_figure(page, div_id)
    problems += [f"console error: {e}" for e in visit.console_errors]
    problems += [f"failed request: {r}" for r in visit.failed_requests]
    problems += [f"request to another host: {u}" for u in visit.foreign_requests]
    page.close()
    assert not problems, f"{page_path}:\n" + "\n".join(problems)


FITTED = """id => { const div = document.getElementById(id);
  return div.dataset.fittedWidth === String(div.clientWidth); }"""

NO_SCROLL_HINT = """() => [...document.querySelectorAll(
    ".pst-scrollable-table-container, div.proof.algorithm .algorithm-content")]
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .filter(box => { const hint = box.previousElementSibling;
                   return !(hint && hint.matches(".edm-scroll-hint") && !hint.hidden); })
  .map(box => (box.textContent || "").trim().slice(0, 50))"""


@pytest.mark.parametrize("page_path", site_pages() or ["index.html"])
def test_page_on_a_phone(phone, server, page_path):
    """On a 390 px screen the page is no wider than the screen; every interactive figure is
    fitted to its column, with its legend, slider, menu and plot inside it and apart; and every
    table or algorithm wider than the column says that it scrolls sideways."""
    page, visit = open_page(phone, server + page_path)
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"the page is {width} px wide on a {PHONE['width']} px screen")
    figures = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].map(d => d.id)"
    )
    for div_id in figures:
        page.locator(f"#{div_id}").scroll_into_view_if_needed()
        try:
            page.wait_for_function(FITTED, arg=div_id, timeout=10_000)
        except Exception:
            problems.append(f"figure {div_id}: not fitted to its column (plotly_fit.js)")
            continue
        problems += figure_layout_problems(page, div_id)
    problems += [f"scrolls with no hint: {text!r}" for text in page.evaluate(NO_SCROLL_HINT)]
    problems += [f"console error: {e}" for e in visit.console_errors]
    page.close()
    assert not problems, f"{page_path} at {PHONE['width']} px:\n" + "\n".join(problems)


def test_search_works_offline(context, server):
    """The search page finds a word of the book from the local index (searchindex.js)."""
    page, visit = open_page(context, server + "search.html?q=denoiser")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(state="attached")
    hits = [a.get_attribute("href") for a in page.locator("#search-results ul.search li a").all()]
    page.close()
    assert len(hits) >= 3, f"search for 'denoiser' found only {hits}"
    assert any("book/02_refresher" in h for h in hits), hits
    assert not visit.console_errors and not visit.foreign_requests, visit
