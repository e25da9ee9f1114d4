"""Each chapter as a Jupyter notebook (.ipynb), generated at build time with jupytext.

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``), also usable as a script.

On the site
    sphinx-book-theme puts a ".ipynb" entry in each chapter's download menu
    and Binder and Colab entries in its launch menu.  This extension writes
    the notebook that the download entry serves (``_sources/<page>.ipynb``),
    converted from the chapter's MyST source with jupytext, and points the
    launch entries at that notebook rather than at the ``.md`` source, which
    Colab cannot open:

    - Binder opens ``<page>.ipynb`` in JupyterLab on the book's repository;
      ``binder/postBuild`` writes the notebooks there with this script.
    - Colab opens ``<page>.ipynb`` on the repository's ``notebooks`` branch
      (``edm_notebooks_branch``), which the deploy workflow fills with the
      site's notebooks.

    A notebook starts with a set-up cell that installs ``edm_src`` from the
    repository when the kernel lacks it, as on Colab; where it is installed it
    does nothing.  (The chapters' ``glue`` is ``edm_src.instruments.glue``, which
    needs only IPython, so myst-nb is not installed.)

    The downloaded notebook reads as the page does (`fill_in`): the code
    cells carry the outputs of the build's execution, the prose's
    ``{glue:text}`` roles are replaced by their formatted values, each
    ``{glue:figure}`` by the figure itself (a PNG attachment of its Markdown
    cell, which Jupyter, Colab and GitHub render) with its number and caption,
    or, for an interactive figure, by a note that it appears under its code
    cell when the notebook runs; ``{numref}``, ``{eq}`` and ``{cite}``
    become the numbers and author-year names the page shows.  The values come
    from myst-nb's record of the executed page (``jupyter_execute/<page>.glue.json``)
    and the build's figure and equation numbers.  The Binder notebooks
    (``binder/postBuild``, the script below) are plain conversions, run live.

As a script
    ``python _ext/notebooks.py OUT_DIR`` writes ``OUT_DIR/<page>.ipynb`` for
    every chapter in ``_toc.yml``; ``python _ext/notebooks.py .`` writes them
    beside their sources.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml
from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[1]

SETUP_SOURCE = """\
# Set-up for hosted kernels (Colab): install edm_src when missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("edm_src") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "edm_src @ git+{repo_url}@{branch}"], check=True)"""


PLAIN_NOTE = (
    "*Generated from `{name}` of the EDM book. In the text, `{{glue:text}}` roles stand "
    "for numbers that the code cells compute; the book's site shows them filled in.*"
)
FILLED_NOTE = (
    "*Generated from `{name}` of the EDM book, with the numbers, figures and outputs of "
    "the book's build filled in; the code cells compute them again when the notebook runs "
    "(interactive figures then appear under their cells).*"
)


def chapter_notebook(source: Path, repo_url: str, branch: str) -> nbformat.NotebookNode:
    """The chapter at ``source`` (a MyST Markdown notebook) as an .ipynb notebook, without outputs.

    A short note and the set-up cell (``SETUP_SOURCE``, tagged ``edm-setup``)
    come first; the chapter's cells follow unchanged, tags included.
    """
    notebook = jupytext.read(source, fmt="md:myst")
    setup = nbformat.v4.new_code_cell(
        SETUP_SOURCE.format(repo_url=repo_url.rstrip("/"), branch=branch),
        metadata={"tags": ["edm-setup"]},
    )
    note = nbformat.v4.new_markdown_cell(
        PLAIN_NOTE.format(name=source.name), metadata={"tags": ["edm-note"]}
    )
    notebook.cells[:0] = [note, setup]
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i}"  # stable ids: the same source gives the same file
    notebook.metadata.pop("jupytext", None)  # a plain .ipynb, not paired with the .md
    return notebook


GLUE_TEXT = re.compile(r"\{glue(?::text)?\}`([^`]+)`")
GLUE_FIGURE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{glue(?::figure)?\}[ \t]+(?P<key>\S+)[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
LEDGER_ROLE = re.compile(r"\{(?P<role>claims-count|claim|claim-verdict)\}`(?P<text>[^`]+)`")
LEDGER_DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{claims-ledger\}[ \t]*\n\1[ \t]*$", re.MULTILINE)
ROLE = re.compile(r"\{(?P<role>numref|eq|ref|cite(?::[a-z]+)?)\}`(?P<target>[^`]+)`")
DISPLAY_MATH = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[\w:-]+)\)", re.DOTALL)
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"


