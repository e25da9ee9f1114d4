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


def test_landing_page_says_where_to_start_and_lists_every_section(pages):
    """The home page gives the clone URL and the two commands, and its contents list every
    page of _toc.yml, the sections of a chapter (3.1 to 3.4) included."""
    article = _soup("index").select_one("article.bd-article")
    assert article is not None, "index.html has no article"
    text = article.get_text(" ", strip=True)
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    assert f"git clone {repo}" in text, f"no `git clone {repo}` on the home page"
    assert "make book" in text and "make test" in text, "the two commands are not on the home page"
    linked = {
        a["href"].split("#")[0].removesuffix(".html")
        for a in article.select(".toctree-wrapper a[href]")
    }
    missing = [p for p in pages[1:] if p not in linked]
    assert not missing, f"pages missing from the home page's contents: {missing}"


def test_one_search_box_per_page(pages):
    """One search field, the sidebar's (pydata-sphinx-theme would add a second to the header);
    below 992 px the theme swaps it for the article header's search icon."""
    for page in pages:
        fields = _soup(page).select(".search-button-field")
        where = [f.find_parent(class_="bd-sidebar-primary") is not None for f in fields]
        assert where == [True], f"{page}: {len(fields)} search fields, in the sidebar: {where}"


def test_figures_have_text_alternatives(pages):
    """Every figure's image has a short description (from its caption), not its file path."""
    bad = []
    for page in _chapter_pages(pages):
        for img in _soup(page).select("figure img"):
            alt = img.get("alt", "")
            if (
                not alt
                or "_images/" in alt
                or re.search(r"\.(png|svg|jpe?g)$", alt)
                or len(alt) > 200
            ):
                bad.append(f"{page}: {img.get('src')}: alt={alt!r}")
    assert not bad, "figures without a text alternative:\n" + "\n".join(bad)


def test_glued_numbers_are_styled_plainly(pages):
    """Every page loads _static/edm.css, which undoes myst-nb's bold for glued numbers."""
    css = (HTML / "_static" / "edm.css").read_text(encoding="utf-8")
    assert re.search(r"span\.pasted-text\s*\{[^}]*font-weight:\s*inherit", css), css
    for page in pages:
        hrefs = [link.get("href", "") for link in _soup(page).select("link[rel=stylesheet]")]
        assert any("_static/edm.css" in h for h in hrefs), f"{page}: edm.css not loaded"


def test_citations_and_bibliography_labels_agree(pages):
    """The bibliography labels an entry as the text cites it ("Song et al. 2021a"); the year of
    every citation, with its letter, is the year of its entry's label; the two Song et al. 2021
    papers are told apart."""
    bibliography = _soup("book/references")
    labels = {}
    for entry in bibliography.select("[role=doc-biblioentry]"):
        label = entry.select_one(".label").get_text("", strip=True).strip("[]")
        assert re.fullmatch(r"\S.* (\d{4}[a-z]?|n\.d\.)", label), (
            f"label {label!r} is not author-year"
        )
        labels[entry["id"]] = label
    assert {"Song et al. 2021a", "Song et al. 2021b"} <= set(labels.values()), labels
    wrong = []
    for page in _chapter_pages(pages):
        for link in _soup(page).select("a[href*='references.html#']"):
            anchor = link["href"].split("#", 1)[1]
            year = link.get_text(" ", strip=True).split()[-1]
            if anchor in labels and year != labels[anchor].split()[-1]:
                wrong.append(f"{page}: {link.get_text(' ', strip=True)!r} -> {labels[anchor]!r}")
    assert not wrong, "citations whose year differs from their entry's label:\n" + "\n".join(wrong)


