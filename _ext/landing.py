"""The landing page's table of contents lists every section, not only the chapters.

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``).  sphinx-external-toc turns the ``{tableofcontents}``
directive of index.md into visible toctrees of the chapters, but with
``includehidden`` off; a chapter's own sections (3.1 to 3.4 under Chapter 3)
sit in that chapter's hidden toctree, so the landing page leaves them out
while the sidebar shows them.  This sets ``includehidden`` on the visible
toctrees of every page, so that a page's table of contents goes as deep as
its ``maxdepth`` (unlimited by default).
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx


def _include_sections(app: Sphinx, doctree: nodes.document) -> None:
    for toctree in doctree.findall(addnodes.toctree):
        if not toctree.get("hidden"):
            toctree["includehidden"] = True


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _include_sections)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
