"""Helpers shared by the tests: strict error matching and seeded random inputs.

`raises_naming(name)` expects a `ValueError` whose message *starts with* the
argument's name, followed by neither a word character, a dot nor a bracket, so
that `raises_naming("x")` cannot be satisfied by a message about `x_max`, `net.x`
or any message that merely contains an x.  Every error of `edm_src` starts with
the name of the argument it is about (see `edm_src._validation`).

`CLAIM` is a valid claim's arguments; `NOTEBOOK_HEADER` a notebook page's front matter.
`build_scratch_book(directory, pages, toc)` builds a small book with the book's own
_config.yml and extensions, strict, and returns the build's log (the tests of a built page).

`randn(...)` and `generator(...)` draw from explicitly seeded generators, so no
test depends on the global generator, and so on the order in which tests run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: A valid claim's arguments (`edm_src.instruments.claims.make_claim`, `record_claim`).
CLAIM = dict(
    id="vp-speedup",
    section="3",
    source="Sec. 3, Fig. 2",
    statement="Heun's method and EDM's time steps speed up VP sampling.",
    paper="7.3×",
    measured="0.39×–18×",
    verdict="direction",
    why="the ratio depends on the data and the accuracy level",
)

#: The front matter of a MyST Markdown notebook page, for the small books the tests build.
NOTEBOOK_HEADER = """---
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


def naming(name: str) -> str:
    """The regular expression of an error message about the argument `name`."""
    return rf"^{re.escape(name)}(?![\w.\[])"


def raises_naming(name: str):
    """`pytest.raises(ValueError)` whose message must start with the argument's name."""
    return pytest.raises(ValueError, match=naming(name))


def generator(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with `seed`."""
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normal draws of the given shape from a generator seeded with `seed`."""
    return torch.randn(*shape, generator=generator(seed), dtype=dtype)


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Uniform [0, 1) draws of the given shape from a generator seeded with `seed`."""
    return torch.rand(*shape, generator=generator(seed), dtype=dtype)


def build_scratch_book(book: Path, pages: dict[str, str], toc: str) -> subprocess.CompletedProcess:
    """Build the pages {name: MyST source} with table of contents `toc` into `book`, with the
    book's own _config.yml (extensions and bibliography at their repository paths), strict
    (-W -n --keep-going).  Returns the finished process (its returncode, stdout and stderr)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["sphinx"]["local_extensions"] = {
        name: str((ROOT / path).resolve())
        for name, path in config["sphinx"]["local_extensions"].items()
    }
    config["bibtex_bibfiles"] = [str(ROOT / f) for f in config["bibtex_bibfiles"]]
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text(toc)
    for name, source in pages.items():
        (book / name).write_text(source)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(book), "--path-output", str(book)]
    command += ["--builder", "html", "-W", "-n", "--keep-going"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)
