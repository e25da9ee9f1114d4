"""Checks on the built site (`make test` runs them after a clean strict build).

Every page listed in _toc.yml must have been rendered, show no error output,
and have all its images on disk.  Run `make book` (or `make test`) first.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def toc_files() -> list[str]:
    """Every document named in _toc.yml: the root, then each part's chapters and sections."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


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


def test_toc_entries_exist_as_sources(pages):
    """Each _toc.yml entry has a source file (.md or .ipynb)."""
    missing = [
        f for f in pages if not any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml lists pages without a source: {missing}"


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
