"""Print the execution time of each chapter from the build's execution cache, as a Markdown table.

Run after `make book` (or `make test`): `make times`.  The README's table of
chapter execution times is this output.  A page's time is read from the
jupyter-cache record that matches the page's current source, so a page edited
since the last build shows as not executed.  tests/test_budgets.py checks
these times against each page's `execution_budget_s`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
SUFFIXES = (".md", ".ipynb")
BUDGET = "execution_budget_s"  # a page's budget, in its front matter
CHAPTER_BUDGET = "chapter_execution_budget_s"  # a chapter's, with its sections, on its first page


@dataclass
class Page:
    """A page of the table of contents: its entry, its file, its front matter, whether it is executed."""

    entry: str  # as written in _toc.yml, e.g. "book/03_sampling"
    path: Path | None  # None when no file with a known suffix exists
    metadata: dict  # a Markdown page's front matter, or the notebook's metadata
    executed: bool  # a notebook (.ipynb, or MyST Markdown notebook): myst-nb executes it


def read_notebook(path: Path):
    """The notebook that myst-nb executes for `path` (a .ipynb or a MyST Markdown notebook)."""
    if path.suffix == ".ipynb":
        import nbformat

        return nbformat.read(path, as_version=4)
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text())


def toc_chapters(root: Path = ROOT) -> list[list[str]]:
    """_toc.yml's entries, one list per chapter: the root page alone, then each chapter and its sections."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entry: dict) -> list[str]:
        files = [entry["file"]] if "file" in entry else []
        for section in entry.get("sections") or []:
            files += walk(section)
        return files

    chapters = [[toc["root"]]]
    for part in toc.get("parts") or [{"chapters": toc.get("chapters")}]:
        chapters += [walk(chapter) for chapter in part.get("chapters") or []]
    return chapters


def toc_page(entry: str, root: Path = ROOT) -> Page:
    """Resolve one _toc.yml entry to its file and notebook."""
    candidates = [entry] if Path(entry).suffix in SUFFIXES else [entry + s for s in SUFFIXES]
    for path in (root / candidate for candidate in candidates):
        if path.suffix == ".ipynb" and path.is_file():
            return Page(entry, path, dict(read_notebook(path).metadata), executed=True)
        if path.is_file():
            metadata = front_matter(path.read_text())
            return Page(entry, path, metadata, executed=is_myst_notebook(metadata))
    return Page(entry, None, {}, executed=False)


def is_myst_notebook(metadata: dict) -> bool:
    """Whether front matter marks a MyST Markdown notebook (myst-nb's rule, `is_myst_markdown_notebook`)."""
    jupytext = metadata.get("jupytext") or {}
    return metadata.get("file_format") == "mystnb" or (
        (jupytext.get("text_representation") or {}).get("format_name") == "myst"
    )


def front_matter(text: str) -> dict:
    """The YAML front matter of a Markdown text ({} if it has none)."""
    import yaml

    if not text.startswith("---\n") or (end := text.find("\n---", 3)) < 0:
        return {}
    return yaml.safe_load(text[4:end]) or {}


def budgeted(chapters: list[list[Page]]) -> list[tuple[str, list[Page]]]:
    """What must keep to a budget, as (key, pages), the budget `key` being declared by pages[0].

    Each executed page alone (BUDGET), and each chapter with sections and at
    least one executed page: all its pages together (CHAPTER_BUDGET).
    """
    items = [(BUDGET, [page]) for chapter in chapters for page in chapter if page.executed]
    items += [
        (CHAPTER_BUDGET, chapter)
        for chapter in chapters
        if len(chapter) > 1 and any(page.executed for page in chapter)
    ]
    return items


def budget_problem(key: str, pages: list[Page]) -> str | None:
    """Why pages[0] declares no usable budget `key`, or None if it does."""
    value = pages[0].metadata.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return None
    return (
        f"{pages[0].entry} declares no `{key}`: add `{key}: <seconds>` (a positive number) "
        "to the top level of its front matter (see CONTRIBUTING.md, Execution budget)"
    )


def toc_pages(root: Path = ROOT) -> list[list[Page]]:
    """`toc_chapters(root)` with each entry resolved to its Page."""
    return [[toc_page(entry, root) for entry in chapter] for chapter in toc_chapters(root)]


def execution_seconds(page: Page, cache_dir: Path = CACHE) -> float | None:
    """The execution time recorded for the page's current source, or None if it has no such record."""
    from jupyter_cache import get_cache

    try:
        record = get_cache(cache_dir).match_cache_notebook(read_notebook(page.path))
    except KeyError:
        return None
    return record.data.get("execution_seconds")


def main() -> int:
    if not (CACHE / "global.db").exists():
        print(f"error: {CACHE} holds no execution records; run `make book` first", file=sys.stderr)
        return 1
    print("| Chapter | Execution time (s) |")
    print("|---|---|")
    for chapter in toc_pages():
        for page in chapter:
            if not page.executed:
                continue
            seconds = execution_seconds(page)
            shown = "not executed since its last edit" if seconds is None else f"{seconds:.1f}"
            print(f"| `{page.path.relative_to(ROOT)}` | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
