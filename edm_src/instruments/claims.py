"""`claims`: the book's ledger of the paper's claims, each recorded where a chapter measures it.

A chapter that re-measures a claim of the paper calls `record_claim` in the cell that has
the numbers, with the paper's statement and its place (section, figure, table), the paper's
number, the book's number (formatted from the chapter's own variables, never typed) and a
verdict.  The claim is stored in the chapter's executed notebook as a glued value (key
`claim:<id>`, not shown on the page).  When the book is built, `_ext/ledger.py` reads every
chapter's claims from its executed notebook (`claims_in_glue`), checks them together
(`merge_claims`: one id, one claim, across the whole book) and renders the conclusion's
ledger table, grouped by the paper's sections (`ledger_groups`), with the counts of each
verdict (`verdict_counts`).  The numbers in the ledger are thus the chapters' numbers, from
the same build: they cannot drift from the pages that measure them.

A claim without a measured number is an error, raised where it is recorded, so that the
chapter's cell fails and the build stops.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .._validation import check_choice

#: The verdicts, as the ledger names them.  How the chapters decide between them:
#: * "reproduced": the effect holds, within noise, in every setting the book measures it;
#: * "direction": it has the paper's sign wherever measured (or in most comparisons, with
#:   none reversed beyond noise where the paper's protocol applies), but not the paper's size;
#: * "not reproduced": absent, or reversed beyond noise in a setting measured (the why says
#:   where it does hold);
#: * "not testable": the measurement cannot resolve it here (the why says what is missing).
VERDICTS = {
    "reproduced": "reproduced",
    "direction": "reproduced in direction, not in size",
    "not reproduced": "not reproduced",
    "not testable": "not testable here",
}

#: The paper's sections that hold claims, in the paper's order (arXiv:2206.00364v2).
PAPER_SECTIONS = {
    "2": "Expressing diffusion models in a common framework",
    "3": "Improvements to deterministic sampling",
    "4": "Stochastic sampling",
    "5": "Preconditioning and training",
}

#: The glue key prefix of a recorded claim in a chapter's executed notebook.
CLAIM_PREFIX = "claim:"

#: The MIME type of a claim's stored payload.  A `+json` type: stored unshown, its key is
#: `application/papermill.record/<type>`, which nbformat's schema accepts as JSON (an object)
#: only when it matches `^application/(.*\+)?json$`; under plain `application/json` the
#: prefixed key must hold a string, and executing the chapter (nbclient) fails validation.
CLAIM_MIME = "application/vnd.edm.claim+json"

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and the book's measurement of it.

    * `id`: a slug (`vp-speedup`), unique in the book: the ledger row's anchor;
    * `section`: the paper's section, a key of `PAPER_SECTIONS` (appendix claims go under
      the section they support);
    * `source`: where in the paper (`"Sec. 3, Fig. 2"`, `"Table 2"`, `"App. D.1"`);
    * `statement`: what the paper says, in a sentence;
    * `paper`: the paper's number ("" where it gives none);
    * `measured`: the book's number(s), formatted from the chapter's variables;
    * `verdict`: a key of `VERDICTS`;
    * `why`: one line of reason;
    * `target`: the label of the figure, table or section where the book measures it ("": the
      page itself);
    * `page`: the document that recorded it ("" until the build knows it).
    """

    id: str
    section: str
    source: str
    statement: str
    paper: str
    measured: str
    verdict: str
    why: str
    target: str = ""
    page: str = ""


_HYPHEN_MINUS = re.compile(r"(?<![\w.])-(?=\d)")  # "-0.4", not "1-D" or "1e-4"


