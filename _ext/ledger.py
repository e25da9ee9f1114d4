"""The claims ledger: the conclusion's table of every claim the chapters record.

A local Sphinx extension (registered in _config.yml under ``sphinx: local_extensions``).
Each chapter records the paper's claims where it measures them
(``edm_src.instruments.claims.record_claim``), which stores them in its executed notebook.
This extension

* reads each document's claims from its executed notebook's glued values (myst-nb takes
  them out of the notebook and writes them to ``_build/jupyter_execute/<doc>.glue.json``
  when it reads the document) into the build environment;
* checks them together: an id recorded twice anywhere in the book, or a claim whose
  ``target`` label does not exist, is a build error;
* replaces the ``{claims-ledger}`` directive with the table, grouped by the paper's
  sections, each row linking to the page and figure where the claim is measured, and the
  ``{claims-count}`verdict``` role with the number of claims of that verdict (``all``: every
  claim);
* re-writes the ledger's page whenever any page's claims changed, so that an incremental
  build cannot show stale numbers.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError

from edm_src.instruments import claims as ledger_claims


class ledger_node(nodes.General, nodes.Element):
    """Where the ledger table goes."""


class count_node(nodes.Inline, nodes.TextElement):
    """Where a verdict's count goes."""


class claim_ref_node(nodes.Inline, nodes.TextElement):
    """Where a claim's measured number (or verdict), linked to its ledger row, goes."""