def _glued_text(glue: dict[str, Any], content: str) -> str | None:
    """``key`` or ``key:format`` as the page prints it (myst-nb's own formatting), or None."""
    from myst_nb.ext.glue.roles import format_plain_text

    key, _, fmt = content.rpartition(":") if ":" in content else (content, "", "s")
    if not key:
        key, fmt = content, "s"
    plain = glue.get(key, {}).get("data", {}).get("text/plain")
    if plain is None:
        return None
    try:
        return format_plain_text(plain, fmt)
    except Exception:  # noqa: BLE001  (the page would show a warning; keep the role)
        return None


def _alt_text(caption: str) -> str:
    """The caption's first sentence, mathematics in plain letters, as an image's alt text."""
    try:
        from accessibility import first_sentence, plain_math  # the site's own alt texts
    except ImportError:
        return re.sub(r"[\[\]`${}\\]", "", caption)[:150]
    plain = re.sub(r"\$([^$]+)\$", lambda m: plain_math(m[1]), caption)
    return re.sub(r"[\[\]`{}]", "", first_sentence(plain))


def _glued_figure(
    match: re.Match,
    glue: dict[str, Any],
    figure_number: Callable[[str], str | None],
    attachments: dict[str, Any],
) -> str:
    """A ``{glue:figure}`` directive as Markdown that Jupyter renders."""
    key = match["key"]
    options, caption = {}, []
    for line in match["body"].strip("\n").splitlines():
        option = re.match(r"^:(\w[\w-]*):\s*(.*)$", line)
        if option and not caption:
            options[option[1]] = option[2]
        else:
            caption.append(line)
    caption_text = " ".join(" ".join(caption).split())
    number = figure_number(options["name"]) if "name" in options else None
    title = f"**Figure {number}.** " if number else ""
    data = glue.get(key, {}).get("data", {})
    if "image/png" in data:
        name = f"{key}.png"
        attachments[name] = {"image/png": data["image/png"]}
        alt = _alt_text(caption_text)
        shown = f"![{alt}](attachment:{name})"
    elif PLOTLY_MIMETYPE in data:
        shown = (
            "*Interactive figure: it appears, with live controls, under the code cell "
            f"that makes it (`{key}`) when this notebook runs; the book's site shows it too.*"
        )
    elif "text/markdown" in data:
        shown = data["text/markdown"]
    elif "text/html" in data:
        shown = data["text/html"]
    else:
        shown = f"*(figure `{key}`: run the notebook to see it)*"
    return f"{shown}\n\n{title}{caption_text}".rstrip()