def _text(name: str, value: Any, *, allow_empty: bool = False) -> str:
    """A one-line string (stripped), non-empty unless `allow_empty`; a hyphen before a number
    becomes a minus sign (Python formats −0.4 as "-0.4")."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    value = _HYPHEN_MINUS.sub("−", " ".join(value.split()))
    if not value and not allow_empty:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def make_claim(
    id: str,
    section: str,
    source: str,
    statement: str,
    paper: str,
    measured: str,
    verdict: str,
    why: str,
    target: str = "",
    page: str = "",
) -> Claim:
    """A checked `Claim` (see its fields).  `measured` must hold a number (a digit): a verdict
    with no measurement behind it is an error, as is an id that is not a slug, a section not
    in `PAPER_SECTIONS`, or a verdict not in `VERDICTS`."""
    if not isinstance(id, str) or not _ID.match(id):
        raise ValueError(
            f"id must be a slug of lower-case letters, digits and single hyphens "
            f"('vp-speedup'), got {id!r}"
        )
    section = check_choice("section", section, tuple(PAPER_SECTIONS), "paper section")
    verdict = check_choice("verdict", verdict, tuple(VERDICTS))
    measured = _text("measured", measured, allow_empty=True)
    if not re.search(r"\d", measured):
        raise ValueError(
            f"measured must state the book's measured number (it holds no digit), got "
            f"{measured!r}: claim {id!r} has the verdict {verdict!r} and nothing behind it"
        )
    target = _text("target", target, allow_empty=True)
    if target and not _LABEL.match(target):
        raise ValueError(f"target must be a figure, table or section label, got {target!r}")
    return Claim(
        id=id,
        section=section,
        source=_text("source", source),
        statement=_text("statement", statement),
        paper=_text("paper", paper, allow_empty=True),
        measured=measured,
        verdict=verdict,
        why=_text("why", why),
        target=target,
        page=_text("page", page, allow_empty=True),
    )


class _Payload:
    """A claim as the notebook stores it: a JSON object under `CLAIM_MIME` (a `+json` type,
    which nbformat's schema lets hold an object even behind glue's prefix), with a short
    plain-text form.  `claims_in_notebook` also reads a claim stored as JSON text."""

    def __init__(self, claim: Claim):
        self.claim = claim

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {CLAIM_MIME: asdict(self.claim), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"claim {self.claim.id}: {VERDICTS[self.claim.verdict]} ({self.claim.measured})"


def record_claim(
    id: str,
    section: str,
    source: str,
    statement: str,
    paper: str,
    measured: str,
    verdict: str,
    why: str,
    target: str = "",
) -> Claim:
    """Record one of the paper's claims in the executing chapter, for the conclusion's ledger.

    Checks the claim (`make_claim`) and stores it, unshown, under the glue key
    `claim:<id>`; returns it.  Called in a chapter at build time, a claim without a measured
    number raises, which fails the cell and the build.  Re-running the cell in a live
    notebook replaces its output, and so its claim.
    """
    claim = make_claim(id, section, source, statement, paper, measured, verdict, why, target)
    from .glue import glue  # IPython, loaded on first use

    glue(CLAIM_PREFIX + claim.id, _Payload(claim), display=False)
    return claim


def claims_in_notebook(notebook: Mapping, page: str = "") -> list[Claim]:
    """The claims recorded in an executed notebook (nbformat 4, as a dict), in order, with
    `page` set.  A claim stored twice in one notebook is an error (two cells recording one
    id), as is a stored claim that does not pass `make_claim`'s checks."""
    if not isinstance(notebook, Mapping) or not isinstance(notebook.get("cells"), list):
        raise ValueError("notebook must be an nbformat-4 notebook (a dict with 'cells')")
    page = _text("page", page, allow_empty=True)
    found: list[Claim] = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name", "")
            if not name.startswith(CLAIM_PREFIX):
                continue
            data = output.get("data", {})
            payload = next((v for k, v in data.items() if k.endswith(CLAIM_MIME)), None)
            if isinstance(payload, str):
                payload = json.loads(payload)
            if not isinstance(payload, Mapping):
                raise ValueError(f"notebook: the stored claim {name!r} holds no JSON payload")
            fields = {k: v for k, v in payload.items() if k != "page"}
            found.append(make_claim(**fields, page=page))
    return merge_claims({page: found})


def claims_in_glue(glued: Mapping, page: str = "") -> list[Claim]:
    """The claims in myst-nb's glue record of an executed page (`<page>.glue.json`: glue key ->
    its output), with `page` set.  myst-nb takes every unshown glued output out of the
    notebook it writes and keeps it there, so this is where a build finds a page's claims."""
    if not isinstance(glued, Mapping):
        raise ValueError(f"glued must map glue keys to outputs, got {type(glued).__name__}")
    return claims_in_notebook(
        {"cells": [{"cell_type": "code", "outputs": list(glued.values())}]}, page
    )


def merge_claims(pages: Mapping[str, Iterable[Claim]]) -> list[Claim]:
    """All pages' claims in one list (pages in the given order), each id once.

    A duplicate id is an error naming both places: two claims with one id would make one
    ledger row stand for two measurements."""
    if not isinstance(pages, Mapping):
        raise ValueError(f"pages must map a page name to its claims, got {type(pages).__name__}")
    seen: dict[str, str] = {}
    merged: list[Claim] = []
    pages = {page: _check_claims(f"pages[{page!r}]", claims) for page, claims in pages.items()}
    for page, claims in pages.items():
        for claim in claims:
            if claim.id in seen:
                raise ValueError(
                    f"id {claim.id!r} is recorded twice: in {seen[claim.id] or 'a page'} and in "
                    f"{page or 'a page'}; each claim needs its own id"
                )
            seen[claim.id] = page
            merged.append(claim)
    return merged


def _check_claims(name: str, claims: Any) -> list[Claim]:
    """A list of `Claim` objects (any iterable of them)."""
    if isinstance(claims, (str, bytes, Mapping)) or not isinstance(claims, Iterable):
        raise ValueError(f"{name} must be an iterable of Claim objects, got {claims!r}")
    claims = list(claims)
    for claim in claims:
        if not isinstance(claim, Claim):
            raise ValueError(f"{name} must hold Claim objects (make_claim), got {claim!r}")
    return claims


def verdict_counts(claims: Iterable[Claim]) -> dict[str, int]:
    """How many claims have each verdict (every key of `VERDICTS`, zeros included)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for claim in _check_claims("claims", claims):
        counts[claim.verdict] += 1
    return counts


def ledger_groups(claims: Iterable[Claim]) -> list[tuple[str, str, list[Claim]]]:
    """The claims grouped by the paper's section, in the paper's order: a list of
    (section number, section title, claims in recording order), empty sections left out."""
    claims = _check_claims("claims", claims)
    return [
        (number, title, [c for c in claims if c.section == number])
        for number, title in PAPER_SECTIONS.items()
        if any(c.section == number for c in claims)
    ]
