"""The rendered Table 1 (`edm_src.instruments.table1`) agrees cell by cell with the code that runs."""

import pytest
import torch

from edm_src import EDMLoss, EDMPrecond, VELoss, VEPrecond, VPLoss, VPPrecond, iDDPMPrecond
from edm_src.instruments.table1 import (
    ARGUMENT,
    COLUMNS,
    CONSTANTS,
    EDM,
    GROUPS,
    IDDPM,
    IDDPM_U,
    ROW_LATEX,
    TABLE1,
    VE,
    VP,
    constants_markdown,
    table1_markdown,
)
from edm_src.schedules import (
    edm_sigma_steps,
    get_scaling,
    get_schedule,
    iddpm_sigma_steps,
    iddpm_u,
    ve_sigma_steps,
    vp_sigma_steps,
)

SIGMAS = [0.002, 0.01, 0.1, 0.5, 1.0, 3.0, 20.0, 80.0]
TIMES = [1e-3, 0.01, 0.2, 0.5, 1.0]
PRECONDS = {
    "VP": lambda: VPPrecond(None),
    "VE": lambda: VEPrecond(None),
    "iDDPM + DDIM": lambda: iDDPMPrecond(None),
    "EDM": lambda: EDMPrecond(None),
}
SCHEDULE_NAMES = {
    "VP": ("vp", "vp"),
    "VE": ("ve", "none"),
    "iDDPM + DDIM": ("linear", "none"),
    "EDM": ("linear", "none"),
}


def test_every_row_has_every_column_and_renders():
    """Each row has a cell per model family, and the Markdown table has one line per row (+2 header lines)."""
    for row, cells in TABLE1.items():
        assert set(cells) == set(COLUMNS), row
        assert row in ARGUMENT
    assert len(table1_markdown().splitlines()) == len(TABLE1) + 2


@pytest.mark.parametrize("column", COLUMNS)
def test_schedule_and_scaling_cells_match_schedules(column):
    """σ(t) and s(t) cells equal schedules.get_schedule / get_scaling with the paper's constants."""
    sigma_name, scaling_name = SCHEDULE_NAMES[column]
    sigma, sigma_deriv, _ = get_schedule(sigma_name, beta_d=VP["beta_d"], beta_min=VP["beta_min"])
    s, _ = get_scaling(scaling_name, sigma, sigma_deriv)
    for t in TIMES:
        tt = torch.tensor(t, dtype=torch.float64)
        assert TABLE1["Schedule σ(t)"][column].value(t) == pytest.approx(
            sigma(tt).item(), rel=1e-12
        )
        assert TABLE1["Scaling s(t)"][column].value(t) == pytest.approx(float(s(tt)), rel=1e-12)


@pytest.mark.parametrize("column", COLUMNS)
def test_preconditioning_cells_match_the_preconditioners(column):
    """c_skip, c_out, c_in, c_noise cells equal the preconditioner's coefficients at every σ."""
    net = PRECONDS[column]()
    for sigma in SIGMAS:
        got = net.coefficients(torch.tensor(sigma, dtype=torch.float64))
        for name, value in zip(("c_skip(σ)", "c_out(σ)", "c_in(σ)", "c_noise(σ)"), got):
            want = TABLE1[name][column].value(sigma)
            assert value.item() == pytest.approx(want, rel=1e-9, abs=1e-12), (column, name, sigma)


@pytest.mark.parametrize("column, loss", [("VP", VPLoss()), ("VE", VELoss()), ("EDM", EDMLoss())])
def test_loss_weight_cells_match_the_losses(column, loss):
    """λ(σ) cells equal the losses' weight(σ)."""
    for sigma in SIGMAS:
        assert loss.weight(torch.tensor(sigma, dtype=torch.float64)).item() == pytest.approx(
            TABLE1["Loss weight λ(σ)"][column].value(sigma), rel=1e-12
        )


@pytest.mark.parametrize("column, loss", [("VP", VPLoss()), ("VE", VELoss()), ("EDM", EDMLoss())])
def test_p_train_cells_are_the_losses_sampling_distributions(column, loss):
    """The p_train cell's inverse CDF predicts the quantiles of loss.sample_sigma (100,000 draws):
    each empirical quantile's CDF level is within 0.01 of the nominal one."""
    g = torch.Generator().manual_seed(0)
    sigma = loss.sample_sigma((100_000,), generator=g).double().sort().values
    for u in (0.05, 0.25, 0.5, 0.75, 0.95):
        q = TABLE1["p_train"][column].value(u)
        level = (sigma <= q).double().mean().item()
        assert abs(level - u) < 0.01, (column, u, level)


