"""Pages that load without JavaScript console errors (the browser tests require none).

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``) that corrects two things the third-party theme stack does:

- sphinx-thebe registers its inline configuration script (``const
  THEBE_JS_URL = ...``) once per ``env-before-read-docs`` event, so a page can
  carry it twice, and the second copy throws "Identifier 'THEBE_JS_URL' has
  already been declared".  Inline scripts with identical bodies are kept once.
- pydata-sphinx-theme reads the light/dark mode from ``localStorage`` or from
  the template variable ``default_mode``; with neither set it logs "Got
  invalid theme mode" on the console.  ``default_mode`` defaults to ``"auto"``
  here (follow the reader's system setting).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _clean_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    context.setdefault("default_mode", "auto")
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    kept = []
    for script in scripts:  # sphinx.builders.html._assets._JavaScript
        body = getattr(script, "attributes", {}).get("body")
        if body and body in seen:
            continue
        if body:
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _clean_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