def fill_in(
    notebook: nbformat.NotebookNode,
    glue: dict[str, Any],
    executed: nbformat.NotebookNode | None = None,
    *,
    figure_number: Callable[[str], str | None] = lambda name: None,
    equation_number: Callable[[str], str | None] = lambda label: None,
    citation: Callable[[str, str], str | None] = lambda role, keys: None,
    section_title: Callable[[str], str | None] = lambda label: None,
    eqref_format: str = "Eq. {number}",
    glue_of: Callable[[str], dict[str, Any]] = lambda path: {},
    ledger: Callable[[str, str], str | None] = lambda role, text: None,
) -> nbformat.NotebookNode:
    """The chapter's notebook as its page reads: outputs, glued values, figures, numbers.

    ``glue`` is myst-nb's record of the executed page (key -> output with ``data``);
    ``executed`` the executed notebook, whose outputs go to the code cells with
    the same source (without myst-nb's glue records, which Jupyter does not show).
    ``figure_number(name)``, ``equation_number(label)``, ``citation(role, keys)``
    and ``section_title(label)`` give the text the page shows for a ``{numref}``,
    an ``{eq}`` (written with ``eqref_format``), a ``{cite...}`` and a ``{ref}``
    role (None: leave the role as written).  ``glue_of(path)`` is the glue record of another
    page (``{glue:text}`path::key```), and ``ledger(role, text)`` the Markdown of the claims
    ledger's roles and directive (``_ext/ledger.py``: ``{claims-count}``, ``{claim}``,
    ``{claim-verdict}``, and ``{claims-ledger}`` with text "").  MyST targets (``(label)=``)
    are dropped.
    Changes ``notebook`` in place and returns it.
    """
    outputs = {}
    if executed is not None:
        for cell in executed.cells:
            shown = [o for o in cell.get("outputs", []) if "scrapbook" not in o.get("metadata", {})]
            if cell.cell_type == "code" and shown:
                outputs.setdefault(cell.source.strip(), (shown, cell.get("execution_count")))
    for cell in notebook.cells:
        if "edm-note" in cell.metadata.get("tags", []):
            name = re.search(r"`([^`]+)`", cell.source)
            cell.source = FILLED_NOTE.format(name=name[1] if name else "the chapter")
            continue
        if cell.cell_type == "code":
            found = outputs.get(cell.source.strip())
            if found:
                cell.outputs, cell.execution_count = found
            continue
        if cell.cell_type != "markdown":
            continue
        attachments: dict[str, Any] = {}
        source = GLUE_FIGURE.sub(
            lambda m, found=attachments: _glued_figure(m, glue, figure_number, found),
            cell.source,
        )

        def glued(m: re.Match) -> str:
            path, _, key = m[1].rpartition("::")
            return _glued_text(glue_of(path) if path else glue, key) or m[0]

        source = GLUE_TEXT.sub(glued, source)
        source = LEDGER_DIRECTIVE.sub(lambda m: ledger("claims-ledger", "") or m[0], source)
        source = LEDGER_ROLE.sub(lambda m: ledger(m["role"], m["text"]) or m[0], source)

        def role(m: re.Match) -> str:
            name, target = m["role"], m["target"]
            label = re.sub(r"^.*<([^>]+)>$", r"\1", target).strip()
            text = None
            if name == "numref":
                number = figure_number(label)
                if number:
                    text = f"Fig. {number}"
                    if "<" in target:  # {numref}`Figure %s <label>`
                        text = target.split("<")[0].strip().replace("%s", number)
            elif name == "eq":
                number = equation_number(label)
                text = eqref_format.format(number=number) if number else None
            elif name == "ref":
                text = target.split("<")[0].strip() if "<" in target else section_title(label)
            else:
                text = citation(name, target)
            return text if text else m[0]

        source = ROLE.sub(role, source)
        source = re.sub(r"^\([\w:-]+\)=[ \t]*\n", "", source, flags=re.MULTILINE)
        # A labelled display equation, "$$ ... $$ (label)", numbered as on the page.
        source = DISPLAY_MATH.sub(
            lambda m: (
                f"$${m['body'].rstrip()}\\tag{{{equation_number(m['label'])}}}\n$$"
                if equation_number(m["label"])
                else f"$${m['body']}$$"
            ),
            source,
        )
        cell.source = source
        if attachments:
            cell.attachments = attachments
    return notebook


def write_notebook(source: Path, target: Path, repo_url: str, branch: str) -> Path:
    """Write `chapter_notebook` of ``source`` to ``target``; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(chapter_notebook(source, repo_url, branch), target)
    return target


def _page_numbers(app: Sphinx, pagename: str):
    """``figure_number``, ``equation_number`` and ``citation`` for `fill_in`, from the build."""
    env = app.env

    def figure_number(name: str) -> str | None:
        for kinds in env.toc_fignumbers.values():
            number = kinds.get("figure", {}).get(name)
            if number:
                return ".".join(map(str, number))
        return None

    def equation_number(label: str) -> str | None:
        math = env.get_domain("math")
        if label not in math.equations:
            return None
        docname, plain = math.equations[label]
        number = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(f"equation-{label}")
        return ".".join(map(str, number)) if number else str(plain)

    def citation(role: str, keys: str) -> str | None:
        try:
            from citations import SUFFIXES, authors_as_cited  # the book's author-year labels
        except ImportError:
            return None
        entries = app.env.get_domain("cite").bibdata.data.entries
        named = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in entries:
                return None
            entry = entries[key]
            year = entry.fields.get("year", "n.d.") + SUFFIXES.get(key, "")
            named.append((authors_as_cited(entry), year))
        if role in ("cite:t", "cite:ct"):
            return "; ".join(f"{who} ({year})" for who, year in named)
        return "(" + "; ".join(f"{who}, {year}" for who, year in named) + ")"

    def section_title(label: str) -> str | None:
        found = env.get_domain("std").labels.get(label)
        return found[2] if found and found[2] else None

    return figure_number, equation_number, citation, section_title


def _executed_record(
    app: Sphinx, notebook: nbformat.NotebookNode, pagename: str
) -> tuple[dict, nbformat.NotebookNode | None]:
    """The glue record of ``pagename`` and its executed notebook, from the execution cache.

    myst-nb writes the glue values to ``jupyter_execute/<page>.glue.json``; the
    executed outputs are in jupyter-cache's record of the notebook (the copy in
    ``jupyter_execute/`` has none), matched on the chapter's code.
    """
    glue = _glue_record(app, pagename)
    config = getattr(app.env, "mystnb_config", None)
    cache_path = getattr(config, "execution_cache_path", "") or ""
    executed = None
    if cache_path and Path(cache_path).is_dir():
        from jupyter_cache import get_cache

        try:
            cache = get_cache(cache_path)
            executed = cache.get_cache_bundle(cache.match_cache_notebook(notebook).pk).nb
        except Exception:  # noqa: BLE001  (not executed, or not cached: no outputs to add)
            executed = None
    return glue, executed


def _glue_of(app: Sphinx, pagename: str, path: str) -> dict[str, Any]:
    """The glue record of the page at ``path`` (relative to ``pagename``'s source)."""
    _, filename = app.env.relfn2path(path, pagename)
    return _glue_record(app, app.env.path2doc(filename))


def _glue_record(app: Sphinx, docname: str) -> dict[str, Any]:
    """myst-nb's glue record of a page (``jupyter_execute/<page>.glue.json``), {} if none."""
    glue_path = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.glue.json"
    return json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}


