"""edm_src's glue writes the output myst-nb's glue writes, so the book's {glue} roles read it."""

import numpy as np
import pytest

from edm_src.instruments import glue as glue_module


def captured(monkeypatch, module, function, *args, **kwargs):
    """The (bundle, metadata) that `function` hands to IPython's display in `module`."""
    calls = []

    def fake_display(bundle, raw, metadata):
        calls.append((bundle, raw, metadata))

    monkeypatch.setattr(module, "ipy_display", fake_display)
    function(*args, **kwargs)
    return calls


@pytest.mark.parametrize("display", [True, False])
@pytest.mark.parametrize("value", [3.25, "text", [1, 2]])
def test_glue_writes_what_myst_nb_writes(monkeypatch, value, display):
    """Same mimebundle (prefixed when not displayed), same scrapbook metadata, raw display."""
    myst_glue = pytest.importorskip("myst_nb.ext.glue")
    ours = captured(monkeypatch, glue_module, glue_module.glue, "x", value, display=display)
    theirs = captured(monkeypatch, myst_glue, myst_glue.glue, "x", value, display=display)
    assert ours == theirs and len(ours) == 1
    bundle, raw, metadata = ours[0]
    assert raw is True and metadata["scrapbook"]["name"] == "x"
    assert all(key.startswith("application/papermill.record/") != display for key in bundle)


def test_numpy_scalars_are_stored_as_python_numbers(monkeypatch):
    """np.float64 prints as 'np.float64(…)' under NumPy 2, which {glue:text} cannot format."""
    calls = captured(monkeypatch, glue_module, glue_module.glue, "x", np.float64(0.25), False)
    assert calls[0][0]["application/papermill.record/text/plain"] == "0.25"
