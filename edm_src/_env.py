"""Where the code runs: in the book's build, or in a kernel a reader started."""

from __future__ import annotations

import os

BOOK_BUILD_ENV = "EDM_BOOK_BUILD"


def in_book_build() -> bool:
    """True in a kernel started by the book's build, False in one a reader started.

    The book's local Sphinx extension (``_ext/kernel_env.py``) sets the
    environment variable ``EDM_BOOK_BUILD=1`` when Sphinx loads it, before any
    chapter executes; the kernels that myst-nb and jupyter-cache start inherit
    the build's environment.  A kernel in JupyterLab (``make lab``), Binder or
    Colab does not have it.  Any value other than ``""`` and ``"0"`` counts.
    """
    return os.environ.get(BOOK_BUILD_ENV, "") not in ("", "0")
