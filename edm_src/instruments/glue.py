"""`glue`: store a value in a chapter's output for the book's {glue} roles, without myst-nb's imports.

`myst_nb.glue` imports `myst_nb.ext.glue`, which imports nbformat and its JSON-schema
validator: about 2 s per executing kernel on the book's 2-core machine, paid by every
chapter.  The stored format is small and documented by myst-nb ("Storing variables in
the notebook"): a display_data output whose mimebundle keys carry the prefix
`application/papermill.record/` when the value is not shown, and whose metadata hold
`{"scrapbook": {"name": name, "mime_prefix": prefix}}`.  This module writes exactly that,
with IPython alone, so `{glue:text}`, `{glue:figure}` and `{glue}` read it as before.

One difference: a NumPy scalar is stored as the Python number it holds.  NumPy 2 prints
`np.float64(0.5)`, which `{glue:text}`name:.2f`` cannot format (a warning, and in the
strict build an error); `0.5` it can.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from IPython.core.formatters import format_display_data
from IPython.display import display as ipy_display

from .._validation import check_bool

GLUE_PREFIX = "application/papermill.record/"  # myst-nb's prefix for values stored unshown


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Store `variable`'s display representations under `name` (shown too if `display`).

    The same output as `myst_nb.glue(name, variable, display)` (NumPy scalars stored as
    Python numbers): the chapters' prose pastes it with {glue:text}`name`, and figures with
    {glue:figure}.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    display = check_bool("display", display)
    if isinstance(variable, np.generic):  # np.float64(0.5) → 0.5, which {glue:text} can format
        variable = variable.item()
    mimebundle, metadata = format_display_data(variable)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display(
        {prefix + key: value for key, value in mimebundle.items()}, raw=True, metadata=metadata
    )
