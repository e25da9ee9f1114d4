"""Each chapter executes within the budget its front matter declares (needs a built site).

`make test` runs this module after the build (the `check-site` target); `make
unit` and `make check` leave it out.  A page that myst-nb executes declares
`execution_budget_s: N` at the top level of its front matter; the first page
of a chapter with sections also declares `chapter_execution_budget_s: N`, the
budget of the chapter's pages together.  Times are read from the build's
jupyter-cache (`_build/.jupyter_cache`): the record that matches each page's
current source, as `make times` prints them.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from chapter_times import (  # noqa: E402
    CACHE,
    budget_problem,
    budgeted,
    execution_seconds,
    toc_pages,
)

BUDGETED = budgeted(toc_pages())


def seconds(page) -> float:
    """The page's execution time in the last build; fails when there is no build or no record."""
    if not (CACHE / "global.db").exists():
        pytest.fail(
            f"no execution cache at {CACHE}: build the book first (`make book` or `make test`)"
        )
    measured = execution_seconds(page)
    if measured is None:
        pytest.fail(
            f"{page.path.relative_to(ROOT)} has not been executed since its last edit: "
            "rebuild the book (`make book`) before checking budgets"
        )
    return measured


@pytest.mark.parametrize(
    ("key", "pages"), BUDGETED, ids=[f"{pages[0].entry}:{key}" for key, pages in BUDGETED]
)
def test_within_budget(key, pages):
    """The page (execution_budget_s) or the chapter's pages together (chapter_execution_budget_s)
    executed, in the last build, in at most the budget that its (first) page declares."""
    if problem := budget_problem(key, pages):
        pytest.fail(problem)
    limit = pages[0].metadata[key]
    measured = sum(seconds(page) for page in pages if page.executed)
    assert measured <= limit, (
        f"{' + '.join(page.entry for page in pages)} took {measured:.1f} s to execute; "
        f"the budget ({key} in {pages[0].entry}) is {limit} s"
    )


def test_budgets_found_pages():
    """The table of contents lists at least one executed page, so the budget checks check something."""
    assert BUDGETED, "no executed page found in _toc.yml"
