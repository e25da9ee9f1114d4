"""The claims ledger's registry (`edm_src.instruments.claims`): what a chapter records is what
the ledger reads back, an id is one claim in the whole book, and no verdict stands without a
measured number."""

from __future__ import annotations

import pytest
from helpers import CLAIM
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from edm_src.instruments import claims

# A shell, as in a kernel: displays go through its publisher, which capture_output records.
InteractiveShell.instance()


def notebook_of(*recorded: list[dict]) -> dict:
    """An executed notebook whose code cells recorded the given claims (one cell per list),
    with the outputs exactly as `record_claim` displays them in a kernel."""
    cells = []
    for cell_claims in recorded:
        with capture_output() as captured:
            for kwargs in cell_claims:
                claims.record_claim(**kwargs)
        outputs = [
            {"output_type": "display_data", "data": out.data, "metadata": out.metadata}
            for out in captured.outputs
        ]
        cells.append({"cell_type": "code", "source": "", "outputs": outputs})
    cells.append({"cell_type": "markdown", "source": "text"})
    return {"cells": cells, "nbformat": 4}


def test_a_recorded_claim_reads_back_unchanged_with_its_page():
    """record_claim's stored output, read by claims_in_notebook, gives back the same claim
    (whitespace of the text fields normalised), with the page it was read from."""
    other = dict(CLAIM, id="ve-speedup", paper="", statement="  two\n spaces ", target="fig-x")
    read = claims.claims_in_notebook(notebook_of([CLAIM], [other]), "book/03_3")
    assert [c.id for c in read] == ["vp-speedup", "ve-speedup"]
    assert read[0] == claims.make_claim(**CLAIM, page="book/03_3")
    assert read[1].statement == "two spaces" and read[1].paper == "" and read[1].target == "fig-x"
    assert {c.page for c in read} == {"book/03_3"}


def test_the_stored_claim_is_hidden_glue():
    """The claim is stored as an unshown glued value under claim:<id> (nothing on the page)."""
    with capture_output() as captured:
        claims.record_claim(**CLAIM)
    (out,) = captured.outputs
    assert out.metadata["scrapbook"]["name"] == "claim:vp-speedup"
    assert all(key.startswith("application/papermill.record/") for key in out.data)


@pytest.mark.parametrize("measured", ["", "none", "not measured", "   "])
def test_a_verdict_without_a_measured_number_is_an_error(measured):
    """A claim whose `measured` holds no digit cannot be recorded (the chapter's cell fails)."""
    with pytest.raises(ValueError, match=r"^measured must state the book's measured number"):
        claims.record_claim(**dict(CLAIM, measured=measured))


def test_a_duplicate_id_is_an_error_across_pages_and_within_one():
    """One id, one claim: two pages recording the same id, or two cells of one page, fail,
    and the error names the id and both places."""
    a = claims.make_claim(**CLAIM, page="book/03_3")
    b = claims.make_claim(**dict(CLAIM, measured="5.3×"), page="book/06")
    with pytest.raises(ValueError, match=r"^id 'vp-speedup' is recorded twice: in book/03_3 and"):
        claims.merge_claims({"book/03_3": [a], "book/06": [b]})
    with pytest.raises(ValueError, match=r"^id 'vp-speedup' is recorded twice"):
        claims.claims_in_notebook(notebook_of([CLAIM], [CLAIM]), "book/03_3")


def test_merge_keeps_every_claim_in_page_order():
    """merge_claims returns every claim of every page, pages in the given order."""
    pages = {
        "b": [claims.make_claim(**dict(CLAIM, id="b1")), claims.make_claim(**dict(CLAIM, id="b2"))],
        "a": [claims.make_claim(**dict(CLAIM, id="a1"))],
    }
    assert [c.id for c in claims.merge_claims(pages)] == ["b1", "b2", "a1"]


def test_counts_and_groups_cover_every_claim_once():
    """verdict_counts sums to the number of claims, with every verdict a key; ledger_groups
    puts each claim in its paper section, sections in the paper's order."""
    made = [
        claims.make_claim(**dict(CLAIM, id=f"c{i}", section=s, verdict=v))
        for i, (s, v) in enumerate(
            [("5", "reproduced"), ("3", "direction"), ("5", "not testable"), ("2", "reproduced")]
        )
    ]
    counts = claims.verdict_counts(made)
    assert set(counts) == set(claims.VERDICTS) and sum(counts.values()) == len(made)
    assert counts == {"reproduced": 2, "direction": 1, "not reproduced": 0, "not testable": 1}
    groups = claims.ledger_groups(made)
    assert [number for number, _, _ in groups] == ["2", "3", "5"]
    assert [c.id for _, _, group in groups for c in group] == ["c3", "c1", "c0", "c2"]
    assert groups[0][1] == claims.PAPER_SECTIONS["2"]


@pytest.mark.parametrize("target", ["two words", "a<b", 3])
def test_a_target_must_be_a_label(target):
    """The link target is a MyST label (letters, digits, - _ . :), else an error naming it."""
    with pytest.raises(ValueError, match=r"^target must"):
        claims.make_claim(**dict(CLAIM, target=target))


def test_claims_read_from_mystnb_glue_record():
    """The glue record myst-nb writes (key -> output, the record prefix stripped from the MIME
    types) gives back the claims a page recorded, with the page set; other glued values are
    ignored."""
    from edm_src.instruments.glue import GLUE_PREFIX

    notebook = notebook_of([CLAIM, dict(CLAIM, id="ve-speedup")])
    glued = {"ch3_x": {"output_type": "display_data", "data": {"text/plain": "1"}, "metadata": {}}}
    for output in notebook["cells"][0]["outputs"]:
        data = {k.removeprefix(GLUE_PREFIX): v for k, v in output["data"].items()}
        glued[output["metadata"]["scrapbook"]["name"]] = dict(output, data=data)
    read = claims.claims_in_glue(glued, "book/03_3")
    assert read == [
        claims.make_claim(**CLAIM, page="book/03_3"),
        claims.make_claim(**dict(CLAIM, id="ve-speedup"), page="book/03_3"),
    ]
