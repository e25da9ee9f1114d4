"""Author-year citations whose text and bibliography labels agree: "Song et al. 2021a".

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``).  The text cites with sphinxcontrib-bibtex's author-year
style; its bibliography would label the entries with pybtex's ``alpha``
labels ("[SSDK+21]"), which the reader cannot match to "Song et al., 2021".
This extension registers, under the name ``edm_author_year``:

- a referencing style (``bibtex_reference_style: edm_author_year``): the
  author-year style, with a letter after the year where two works share their
  authors as cited and their year ("Song et al., 2021a" and "2021b");
- a pybtex formatting style (``:style: edm_author_year`` on the
  ``{bibliography}`` directive): pybtex's ``unsrt`` entries, labelled with the
  same text as the citations ("[Song et al. 2021a]") and sorted as the labels
  read: by the authors as cited, then year, then title (`sorting_key`), so
  that "Karras et al. 2020" comes before "Karras et al. 2022" even though the
  two papers' third authors would order them the other way.

The letters are given in order of title among the works that share
authors-as-cited and year (the usual author-year convention), from the
bibliography files themselves, so that a citation and its entry always agree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pybtex.plugin
from pybtex.database import Entry
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import field, first_of, join, node, optional
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import GroupReferenceStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join2, post_text, pre_text, reference

NAME = "edm_author_year"

#: Year suffix ("a", "b", ...) of each citation key whose authors-as-cited and year are shared.
SUFFIXES: dict[str, str] = {}


def _plain(text: str) -> str:
    """A name or title without LaTeX braces, accents commands and extra spaces."""
    text = re.sub(r"\\[a-zA-Z]+\s*|[{}\\]", "", text)
    return " ".join(text.split())


def authors_as_cited(entry: Entry) -> str:
    """The authors as an author-year citation writes them: "Ho", "Dormand and Prince", "Song et al."."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [_plain(" ".join(p.prelast_names + p.last_names)) for p in persons]
    if not last:
        return _plain(entry.fields.get("title", entry.key))
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


def year_suffixes(entries: Iterable[Entry]) -> dict[str, str]:
    """ "a", "b", ... for each entry whose authors-as-cited and year another entry shares.

    The letters follow the alphabetical order of the titles.
    """
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[(authors_as_cited(entry), entry.fields.get("year", ""))].append(entry)
    suffixes = {}
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=lambda e: _plain(e.fields.get("title", "")).lower())
            for i, entry in enumerate(group):
                suffixes[entry.key] = "abcdefghijklmnopqrstuvwxyz"[i]
    return suffixes


def label(entry: Entry) -> str:
    """The bibliography label, the same text as a citation: "Song et al. 2021a"."""
    year = entry.fields.get("year", "n.d.") + SUFFIXES.get(entry.key, "")
    return f"{authors_as_cited(entry)} {year}"


@node
def year_with_suffix(children, data: dict[str, Any]) -> Text:
    """The entry's year, with its letter when another cited work shares authors and year."""
    assert not children
    year = first_of[optional[field("year")], "n.d."].format_data(data)
    return Text(year, SUFFIXES.get(data["entry"].key, ""))


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[
                join(sep=self.author_year_sep)[
                    self.person.author_or_editor_or_title(full="s" in role_name),
                    year_with_suffix,
                ]
            ],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text, reference[year_with_suffix], post_text
                ],
                self.bracket.right,
            ],
        ]


@dataclass
class _ExtraYear(ExtraYearReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text, reference[year_with_suffix], post_text
        ]


@dataclass
class ReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author-year style, with "2021a"/"2021b" where needed."""

    def __post_init__(self):
        self.styles.extend(
            [
                _Parenthetical(
                    bracket=self.bracket_parenthetical,
                    person=self.person,
                    author_year_sep=self.author_year_sep,
                    pre_text_sep=self.pre_text_sep,
                    post_text_sep=self.post_text_sep,
                ),
                _Textual(
                    bracket=self.bracket_textual,
                    person=self.person,
                    text_reference_sep=self.text_reference_sep,
                    pre_text_sep=self.pre_text_sep,
                    post_text_sep=self.post_text_sep,
                ),
                ExtraAuthorReferenceStyle(bracket=self.bracket_author, person=self.person),
                ExtraLabelReferenceStyle(bracket=self.bracket_label),
                _ExtraYear(bracket=self.bracket_year),
                ExtraEmptyReferenceStyle(),
            ]
        )
        GroupReferenceStyle.__post_init__(self)


class LabelStyle(BaseLabelStyle):
    """Bibliography labels with the citations' text (`label`)."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield label(entry)


def sorting_key(entry: Entry) -> tuple[str, str, str, str]:
    """The bibliography's order: first author, then the authors as cited, year and title.

    The first author's last name comes first, then the label's author text ("Song", "Song and
    Ermon", "Song et al."), then the year with its letter: the order in which the labels read.
    """
    cited = authors_as_cited(entry)
    first = cited.removesuffix(" et al.").split(" and ")[0]
    year = entry.fields.get("year", "") + SUFFIXES.get(entry.key, "")
    return (first.lower(), cited.lower(), year, _plain(entry.fields.get("title", "")).lower())


class SortingStyle(BaseSortingStyle):
    """Entries in the order of their labels (`sorting_key`)."""

    def sorting_key(self, entry: Entry) -> tuple[str, str, str, str]:
        return sorting_key(entry)


class Style(UnsrtStyle):
    """pybtex's ``unsrt`` entries, in the order of their labels, labelled as cited."""

    default_sorting_style = NAME
    default_label_style = NAME


def _compute_suffixes(app: Sphinx) -> None:
    """Fill `SUFFIXES` from the bibliography that sphinxcontrib-bibtex has just read."""
    bibdata = app.env.get_domain("cite").bibdata
    SUFFIXES.clear()
    SUFFIXES.update(year_suffixes(bibdata.data.entries.values()))


def register_pybtex_styles() -> None:
    """Register the label, sorting and formatting styles with pybtex under `NAME`."""
    pybtex.plugin.register_plugin("pybtex.style.labels", NAME, LabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.sorting", NAME, SortingStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, Style, force=True)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinxcontrib.bibtex")
    register_plugin("sphinxcontrib.bibtex.style.referencing", NAME, ReferenceStyle, force=True)
    register_pybtex_styles()
    # After sphinxcontrib-bibtex's own builder-inited handler (priority 500) reads the .bib files.
    app.connect("builder-inited", _compute_suffixes, priority=800)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
