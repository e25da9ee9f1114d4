"""`make bench` (scripts/bench.py): its yardstick computes what the samplers compute, and it runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch
from helpers import randn

from edm_src import edm_sampler
from edm_src.schedules import edm_sigma_steps

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_the_bare_loop_is_algorithm_2_without_churn():
    """The yardstick is Heun's method on Eq. 5's steps: edm_sampler gives the same bits, with σ
    handed to the denoiser as a tensor or as a float alike."""
    z = randn(5, 2)
    t_steps = edm_sigma_steps(bench.NUM_STEPS).tolist() + [0.0]
    expected = edm_sampler(bench.trivial_denoiser, z, num_steps=bench.NUM_STEPS)
    assert torch.equal(bench.bare_heun(bench.trivial_denoiser, z, t_steps), expected)
    assert torch.equal(
        bench.bare_heun(bench.trivial_denoiser, z, t_steps, tensor_sigma=False), expected
    )


def run_quick(script: str) -> subprocess.CompletedProcess:
    """`python scripts/<script> --quick`, which must exit 0 within 5 minutes."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def test_the_bench_runs_and_prints_every_ratio():
    """`scripts/bench.py --quick` runs to the end and prints a ratio for both samplers at
    B = 1, 64 and 4,096 and for both exact denoisers (timings are not asserted: machines differ)."""
    result = run_quick("bench.py")
    lines = result.stdout.splitlines()
    for sampler in ("edm_sampler", "ablation_sampler"):
        assert sorted(int(line.split()[1]) for line in lines if line.startswith(sampler)) == [
            1,
            64,
            4096,
        ]
    assert any(line.startswith("64-D mixture") for line in lines)
    assert any(line.startswith("digits") for line in lines)
    assert "worst sampler ratio" in result.stdout


def test_the_training_bench_prints_every_network():
    """`scripts/bench_training.py --quick` prints steps per second for the ring MLP, the digits
    MLP and the digits U-Net, alone and four runs together, with their parameter counts."""
    result = run_quick("bench_training.py")
    rows = [line for line in result.stdout.splitlines()[1:] if line.strip()]
    names = [" ".join(line.split()[:2]) for line in rows]
    assert sorted(set(names)) == ["digits MLP", "digits U-Net", "ring MLP"]
    assert all(float(line.split()[-3]) > 0 for line in rows)  # steps per second
    assert "31,554" in result.stdout  # the ring MLP's parameters
