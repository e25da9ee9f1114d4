"""A recorded claim is a valid notebook output, reads back unchanged, and reaches the ledger.

Executing a chapter (nbclient, under jupytext or myst-nb) validates every output against
nbformat's schema: a stored claim whose mimebundle breaks it fails the chapter's cell.
myst-nb then takes the glued outputs out of the notebook it writes, into `<doc>.glue.json`,
which is where `_ext/ledger.py` must read them.
"""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from edm_src.instruments import claims
from edm_src.instruments import glue as glue_module

CLAIM = dict(
    id="test-claim",
    section="3",
    source="Sec. 3, Fig. 3",
    statement="A statement of the paper.",
    paper="7.3×",
    measured="0.39×–18× (widths 0.005–0.1)",
    verdict="direction",
    why="a reason",
    target="fig-ch3-speedup",
)


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


ROOT = Path(__file__).resolve().parents[1]
HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
MEASURING_PAGE = (
    HEADER
    + """
# A measuring page

(sec-scratch-measured)=
## Where it is measured

```{code-cell} ipython3
:tags: [remove-cell]
from edm_src.instruments.claims import record_claim
value = 1.2345
record_claim(id="scratch-claim", section="3", source="Sec. 3", statement="A statement.",
             paper="1.2", measured=f"{value:.2f} measured", verdict="reproduced",
             why="a reason", target="sec-scratch-measured")
```
"""
)
LEDGER_PAGE = "# Ledger\n\n```{claims-ledger}\n```\n\nClaims: {claims-count}`all`.\n"


@pytest.mark.book  # builds a two-page book (about 20 s)
def test_claim_recorded_in_a_chapter_reaches_the_ledger(tmp_path):
    """A claim recorded in one executed page appears in another page's ledger table, with its
    measured number, a link to its target label, and in the count."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["sphinx"]["local_extensions"] = {
        name: str((ROOT / path).resolve())
        for name, path in config["sphinx"]["local_extensions"].items()
    }
    config["bibtex_bibfiles"] = [str(ROOT / f) for f in config["bibtex_bibfiles"]]
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: measuring\nchapters:\n- file: ledger\n"
    )
    (tmp_path / "measuring.md").write_text(MEASURING_PAGE)
    (tmp_path / "ledger.md").write_text(LEDGER_PAGE)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    run = subprocess.run(
        [str(jupyter_book), "build", str(tmp_path), "--path-output", str(tmp_path)]
        + ["--builder", "html", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert "WARNING:" not in log, log[-4000:]
    html = (tmp_path / "_build" / "html" / "ledger.html").read_text(encoding="utf-8")
    assert "1.23 measured" in html
    assert 'href="measuring.html#sec-scratch-measured"' in html
    assert "Claims: 1." in html
