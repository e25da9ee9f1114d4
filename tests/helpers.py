"""Helpers shared by the tests: strict error matching and seeded random inputs.

`raises_naming(name)` expects a `ValueError` whose message *starts with* the
argument's name, followed by neither a word character, a dot nor a bracket, so
that `raises_naming("x")` cannot be satisfied by a message about `x_max`, `net.x`
or any message that merely contains an x.  Every error of `edm_src` starts with
the name of the argument it is about (see `edm_src._validation`).

`randn(...)` and `generator(...)` draw from explicitly seeded generators, so no
test depends on the global generator, and so on the order in which tests run.
"""

from __future__ import annotations

import re

import pytest
import torch


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
