"""The environment of the kernels that execute the chapters during a book build.

A local Sphinx extension (registered in _config.yml under ``sphinx:
local_extensions``).  myst-nb and jupyter-cache start each chapter's kernel
with a copy of the build's environment, so what ``setup`` puts in
``os.environ`` (before any chapter executes) reaches every kernel:

- ``EDM_BOOK_BUILD=1``: ``edm_src.instruments.plotting.in_book_build()`` is true, and
  ``edm_src.instruments.plotting.explorable`` precomputes every frame of an interactive
  figure for the static site.  A kernel a reader starts (JupyterLab, Binder,
  Colab) lacks the variable and gets live ipywidgets controls instead.
- ``OMP_NUM_THREADS=1``, unless already set: one OpenMP (torch) thread per
  kernel.  The chapters compute with small tensors, often one at a time from
  scipy's ODE solvers; on the 2-core machine, torch's second thread gains
  little when the machine is idle and, when anything else runs (another build,
  the browser tests), its spinning made pages many times slower: Chapter 3.3
  went from under 30 s to past the 300 s cell time-out.
"""

from __future__ import annotations

import os

from sphinx.application import Sphinx

BOOK_BUILD_ENV = "EDM_BOOK_BUILD"  # read by edm_src.instruments.plotting.in_book_build()


def setup(app: Sphinx) -> dict:
    os.environ[BOOK_BUILD_ENV] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