@pytest.mark.parametrize("N", [2, 5, 18, 64])
def test_time_step_cells_match_the_discretizations(N):
    """Each formula cell of the t_i row, mapped to σ through its column's σ(t) cell, equals the σ_i
    the samplers use (`vp_sigma_steps`, `ve_sigma_steps`, `edm_sigma_steps` with the paper's
    constants), for every i; the iDDPM cell (a pick among the u_j) starts at u_{j_0}, j_0 = 8."""
    vp_range = (
        TABLE1["Schedule σ(t)"]["VP"].value(VP["epsilon_s"]),
        TABLE1["Schedule σ(t)"]["VP"].value(1.0),
    )
    implementations = {
        "VP": vp_sigma_steps(N, *vp_range, epsilon_s=VP["epsilon_s"]),
        "VE": ve_sigma_steps(N, VE["sigma_min"], VE["sigma_max"]),
        "EDM": edm_sigma_steps(N, EDM["sigma_min"], EDM["sigma_max"], EDM["rho"]),
    }
    for column, steps in implementations.items():
        sigma_of_t = TABLE1["Schedule σ(t)"][column].value
        for i in range(N):
            from_table = sigma_of_t(TABLE1["Time steps t_i"][column].value(i, N))
            assert from_table == pytest.approx(steps[i].item(), rel=1e-12), (column, i)
    assert vp_range[0] == pytest.approx(0.0105, abs=5e-5)
    u = iddpm_u()
    assert iddpm_sigma_steps(N, EDM["sigma_min"], 81.0)[0] == u[IDDPM["j_0"]]


def test_markdown_table_has_one_cell_per_column_in_every_row():
    """table1_markdown: every row splits into exactly the columns (no `|` inside a formula,
    which would break the Markdown table into extra cells)."""
    lines = table1_markdown().splitlines()
    assert len(lines) == len(TABLE1) + 2
    for line in lines:
        assert line.startswith("|") and line.endswith("|")
        assert line.count("|") == len(COLUMNS) + 2, line


def test_groups_partition_the_rows_in_order():
    """GROUPS (the paper's sampling / network and preconditioning / training) holds every row of
    TABLE1 exactly once, in the table's order, and every row has a LaTeX heading."""
    rows = [row for group in GROUPS.values() for row in group]
    assert rows == list(TABLE1)
    assert set(ROW_LATEX) == set(TABLE1)


def test_transposed_table_has_one_row_per_family():
    """table1_markdown(transpose=True): one line per model family (+2 header lines), each with one
    cell per requested row of Table 1, and the cells are the same LaTeX as untransposed."""
    rows = list(GROUPS["Network and preconditioning"])
    lines = table1_markdown(rows, transpose=True).splitlines()
    assert len(lines) == len(COLUMNS) + 2
    for line in lines:
        assert line.count("|") == len(rows) + 2, line
    for column, line in zip(COLUMNS, lines[2:]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells == [column] + [TABLE1[r][column].latex for r in rows]


def test_constants_table_shows_each_constant_with_its_value():
    """constants_markdown: one line per family, and each constant of CONSTANTS as
    `$symbol = value$`, where value printed back equals the constant in VP / VE / IDDPM / EDM."""
    lines = constants_markdown().splitlines()
    assert len(lines) == len(COLUMNS) + 2
    for column, line in zip(COLUMNS, lines[2:]):
        values, entries = CONSTANTS[column]
        assert line.startswith(f"| {column} |")
        for key, symbol, _ in entries:
            text = line.split(f"${symbol} = ", 1)[1].split("$", 1)[0]
            number = 10 ** float(text[4:-1]) if text.startswith("10^{") else float(text)
            assert number == pytest.approx(values[key], rel=1e-12), (column, key, text)
    assert tuple(CONSTANTS[c][0] for c in COLUMNS) == (VP, VE, IDDPM, EDM)


def test_iddpm_u_recursion_as_printed_gives_the_samplers_levels():
    """The u_j recursion of IDDPM_U, run literally in float64 from u_M = 0, gives the levels that
    schedules.iddpm_u computes in closed form (relative 1e-3: iddpm_u evaluates ᾱ_j in float32, as
    the reference setup does), and u_{j_0} ≈ 80.2, the first level the sampler keeps."""
    u = IDDPM_U.value(IDDPM["M"], IDDPM["C_1"], IDDPM["C_2"])
    want = iddpm_u(IDDPM["M"], IDDPM["C_1"], IDDPM["C_2"]).tolist()
    assert len(u) == IDDPM["M"] + 1 and u[-1] == 0.0
    for j in range(IDDPM["M"]):
        assert u[j] == pytest.approx(want[j], rel=1e-3), j
    assert u[IDDPM["j_0"]] == pytest.approx(80.2, abs=0.05)
    assert all(a > b for a, b in zip(u, u[1:]))
