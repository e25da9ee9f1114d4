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

    A notebook starts with a set-up cell that installs ``edm_src`` (and
    myst-nb, for ``glue``) from the repository when the kernel lacks them,
    as on Colab; where they are installed it does nothing.

As a script
    ``python _ext/notebooks.py OUT_DIR`` writes ``OUT_DIR/<page>.ipynb`` for
    every chapter in ``_toc.yml``; ``python _ext/notebooks.py .`` writes them
    beside their sources.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml
from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[1]

SETUP_SOURCE = """\
# Set-up for hosted kernels (Colab): install edm_src and myst-nb when missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("edm_src") is None or importlib.util.find_spec("myst_nb") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "edm_src @ git+{repo_url}@{branch}", "myst-nb"], check=True)"""


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
        f"*Generated from `{source.name}` of the EDM book. In the text, "
        "`{glue:text}` roles stand for numbers that the code cells compute.*"
    )
    notebook.cells[:0] = [note, setup]
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i}"  # stable ids: the same source gives the same file
    notebook.metadata.pop("jupytext", None)  # a plain .ipynb, not paired with the .md
    return notebook


def write_notebook(source: Path, target: Path, repo_url: str, branch: str) -> Path:
    """Write `chapter_notebook` of ``source`` to ``target``; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(chapter_notebook(source, repo_url, branch), target)
    return target


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
    write_notebook(source, Path(app.outdir) / "_sources" / ipynb, repo_url, branch)
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
