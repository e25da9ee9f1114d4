"""Table 1 of the paper as data: each cell's formula, and a closed form that the tests check.

The book renders Table 1 from `TABLE1` instead of typing it, and
`tests/test_table1.py` evaluates every cell's closed form against the
implementation (`schedules`, `preconditioning`, `losses`), so the rendered
table cannot drift from the code that runs.

Each cell is a `Cell(latex, value)`: `latex` is what the table shows; `value`
is the formula as a function (of t, σ, the step index i, or a uniform number u
for p_train, see `ARGUMENT`) with the paper's constants, or None where the
cell is a name ("Euler", "2nd-order Heun").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import check_bool, check_choice, check_sequence
from ..schedules import iddpm_u

COLUMNS = ("VP", "VE", "iDDPM + DDIM", "EDM")

# The paper's constants (Table 1 and its footnotes).
VP = dict(beta_d=19.9, beta_min=0.1, epsilon_s=1e-3, epsilon_t=1e-5, M=1000)
VE = dict(sigma_min=0.02, sigma_max=100.0)
IDDPM = dict(C_1=0.001, C_2=0.008, M=1000, j_0=8)
EDM = dict(sigma_min=0.002, sigma_max=80.0, sigma_data=0.5, rho=7.0, P_mean=-1.2, P_std=1.2)


@dataclass(frozen=True)
class Cell:
    """One cell of Table 1: its formula in LaTeX and, where it is a formula, as a function."""

    latex: str
    value: Callable | None = None


def _vp_sigma(t):
    return math.sqrt(math.exp(0.5 * VP["beta_d"] * t**2 + VP["beta_min"] * t) - 1)


def _vp_sigma_inv(sigma):
    beta_d, beta_min = VP["beta_d"], VP["beta_min"]
    return (math.sqrt(beta_min**2 + 2 * beta_d * math.log(sigma**2 + 1)) - beta_min) / beta_d


def _iddpm_noise_index(sigma):
    u = iddpm_u(IDDPM["M"], IDDPM["C_1"], IDDPM["C_2"], dtype=torch.float32).tolist()
    return min(range(len(u)), key=lambda j: abs(u[j] - sigma))


def _edm_step(i, N):
    rho, lo, hi = EDM["rho"], EDM["sigma_min"], EDM["sigma_max"]
    return (hi ** (1 / rho) + i / (N - 1) * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho


def _normal_quantile(u):
    return math.sqrt(2) * torch.special.erfinv(torch.tensor(2 * u - 1, dtype=torch.float64)).item()


sd = EDM["sigma_data"]

#: What each row's `value` takes: t, σ, (i, N), or a uniform u ∈ (0, 1) (p_train's inverse CDF).
ARGUMENT = {
    "ODE solver": None,
    "Time steps t_i": "i, N",
    "Schedule σ(t)": "t",
    "Scaling s(t)": "t",
    "c_skip(σ)": "σ",
    "c_out(σ)": "σ",
    "c_in(σ)": "σ",
    "c_noise(σ)": "σ",
    "p_train": "u",
    "Loss weight λ(σ)": "σ",
}

TABLE1: dict[str, dict[str, Cell]] = {
    "ODE solver": {
        "VP": Cell("Euler"),
        "VE": Cell("Euler"),
        "iDDPM + DDIM": Cell("Euler"),
        "EDM": Cell("2nd-order Heun"),
    },
    "Time steps t_i": {
        "VP": Cell(
            r"$1 + \frac{i}{N-1}(\epsilon_s - 1)$",
            lambda i, N: 1 + i / (N - 1) * (VP["epsilon_s"] - 1),
        ),
        "VE": Cell(
            r"$\sigma_\max^2 \big(\sigma_\min^2 / \sigma_\max^2\big)^{\frac{i}{N-1}}$",
            lambda i, N: (
                VE["sigma_max"] ** 2
                * (VE["sigma_min"] ** 2 / VE["sigma_max"] ** 2) ** (i / (N - 1))
            ),
        ),
        "iDDPM + DDIM": Cell(r"$u_{\lfloor j_0 + \frac{M-1-j_0}{N-1} i + \frac12 \rfloor}$"),
        "EDM": Cell(
            r"$\big(\sigma_\max^{1/\rho} + \frac{i}{N-1}(\sigma_\min^{1/\rho} - \sigma_\max^{1/\rho})\big)^\rho$",
            _edm_step,
        ),
    },
    "Schedule σ(t)": {
        "VP": Cell(r"$\sqrt{e^{\frac12 \beta_d t^2 + \beta_\min t} - 1}$", _vp_sigma),
        "VE": Cell(r"$\sqrt{t}$", math.sqrt),
        "iDDPM + DDIM": Cell(r"$t$", lambda t: t),
        "EDM": Cell(r"$t$", lambda t: t),
    },
    "Scaling s(t)": {
        "VP": Cell(
            r"$1 / \sqrt{e^{\frac12 \beta_d t^2 + \beta_\min t}}$",
            lambda t: 1 / math.sqrt(math.exp(0.5 * VP["beta_d"] * t**2 + VP["beta_min"] * t)),
        ),
        "VE": Cell(r"$1$", lambda t: 1.0),
        "iDDPM + DDIM": Cell(r"$1$", lambda t: 1.0),
        "EDM": Cell(r"$1$", lambda t: 1.0),
    },
    "c_skip(σ)": {
        "VP": Cell(r"$1$", lambda s: 1.0),
        "VE": Cell(r"$1$", lambda s: 1.0),
        "iDDPM + DDIM": Cell(r"$1$", lambda s: 1.0),
        "EDM": Cell(
            r"$\dfrac{\sigma_\text{data}^2}{\sigma^2 + \sigma_\text{data}^2}$",
            lambda s: sd**2 / (s**2 + sd**2),
        ),
    },
    "c_out(σ)": {
        "VP": Cell(r"$-\sigma$", lambda s: -s),
        "VE": Cell(r"$\sigma$", lambda s: s),
        "iDDPM + DDIM": Cell(r"$-\sigma$", lambda s: -s),
        "EDM": Cell(
            r"$\dfrac{\sigma \cdot \sigma_\text{data}}{\sqrt{\sigma^2 + \sigma_\text{data}^2}}$",
            lambda s: s * sd / math.sqrt(s**2 + sd**2),
        ),
    },
    "c_in(σ)": {
        "VP": Cell(r"$1 / \sqrt{\sigma^2 + 1}$", lambda s: 1 / math.sqrt(s**2 + 1)),
        "VE": Cell(r"$1$", lambda s: 1.0),
        "iDDPM + DDIM": Cell(r"$1 / \sqrt{\sigma^2 + 1}$", lambda s: 1 / math.sqrt(s**2 + 1)),
        "EDM": Cell(
            r"$\dfrac{1}{\sqrt{\sigma^2 + \sigma_\text{data}^2}}$",
            lambda s: 1 / math.sqrt(s**2 + sd**2),
        ),
    },
    "c_noise(σ)": {
        "VP": Cell(r"$(M - 1)\, \sigma^{-1}(\sigma)$", lambda s: (VP["M"] - 1) * _vp_sigma_inv(s)),
        "VE": Cell(r"$\ln(\frac12 \sigma)$", lambda s: math.log(0.5 * s)),
        "iDDPM + DDIM": Cell(
            r"$M - 1 - \arg\min_j \lvert u_j - \sigma \rvert$",
            lambda s: IDDPM["M"] - 1 - _iddpm_noise_index(s),
        ),
        "EDM": Cell(r"$\frac14 \ln(\sigma)$", lambda s: 0.25 * math.log(s)),
    },
    "p_train": {
        "VP": Cell(
            r"$\sigma^{-1}(\sigma) \sim \mathcal{U}(\epsilon_t, 1)$",
            lambda u: _vp_sigma(VP["epsilon_t"] + u * (1 - VP["epsilon_t"])),
        ),
        "VE": Cell(
            r"$\ln(\sigma) \sim \mathcal{U}(\ln \sigma_\min, \ln \sigma_\max)$",
            lambda u: VE["sigma_min"] * (VE["sigma_max"] / VE["sigma_min"]) ** u,
        ),
        "iDDPM + DDIM": Cell(r"$\sigma = u_j,\ j \sim \mathcal{U}\{0, \dots, M-1\}$"),
        "EDM": Cell(
            r"$\ln(\sigma) \sim \mathcal{N}(P_\text{mean}, P_\text{std}^2)$",
            lambda u: math.exp(EDM["P_mean"] + EDM["P_std"] * _normal_quantile(u)),
        ),
    },
    "Loss weight λ(σ)": {
        "VP": Cell(r"$1/\sigma^2$", lambda s: 1 / s**2),
        "VE": Cell(r"$1/\sigma^2$", lambda s: 1 / s**2),
        "iDDPM + DDIM": Cell(r"$1/\sigma^2$", lambda s: 1 / s**2),
        "EDM": Cell(
            r"$\dfrac{\sigma^2 + \sigma_\text{data}^2}{(\sigma \cdot \sigma_\text{data})^2}$",
            lambda s: (s**2 + sd**2) / (s * sd) ** 2,
        ),
    },
}


#: Table 1's three groups of rows, as the paper groups them.
GROUPS: dict[str, tuple[str, ...]] = {
    "Sampling": ("ODE solver", "Time steps t_i", "Schedule σ(t)", "Scaling s(t)"),
    "Network and preconditioning": ("c_skip(σ)", "c_out(σ)", "c_in(σ)", "c_noise(σ)"),
    "Training": ("p_train", "Loss weight λ(σ)"),
}

#: The rows' headings in LaTeX, for tables whose columns are rows of `TABLE1`.
ROW_LATEX = {
    "ODE solver": "ODE solver",
    "Time steps t_i": r"$t_{i<N}$",
    "Schedule σ(t)": r"$\sigma(t)$",
    "Scaling s(t)": r"$s(t)$",
    "c_skip(σ)": r"$c_\text{skip}(\sigma)$",
    "c_out(σ)": r"$c_\text{out}(\sigma)$",
    "c_in(σ)": r"$c_\text{in}(\sigma)$",
    "c_noise(σ)": r"$c_\text{noise}(\sigma)$",
    "p_train": r"$p_\text{train}(\sigma)$",
    "Loss weight λ(σ)": r"$\lambda(\sigma)$",
}

#: Each family's constants: (name in the dicts above, LaTeX symbol, the rows it enters, as MyST).
CONSTANTS: dict[str, tuple[dict, tuple[tuple[str, str, str], ...]]] = {
    "VP": (
        VP,
        (
            ("beta_d", r"\beta_d", r"$\sigma(t)$, $s(t)$"),
            ("beta_min", r"\beta_\min", r"$\sigma(t)$, $s(t)$"),
            ("epsilon_s", r"\epsilon_s", r"the last $t_i$"),
            ("epsilon_t", r"\epsilon_t", r"$p_\text{train}$"),
            ("M", "M", r"$c_\text{noise}$"),
        ),
    ),
    "VE": (
        VE,
        (
            ("sigma_min", r"\sigma_\min", r"$t_i$, $p_\text{train}$"),
            ("sigma_max", r"\sigma_\max", r"$t_i$, $p_\text{train}$"),
        ),
    ),
    "iDDPM + DDIM": (
        IDDPM,
        (
            ("C_1", "C_1", r"$u_j$"),
            ("C_2", "C_2", r"$u_j$"),
            ("M", "M", r"$u_j$, $c_\text{noise}$, $p_\text{train}$"),
            ("j_0", "j_0", r"the first $t_i$"),
        ),
    ),
    "EDM": (
        EDM,
        (
            ("sigma_min", r"\sigma_\min", r"$t_i$"),
            ("sigma_max", r"\sigma_\max", r"$t_i$"),
            ("sigma_data", r"\sigma_\text{data}", r"preconditioning, $\lambda$"),
            ("rho", r"\rho", r"$t_i$"),
            ("P_mean", r"P_\text{mean}", r"$p_\text{train}$"),
            ("P_std", r"P_\text{std}", r"$p_\text{train}$"),
        ),
    ),
}

#: iDDPM's noise levels u_j (Table 1's footnote), as LaTeX and as a function of (M, C_1, C_2)
#: that follows the recursion literally (tests/test_table1.py checks it against `iddpm_u`).
IDDPM_U = Cell(
    r"u_M = 0, \quad u_{j-1} = \sqrt{(u_j^2 + 1)/r_j - 1}, \quad r_j = \max(\bar\alpha_{j-1}/\bar\alpha_j,\, C_1),"
    r" \quad \bar\alpha_j = \sin^2\!\Big(\frac{\pi\, j}{2 M (C_2 + 1)}\Big)",
    lambda M, C_1, C_2: _iddpm_u_recursion(M, C_1, C_2),
)


def _iddpm_u_recursion(M: int, C_1: float, C_2: float) -> list[float]:
    """u_0 … u_M by the recursion of `IDDPM_U`, in float64 Python arithmetic."""

    def alpha_bar(j):
        return math.sin(0.5 * math.pi * j / (M * (C_2 + 1))) ** 2

    u = [0.0] * (M + 1)
    for j in range(M, 0, -1):
        u[j - 1] = math.sqrt((u[j] ** 2 + 1) / max(alpha_bar(j - 1) / alpha_bar(j), C_1) - 1)
    return u


def _number(value: float) -> str:
    """A constant as LaTeX: powers of ten as 10^{k}, others as printed."""
    if value != 0 and abs(value) < 0.01:
        exponent = math.log10(abs(value))
        if exponent == round(exponent):
            return f"10^{{{round(exponent)}}}"
    return f"{value:g}"


def table1_markdown(rows: list[str] | None = None, transpose: bool = False) -> str:
    """Table 1 (or the given rows, names of `TABLE1`) as a MyST Markdown table, ready for
    `IPython.display.Markdown`.  With `transpose`, the model families are the table's rows and the
    given rows of Table 1 its columns (narrower when few rows are shown)."""
    rows = list(TABLE1) if rows is None else check_sequence("rows", rows, min_length=1)
    rows = [check_choice("rows", row, TABLE1) for row in rows]
    transpose = check_bool("transpose", transpose)
    if transpose:
        lines = ["| | " + " | ".join(ROW_LATEX[r] for r in rows) + " |"]
        lines.append("|---" * (len(rows) + 1) + "|")
        for c in COLUMNS:
            lines.append(f"| {c} | " + " | ".join(TABLE1[r][c].latex for r in rows) + " |")
        return "\n".join(lines)
    lines = ["| | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(TABLE1[row][c].latex for c in COLUMNS) + " |")
    return "\n".join(lines)


def constants_markdown() -> str:
    """The constants of Table 1's formulas (`CONSTANTS`), one row per model family, as a MyST
    Markdown table: each constant as `$symbol = value$` with the rows of Table 1 it enters."""
    lines = ["| | constants |", "|---|---|"]
    for c in COLUMNS:
        values, entries = CONSTANTS[c]
        cells = [f"${sym} = {_number(values[key])}$ ({role})" for key, sym, role in entries]
        lines.append(f"| {c} | " + "; ".join(cells) + " |")
    return "\n".join(lines)
