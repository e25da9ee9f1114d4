"""The claims ledger end to end (`_ext/ledger.py`): small books whose pages record claims with
`record_claim` and whose last page shows the ledger.  Every claim a page records is in the
ledger, with its numbers, verdict and a link to where it is measured; the counts add up; and an
id recorded on two pages fails the strict build."""

from __future__ import annotations

import re

import pytest
from helpers import NOTEBOOK_HEADER as HEADER
from helpers import build_scratch_book


def recording_page(title: str, label: str, claims: list[tuple[str, str, str]]) -> str:
    """A notebook page that records claims (id, measured expression, verdict) in one cell,
    the measured number computed in the cell, with a labelled section as their target."""
    calls = "\n".join(
        f'record_claim("{cid}", "3", "Sec. 3", "A statement {cid}.", "7.3×", {measured}, '
        f'"{verdict}", "because {cid}", target="{label}")'
        for cid, measured, verdict in claims
    )
    return f"""{HEADER}
# {title}

({label})=
## Where it is measured

```{{code-cell}} ipython3
from edm_src.instruments.claims import record_claim
ratio = 2.0 ** 0.5
{calls}
```
"""


LEDGER_PAGE = f"""{HEADER}
# Ledger

Of {{claims-count}}`all` claims, {{claims-count}}`reproduced` are reproduced and
{{claims-count}}`not testable` cannot be tested. The first speed-up is {{claim}}`speed-a`,
{{claim-verdict}}`speed-a`.

```{{claims-ledger}}
```
"""

TOC = "format: jb-book\nroot: ledger\nchapters:\n  - file: a\n  - file: b\n"


@pytest.fixture(scope="module")
def ledger_site(tmp_path_factory):
    book = tmp_path_factory.mktemp("ledger_book")
    pages = {
        "a.md": recording_page(
            "Page A",
            "sec-a",
            [
                ("speed-a", 'f"{ratio:.3f}×"', "direction"),
                ("order-a", 'f"order {1 + ratio:.2f}"', "reproduced"),
            ],
        ),
        "b.md": recording_page(
            "Page B", "sec-b", [("noise-b", 'f"sd {ratio / 10:.2g}"', "not testable")]
        ),
        "ledger.md": LEDGER_PAGE,
    }
    run = build_scratch_book(book, pages, TOC)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert "WARNING:" not in log, log[-4000:]
    return book / "_build" / "html"


@pytest.mark.book  # builds a three-page book (about 20 s)
def test_every_recorded_claim_is_a_ledger_row_with_its_numbers(ledger_site):
    """Each claim recorded on a page is one row of the ledger, with the number the page
    computed (√2 formatted there), its verdict, and a link to the label it names."""
    html = (ledger_site / "ledger.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr id="claim-([a-z0-9-]+)" class="edm-claim">(.*?)</tr>', html, re.S))
    assert set(rows) == {"speed-a", "order-a", "noise-b"}
    assert "1.414×" in rows["speed-a"] and "reproduced in direction, not in size" in rows["speed-a"]
    assert "order 2.41" in rows["order-a"] and "sd 0.14" in rows["noise-b"]
    assert 'href="a.html#sec-a"' in rows["speed-a"] and 'href="b.html#sec-b"' in rows["noise-b"]
    assert html.index('id="claim-speed-a"') < html.index('id="claim-noise-b"')  # page order


@pytest.mark.book
def test_the_counts_and_the_claim_roles_come_from_the_same_claims(ledger_site):
    """{claims-count} gives 3 claims, 1 reproduced, 1 not testable; {claim} prints a claim's
    measured number linked to its row, {claim-verdict} its verdict."""
    html = (ledger_site / "ledger.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    assert "Of 3 claims, 1 are reproduced and\n1 cannot be tested" in text or re.search(
        r"Of 3 claims, 1 are reproduced and\s+1 cannot be tested", text
    )
    assert re.search(r'<a class="[^"]*edm-claim-ref[^"]*" href="#claim-speed-a">1\.414×</a>', html)
    assert re.search(r">reproduced in direction, not in size</a>", html)


@pytest.mark.book  # builds a two-page book (about 15 s)
def test_an_id_recorded_on_two_pages_fails_the_build(tmp_path):
    """Two pages recording the same id: the strict build fails and names the id and pages."""
    pages = {
        "a.md": recording_page("Page A", "sec-a", [("speed-a", '"1.4×"', "direction")]),
        "b.md": recording_page("Page B", "sec-b", [("speed-a", '"2.0×"', "direction")]),
        "ledger.md": "# Ledger\n\n```{claims-ledger}\n```\n",
    }
    run = build_scratch_book(tmp_path, pages, TOC)
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert "id 'speed-a' is recorded twice: in a and in b" in log, log[-3000:]
