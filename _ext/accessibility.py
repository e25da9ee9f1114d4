"""Figures with a text alternative: each figure's image gets the first sentence of its caption.

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``).  A ``{glue:figure}`` has no ``:alt:`` option, so Sphinx
writes the image's file path as its ``alt`` text, which is what a screen
reader reads out and what a browser shows when the image is missing.  After
the doctree is resolved (the glued images are in place), every image inside a
figure that has no ``alt`` of its own gets a short description: the first
sentence of the figure's caption, with its mathematics in plain letters
(``\\sigma`` as σ), at most `MAX_ALT` characters.  An explicit ``:alt:`` is kept.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

MAX_ALT = 200

# LaTeX commands of the book's captions, as a screen reader should say them.
_SYMBOLS = {
    "sigma": "σ",
    "theta": "θ",
    "lambda": "λ",
    "alpha": "α",
    "beta": "β",
    "epsilon": "ε",
    "rho": "ρ",
    "mu": "μ",
    "Delta": "Δ",
    "nabla": "∇",
    "approx": "≈",
    "times": "×",
    "lVert": "‖",
    "rVert": "‖",
    "lvert": "|",
    "rvert": "|",
    "leq": "≤",
    "geq": "≥",
    "le": "≤",
    "ge": "≥",
    "infty": "∞",
    "cdot": "·",
    "to": "→",
    "pm": "±",
}
# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = ("Fig", "Figs", "Eq", "Eqs", "Sec", "App", "Tab", "e.g", "i.e", "cf", "vs", "al")


def plain_math(latex: str) -> str:
    """LaTeX as plain text: ``D_\\theta(\\boldsymbol x;\\sigma)`` -> ``Dθ(x;σ)``."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _SYMBOLS.get(m.group(1), " "), latex)
    text = re.sub(r"[{}_^$\\]", "", text)
    return " ".join(text.split())


def _caption_text(caption: nodes.Element) -> str:
    parts = []
    for node in caption.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(node, nodes.math):
            parts.append(plain_math(node.astext()))
        elif not isinstance(node.parent, nodes.math):
            parts.append(node.astext())
    return " ".join("".join(parts).split())


def first_sentence(text: str, limit: int = MAX_ALT) -> str:
    """The text's first sentence, cut at a word boundary (with "…") if longer than ``limit``."""
    for match in re.finditer(r"[.!?](?=\s+[A-Z(\"'‘“]|\s*$)", text):
        before = text[: match.start()]
        last_word = re.search(r"[\w.]*$", before)[0]
        if last_word not in _ABBREVIATIONS and not re.fullmatch(r"[A-Z]", last_word):
            text = text[: match.end()]
            break
    if len(text) > limit:
        text = text[: text.rfind(" ", 0, limit - 1)].rstrip(",;: ") + "…"
    return text


def _set_alt_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for figure in doctree.findall(nodes.figure):
        caption = next(iter(figure.findall(nodes.caption)), None)
        if caption is None:
            continue
        alt = first_sentence(_caption_text(caption))
        if not alt:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = alt


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", _set_alt_text)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