class ClaimsLedger(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        env.edm_ledger_docs = getattr(env, "edm_ledger_docs", set()) | {env.docname}
        return [ledger_node()]


def claims_count_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    verdict = text.strip()
    allowed = ("all", *ledger_claims.VERDICTS)
    if verdict not in allowed:
        msg = inliner.reporter.error(
            f"claims-count: {verdict!r} is not a verdict; allowed values: {', '.join(allowed)}",
            line=lineno,
        )
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    env = inliner.document.settings.env
    env.edm_ledger_docs = getattr(env, "edm_ledger_docs", set()) | {env.docname}
    return [count_node(verdict=verdict)], []


def _claim_role(field: str):
    """{claim}`id`: the claim's measured number; {claim-verdict}`id`: its verdict; each a link
    to the claim's row in the ledger (an unknown id fails the build)."""

    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        env = inliner.document.settings.env
        env.edm_claim_users = getattr(env, "edm_claim_users", set()) | {env.docname}
        return [claim_ref_node(claim_id=text.strip(), field=field)], []

    return role


def _claims(env: BuildEnvironment) -> dict[str, list]:
    if not hasattr(env, "edm_claims"):
        env.edm_claims = {}
    return env.edm_claims


def _read_claims(app: Sphinx, doctree: nodes.document) -> None:
    """Store the claims of the document just read (from its executed notebook)."""
    env = app.env
    docname = env.docname
    _claims(env).pop(docname, None)
    from myst_nb.sphinx_ext import OUTPUT_FOLDER

    # myst-nb takes the glued outputs out of the executed notebook it writes (`<doc>.ipynb`)
    # and writes them, prefix stripped, to `<doc>.glue.json`: a claim is stored there.
    path = Path(app.outdir).parent.joinpath(OUTPUT_FOLDER, *(docname + ".glue.json").split("/"))
    if not path.exists():  # not a notebook, or nothing glued: no claims
        return
    try:
        found = ledger_claims.claims_in_glue(json.loads(path.read_text("utf8")), docname)
    except ValueError as error:
        raise ExtensionError(f"{docname}: {error}") from error
    if found:
        env.edm_claims[docname] = found
    # the ledger's page is re-written when any page's claims change
    env.edm_claims_changed = True


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _claims(env).pop(docname, None)
    for attribute in ("edm_ledger_docs", "edm_claim_users"):
        getattr(env, attribute, set()).discard(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames, other: BuildEnvironment) -> None:
    _claims(env).update({d: c for d, c in _claims(other).items() if d in docnames})
    for attribute in ("edm_ledger_docs", "edm_claim_users"):
        setattr(env, attribute, getattr(env, attribute, set()) | getattr(other, attribute, set()))


def _toc_order(env: BuildEnvironment) -> list[str]:
    """The documents in reading order: the table of contents depth first from the root."""
    order: list[str] = []

    def visit(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            visit(child)

    visit(env.config.root_doc)
    return order + sorted(d for d in env.found_docs if d not in order)


def _all_claims(env: BuildEnvironment) -> list:
    pages = _claims(env)
    try:
        return ledger_claims.merge_claims({d: pages[d] for d in _toc_order(env) if d in pages})
    except ValueError as error:
        raise ExtensionError(f"claims ledger: {error}") from error


def _updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Re-write the ledger's page when any page's claims were read anew."""
    changed = getattr(env, "edm_claims_changed", False)
    env.edm_claims_changed = False
    _all_claims(env)  # a duplicate id fails the build here, whichever page holds the ledger
    users = getattr(env, "edm_ledger_docs", set()) | getattr(env, "edm_claim_users", set())
    return sorted(users) if changed else []


def _link(app: Sphinx, fromdoc: str, claim) -> tuple[str, str]:
    """(href, link text) of where the claim is measured."""
    env = app.env
    title = env.titles.get(claim.page)
    page_title = _plain(title.astext()) if title is not None else claim.page
    number = _secnumber(env, claim.page, "")
    page_title = f"{number} {page_title}" if number else page_title
    href = app.builder.get_relative_uri(fromdoc, claim.page)
    if not claim.target:
        return href, page_title
    labels = env.domaindata["std"]["labels"]
    anonymous = env.domaindata["std"]["anonlabels"]
    if claim.target not in anonymous:
        raise ExtensionError(
            f"claims ledger: claim {claim.id!r} (recorded in {claim.page}) has target "
            f"{claim.target!r}, which is no label of the book"
        )
    docname, anchor = anonymous[claim.target]
    href = app.builder.get_relative_uri(fromdoc, docname) + "#" + anchor
    text = _plain(labels.get(claim.target, (None, None, ""))[2])
    section = _secnumber(env, docname, "#" + anchor)
    text = f"§{section} {text}" if section and text else text
    figure = _figure_name(env, docname, anchor)
    return href, f"{page_title}, {figure or text or claim.target}"


def _secnumber(env: BuildEnvironment, docname: str, anchor: str) -> str:
    """The section number ('3.2', '6.4') of a page ('') or of a section anchor, else ''."""
    number = env.toc_secnumbers.get(docname, {}).get(anchor)
    return ".".join(map(str, number)) if number else ""


_LATEX = {r"\sigma": "σ", r"\text": "", r"\mathrm": "", r"\,": " ", r"\_": "_"}


def _plain(title: str) -> str:
    """A section title as plain text: its inline TeX (σ written as \\sigma, \\text{…}) in Unicode."""
    for tex, text in _LATEX.items():
        title = title.replace(tex, text)
    return re.sub(r"[{}$]", "", title)


def _figure_name(env: BuildEnvironment, docname: str, anchor: str) -> str:
    """'Fig. 3.2' / 'Table 6.1' for a numbered figure or table, else ''."""
    numbers = env.toc_fignumbers.get(docname, {})
    for kind, name in (("figure", "Fig."), ("table", "Table"), ("code-block", "Listing")):
        number = numbers.get(kind, {}).get(anchor)
        if number:
            return f"{name} {'.'.join(map(str, number))}"
    return ""


def _row(app: Sphinx, fromdoc: str, claim) -> str:
    e = html.escape
    href, where = _link(app, fromdoc, claim)
    verdict = ledger_claims.VERDICTS[claim.verdict]
    css = "edm-verdict-" + claim.verdict.replace(" ", "-")
    return (
        f'<tr id="claim-{e(claim.id)}" class="edm-claim">'
        f'<td data-label="The paper&#39;s claim"><p>{e(claim.statement)} '
        f'<span class="edm-claim-source">({e(claim.source)})</span></p>'
        f'<p class="edm-claim-where">Measured in <a class="reference internal" href="{e(href)}">'
        f"{e(where)}</a></p></td>"
        f'<td data-label="Paper">{e(claim.paper) or "—"}</td>'
        f'<td data-label="This book">{e(claim.measured)}</td>'
        f'<td data-label="Verdict"><p><span class="edm-verdict {css}">{e(verdict)}</span></p>'
        f"<p>{e(claim.why)}</p></td></tr>"
    )


def _table(app: Sphinx, fromdoc: str, claims: list) -> str:
    parts = [
        '<div class="pst-scrollable-table-container"><table class="table edm-ledger">',
        "<thead><tr><th>The paper's claim</th><th>Paper</th><th>This book</th>"
        "<th>Verdict, and why</th></tr></thead>",
    ]
    for number, title, group in ledger_claims.ledger_groups(claims):
        parts.append(
            f'<tbody><tr class="edm-ledger-section"><th colspan="4">Sec. {number}: '
            f"{html.escape(title)}</th></tr>"
        )
        parts.extend(_row(app, fromdoc, claim) for claim in group)
        parts.append("</tbody>")
    parts.append("</table></div>")
    return "".join(parts)


def _render(app: Sphinx, doctree: nodes.document, fromdoc: str) -> None:
    placeholders = list(doctree.findall(ledger_node))
    counts = list(doctree.findall(count_node))
    refs = list(doctree.findall(claim_ref_node))
    if not placeholders and not counts and not refs:
        return
    claims = _all_claims(app.env)
    by_id = {claim.id: claim for claim in claims}
    ledger_docs = sorted(getattr(app.env, "edm_ledger_docs", set()))
    for node in refs:
        claim = by_id.get(node["claim_id"])
        if claim is None:
            raise ExtensionError(
                f"{fromdoc}: {{claim}}`{node['claim_id']}` names no recorded claim; known ids: "
                f"{', '.join(sorted(by_id))}"
            )
        text = (
            claim.measured if node["field"] == "measured" else ledger_claims.VERDICTS[claim.verdict]
        )
        if not ledger_docs or app.builder.format != "html":
            node.replace_self(nodes.Text(text))
            continue
        href = app.builder.get_relative_uri(fromdoc, ledger_docs[0]) + f"#claim-{claim.id}"
        if ledger_docs[0] == fromdoc:
            href = f"#claim-{claim.id}"
        link = nodes.reference("", text, internal=True, refuri=href, classes=["edm-claim-ref"])
        node.replace_self(link)
    tally = ledger_claims.verdict_counts(claims)
    for node in counts:
        verdict = node["verdict"]
        node.replace_self(nodes.Text(str(len(claims) if verdict == "all" else tally[verdict])))
    for node in placeholders:
        if app.builder.format != "html":
            node.replace_self(nodes.paragraph(text=f"{len(claims)} claims (see the HTML book)."))
            continue
        node.replace_self(nodes.raw("", _table(app, fromdoc, claims), format="html"))


def markdown_for(env: BuildEnvironment, role: str, text: str) -> str | None:
    """What a role of this extension shows, as Markdown for a downloaded notebook
    (`_ext/notebooks.py`): a count, a claim's number or verdict, or ("claims-ledger") the
    table; None for an unknown claim or role."""
    claims = _all_claims(env)
    if role == "claims-count":
        tally = ledger_claims.verdict_counts(claims)
        return str(len(claims) if text == "all" else tally.get(text, "")) or None
    by_id = {claim.id: claim for claim in claims}
    if role in ("claim", "claim-verdict"):
        claim = by_id.get(text.strip())
        if claim is None:
            return None
        return claim.measured if role == "claim" else ledger_claims.VERDICTS[claim.verdict]
    if role != "claims-ledger":
        return None
    lines = []
    for number, title, group in ledger_claims.ledger_groups(claims):
        lines += [f"**Sec. {number}: {title}**", ""]
        lines += [
            "| The paper's claim | Paper | This book | Verdict, and why |",
            "|---|---|---|---|",
        ]
        for c in group:
            cells = [
                f"{c.statement} ({c.source})",
                c.paper or "—",
                c.measured,
                f"{ledger_claims.VERDICTS[c.verdict]}: {c.why}",
            ]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def setup(app: Sphinx) -> dict:
    app.add_node(ledger_node)
    app.add_node(count_node)
    app.add_node(claim_ref_node)
    app.add_directive("claims-ledger", ClaimsLedger)
    app.add_role("claims-count", claims_count_role)
    app.add_role("claim", _claim_role("measured"))
    app.add_role("claim-verdict", _claim_role("verdict"))
    app.connect("doctree-read", _read_claims)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-updated", _updated)
    app.connect("doctree-resolved", _render)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
