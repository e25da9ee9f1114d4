"""A recorded claim is a valid notebook output and reads back unchanged.

Executing a chapter (nbclient, under jupytext or myst-nb) validates every output against
nbformat's schema: a stored claim whose mimebundle breaks it fails the chapter's cell.
(tests/test_ledger.py builds small books: myst-nb takes the glued outputs out of the notebook
it writes, into `<doc>.glue.json`, which is where `_ext/ledger.py` reads them.)
"""

import nbformat
import pytest
from helpers import CLAIM as VALID

from edm_src.instruments import claims
from edm_src.instruments import glue as glue_module

CLAIM = dict(VALID, target="fig-ch3-speedup")


def recorded_output(monkeypatch) -> dict:
    """The display_data output that `record_claim` writes, as nbclient builds it from the
    kernel's message (nbformat.v4.output_from_msg validates it against the schema)."""
    calls = []
    monkeypatch.setattr(
        glue_module, "ipy_display", lambda bundle, raw, metadata: calls.append((bundle, metadata))
    )
    claims.record_claim(**CLAIM)
    ((bundle, metadata),) = calls
    message = {
        "header": {"msg_type": "display_data"},
        "content": {"data": bundle, "metadata": metadata},
    }
    return nbformat.v4.output_from_msg(message)


def test_recorded_claim_is_a_valid_output(monkeypatch):
    """The stored payload is JSON under a `+json` MIME type, which the schema accepts as an
    object once myst-nb's `application/papermill.record/` prefix is added (plain
    `application/json` would have to be a string there, and the cell would fail)."""
    output = recorded_output(monkeypatch)
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[output])]))
    key = glue_module.GLUE_PREFIX + claims.CLAIM_MIME
    assert isinstance(output["data"][key], dict)
    assert output["metadata"]["scrapbook"]["name"] == claims.CLAIM_PREFIX + CLAIM["id"]


def test_recorded_claim_reads_back(monkeypatch):
    """claims_in_notebook returns the recorded claim, field for field, with the page set."""
    output = recorded_output(monkeypatch)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[output])])
    (claim,) = claims.claims_in_notebook(notebook, page="book/03_sampling")
    assert claim == claims.make_claim(**CLAIM, page="book/03_sampling")


def test_claim_without_a_number_is_not_recorded(monkeypatch):
    """A measured text with no digit raises before anything is stored."""
    calls = []
    monkeypatch.setattr(glue_module, "ipy_display", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="^measured"):
        claims.record_claim(**{**CLAIM, "measured": "similar"})
    assert calls == []