def test_downloaded_notebooks_read_as_the_page(pages):
    """The .ipynb download reads as the page: no MyST roles or targets left in its prose, each
    glued number formatted as on the page, each glued image figure attached to its Markdown
    cell, and the code cells carry the visible outputs of the build's execution."""
    import json

    import jupytext
    import nbformat
    from jupyter_cache import get_cache
    from myst_nb.ext.glue.roles import format_plain_text

    executed_dir = ROOT / "_build" / "jupyter_execute"
    cache = get_cache(ROOT / "_build" / ".jupyter_cache")  # the executed outputs
    for page in _chapter_pages(pages):
        notebook = nbformat.read(HTML / "_sources" / f"{page}.ipynb", as_version=4)
        prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        left = re.findall(r"\{(?:glue|numref|eq|cite|claims?)[:\w-]*\}`[^`]*`", prose)
        left += re.findall(r"\{claims-ledger\}", prose)
        assert not left, f"{page}: roles left in the notebook's prose: {left[:5]}"
        glue_path = executed_dir / f"{page}.glue.json"
        glue = json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}
        source = (ROOT / f"{page}.md").read_text(encoding="utf-8")
        for content in re.findall(r"\{glue:text\}`([^`]+)`", source):
            key, fmt = content.rsplit(":", 1) if ":" in content else (content, "s")
            record = glue
            if "::" in key:  # another page's value: {glue:text}`04_neural_denoiser.md::key:s`
                other, key = key.split("::")
                other_path = executed_dir / "book" / f"{Path(other).stem}.glue.json"
                record = json.loads(other_path.read_text(encoding="utf-8"))
            value = format_plain_text(record[key]["data"]["text/plain"], fmt)
            assert value in prose, f"{page}: the value of {content} ({value!r}) is not in the prose"
        attached = {name for c in notebook.cells for name in c.get("attachments", {})}
        for key in re.findall(r"\{glue:figure\}\s+(\S+)", source):
            if "image/png" in glue[key]["data"]:
                assert f"{key}.png" in attached, f"{page}: figure {key} is not in the notebook"
        chapter = jupytext.read(ROOT / f"{page}.md", fmt="md:myst")
        executed = cache.get_cache_bundle(cache.match_cache_notebook(chapter).pk).nb
        with_outputs = {
            c.source.strip()
            for c in executed.cells
            if any("scrapbook" not in o.get("metadata", {}) for o in c.get("outputs", []))
        }
        shown = {c.source.strip() for c in notebook.cells if c.get("outputs")}
        assert with_outputs <= shown, f"{page}: {len(with_outputs - shown)} cells lost outputs"
        assert not re.search(r"^\([\w:-]+\)=\s*$", prose, re.MULTILINE), f"{page}: MyST target"


# --------------------------------------------------------------- the claims ledger
LEDGER_PAGE = "book/07_conclusion"


def _recorded_claims() -> dict[str, list]:
    """The claims each page recorded in this build: read from myst-nb's glue store
    (`_build/jupyter_execute/<page>.glue.json`), as `_ext/ledger.py` reads them."""
    import json

    from edm_src.instruments.claims import claims_in_glue

    found = {}
    for page in toc_files():
        path = ROOT / "_build" / "jupyter_execute" / f"{page}.glue.json"
        if path.exists():
            claims = claims_in_glue(json.loads(path.read_text(encoding="utf-8")), page)
            if claims:
                found[page] = claims
    return found


def test_every_recorded_claim_is_in_the_ledger_with_its_numbers(pages):
    """Each claim a chapter recorded is a row of the conclusion's ledger, with the chapter's
    measured number and verdict and a link to the page that measured it; the ledger has no
    other rows, and the summary's counts add up to the rows."""
    from edm_src.instruments.claims import VERDICTS, verdict_counts

    recorded = _recorded_claims()
    claims = [c for page_claims in recorded.values() for c in page_claims]
    assert len(recorded) >= 6 and len(claims) >= 20, sorted(recorded)  # Chapters 2–6 record
    soup = _soup(LEDGER_PAGE)
    rows = {tr["id"][len("claim-") :]: tr for tr in soup.select("tr.edm-claim")}
    assert sorted(rows) == sorted(c.id for c in claims)
    for claim in claims:
        row = rows[claim.id]
        text = " ".join(row.get_text(" ").split())
        assert claim.measured in text and VERDICTS[claim.verdict] in text, (claim.id, text)
        hrefs = [a["href"] for a in row.find_all("a")]
        assert any(h.split("#")[0].endswith(claim.page.split("/")[-1] + ".html") for h in hrefs)
    counts = verdict_counts(claims)
    summary = " ".join(soup.get_text(" ").split())
    expected = (
        f"Of the {len(claims)} claims: reproduced: {counts['reproduced']}; reproduced in "
        f"direction, not in size: {counts['direction']}; not reproduced: "
        f"{counts['not reproduced']}; not testable here: {counts['not testable']}."
    )
    assert sum(counts.values()) == len(rows) and expected in summary, (expected, summary[:300])


def test_the_numbering_page_maps_every_number_the_chapters_cite(pages):
    """Every equation, figure and table number of the paper that a chapter cites ("the
    paper's Eq. N", "Figure N", "Table N") has a row on the numbering page, and each row's
    book reference resolved to a link."""
    cited = set()
    for page in _chapter_pages(pages):
        source = (ROOT / f"{page}.md").read_text(encoding="utf-8")
        cited |= {f"Eq. {n}" for n in re.findall(r"paper's Eqs?\. (\d+)", source)}
        cited |= {f"Figure {n}" for n in re.findall(r"\b(?:Figure|Fig\.) (\d+[ab]?)\b", source)}
        cited |= {f"Table {n}" for n in re.findall(r"\bTable (\d+)\b", source)}
    soup = _soup("book/paper_numbering")
    first_cells = {" ".join(tr.td.get_text(" ").split()) for tr in soup.select("tbody tr")}
    missing = sorted(
        c for c in cited if not any(cell.startswith(c) or cell == c for cell in first_cells)
    )
    assert not missing, f"cited by chapters but not on the numbering page: {missing}"
    for tr in soup.select("tbody tr"):
        assert tr.find_all("td")[-1].find("a"), f"no link in {tr.get_text(' ')[:80]}"
