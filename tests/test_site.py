"""Checks on the built site (`make test` runs them after a clean strict build).

Every page listed in _toc.yml must have been rendered, show no error output,
and have all its images on disk.  Run `make book` (or `make test`) first.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "scripts"))

from chapter_times import toc_chapters  # noqa: E402  (the reader the budget checks use)


def toc_files() -> list[str]:
    """Every document named in _toc.yml: the root, then each part's chapters and sections."""
    return [entry for chapter in toc_chapters() for entry in chapter]


class PageParser(HTMLParser):
    """Collects image sources and the classes of elements that hold cell outputs."""

    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if attrs.get("class"):
            self.classes.append(attrs["class"])


@pytest.fixture(scope="module")
def pages():
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML} has no index.html: build the book first with `make book`")
    return toc_files()


def test_every_page_rendered_without_errors(pages):
    """Each listed page was rendered, has no error/stderr output and no unrendered glue."""
    problems = []
    for page in pages:
        path = HTML / f"{page}.html"
        if not path.exists():
            problems.append(f"{page}: not rendered ({path} missing)")
            continue
        text = path.read_text(encoding="utf-8")
        parser = PageParser()
        parser.feed(text)
        bad = [c for c in parser.classes if re.search(r"\b(traceback|stderr|output_error)\b", c)]
        if bad:
            problems.append(f"{page}: error output ({bad[:3]})")
        if "Traceback (most recent call last)" in text:
            problems.append(f"{page}: a traceback is shown")
        if re.search(r"\{glue:?\w*\}", text):
            problems.append(f"{page}: unrendered glue role")
        for src in parser.images:
            if (
                not src.startswith(("http:", "https:", "data:"))
                and not (path.parent / src).resolve().exists()
            ):
                problems.append(f"{page}: image {src} missing")
    assert not problems, "\n".join(problems)


def test_chapters_have_figures(pages):
    """Every chapter page (book/NN_*) shows at least one figure rendered by its code."""
    for page in pages:
        if re.match(r"book/\d\d_", page):
            parser = PageParser()
            parser.feed((HTML / f"{page}.html").read_text(encoding="utf-8"))
            assert any("_images/" in src for src in parser.images), f"{page} has no executed figure"


def _soup(page: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup((HTML / f"{page}.html").read_text(encoding="utf-8"), "html.parser")


def _chapter_pages(pages: list[str]) -> list[str]:
    return [p for p in pages if re.match(r"book/\d\d_", p)]


def test_figures_and_equations_are_numbered(pages):
    """Every figure caption on a chapter page carries its number (Fig. N.k), and the chapters
    that number equations show the numbers."""
    unnumbered, equations = [], 0
    for page in _chapter_pages(pages):
        soup = _soup(page)
        for caption in soup.select("figure figcaption"):
            if not caption.select_one("span.caption-number"):
                unnumbered.append(f"{page}: {caption.get_text(' ', strip=True)[:60]}")
        equations += len(soup.select("span.eqno"))
    assert not unnumbered, "figures without a number:\n" + "\n".join(unnumbered)
    assert equations >= 5, f"only {equations} numbered equations in the chapters"


def test_citations_resolve_to_the_bibliography(pages):
    """The bibliography page lists entries, and every citation link in a chapter points at one."""
    bibliography = _soup("book/references")
    entries = {el["id"] for el in bibliography.select("[role=doc-biblioentry]") if el.get("id")}
    assert entries, "the references page lists no bibliography entries"
    broken = []
    for page in _chapter_pages(pages):
        for link in _soup(page).select("a[href*='references.html#']"):
            anchor = link["href"].split("#", 1)[1]
            if anchor not in entries:
                broken.append(f"{page}: {link['href']}")
    assert not broken, "citations to missing entries:\n" + "\n".join(broken)


def test_sidebar_lists_every_page(pages):
    """The navigation sidebar of the home page links every page of _toc.yml."""
    sidebar = _soup("index").select_one(".bd-sidebar-primary")
    assert sidebar is not None, "index.html has no primary sidebar"
    linked = {a["href"].split("#")[0].removesuffix(".html") for a in sidebar.select("a[href]")}
    missing = [p for p in pages[1:] if p not in linked]
    assert not missing, f"pages missing from the sidebar: {missing}"


def test_repository_and_issue_buttons(pages):
    """Every page has the repository button and the open-an-issue button, aimed at the
    repository of _config.yml."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    for page in pages:
        hrefs = [a["href"] for a in _soup(page).select("a[href]")]
        assert repo in hrefs, f"{page}: no repository button ({repo})"
        assert any(h.startswith(f"{repo}/issues/new") for h in hrefs), f"{page}: no issue button"


def _code_cells(notebook) -> list[str]:
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def test_chapter_notebooks_download_and_launch(pages):
    """Each chapter offers an .ipynb download, generated with jupytext: a valid notebook with the
    set-up cell first and then exactly the chapter's code cells.  Its Binder and Colab buttons
    open that notebook, not the .md source."""
    import jupytext
    import nbformat

    chapters = _chapter_pages(pages)
    assert chapters
    for page in chapters:
        path = HTML / "_sources" / f"{page}.ipynb"
        assert path.is_file(), f"{page}: no notebook download at {path}"
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        source = jupytext.read(ROOT / f"{page}.md", fmt="md:myst")
        code = _code_cells(notebook)
        assert "edm-setup" in notebook.cells[1].metadata.get("tags", []), page
        assert code[1:] == _code_cells(source), f"{page}: notebook code differs from the chapter"
        hrefs = [a["href"] for a in _soup(page).select("a[href]")]
        name = Path(page).name
        assert any(h.endswith(f"_sources/{page}.ipynb") for h in hrefs), f"{page}: no .ipynb link"
        binder = [h for h in hrefs if h.startswith("https://mybinder.org/")]
        colab = [h for h in hrefs if h.startswith("https://colab.research.google.com/")]
        assert binder and binder[0].endswith(f"urlpath=lab/tree/{page}.ipynb"), (page, binder)
        assert colab and colab[0].endswith(f"/blob/notebooks/{page}.ipynb"), (page, colab)
        assert name in colab[0]