def _ledger_markdown(app: Sphinx, role: str, text: str) -> str | None:
    """The claims ledger's roles and table as Markdown (``_ext/ledger.py``), else None."""
    try:
        from ledger import markdown_for
    except ImportError:  # the ledger extension is not loaded: leave the role
        return None
    return markdown_for(app.env, role, text)


def _repository(app: Sphinx) -> tuple[str, str]:
    options = app.config.html_theme_options
    return options.get("repository_url", ""), options.get("repository_branch", "main") or "main"


def _write_download_and_point_launchers(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Replace the theme's download copy with the jupytext notebook; aim Binder and Colab at it."""
    ipynb = context.get("ipynb_source")  # set by sphinx-book-theme's launch buttons
    if not ipynb:
        return
    repo_url, branch = _repository(app)
    source = Path(app.env.doc2path(pagename))
    notebook = chapter_notebook(source, repo_url, branch)
    glue, executed = _executed_record(app, jupytext.read(source, fmt="md:myst"), pagename)
    figure_number, equation_number, citation, section_title = _page_numbers(app, pagename)
    fill_in(
        notebook,
        glue,
        executed,
        figure_number=figure_number,
        equation_number=equation_number,
        citation=citation,
        section_title=section_title,
        eqref_format=app.config.math_eqref_format or "({number})",
        glue_of=lambda path: _glue_of(app, pagename, path),
        ledger=lambda role, text: _ledger_markdown(app, role, text),
    )
    target = Path(app.outdir) / "_sources" / ipynb
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    path_md = source.relative_to(app.srcdir).as_posix()
    path_ipynb = str(Path(path_md).with_suffix(".ipynb").as_posix())
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group["buttons"]:
            if button.get("text") == "Binder":
                button["url"] = button["url"].replace(f"/{path_md}", f"/{path_ipynb}")
            elif button.get("text") == "Colab":
                button["url"] = button["url"].replace(
                    f"/blob/{branch}/{path_md}",
                    f"/blob/{app.config.edm_notebooks_branch}/{path_ipynb}",
                )


def setup(app: Sphinx) -> dict:
    app.add_config_value("edm_notebooks_branch", "notebooks", "html")
    # After sphinx-book-theme's add_launch_buttons (priority 501), which copies
    # the executed notebook to _sources/ and fills in the launch buttons.
    app.connect("html-page-context", _write_download_and_point_launchers, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "out_dir", type=Path, help="where to write <page>.ipynb ('.': beside sources)"
    )
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config.get("repository", {})
    parser.add_argument("--repo-url", default=repository.get("url", ""))
    parser.add_argument("--branch", default=repository.get("branch", "main"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    from chapter_times import toc_pages  # the table of contents, read as the budget checks do

    for page in (page for chapter in toc_pages() for page in chapter):
        if page.executed and page.path.suffix == ".md":
            target = write_notebook(
                page.path, args.out_dir / f"{page.entry}.ipynb", args.repo_url, args.branch
            )
            print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
