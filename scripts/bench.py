"""`make bench`: what the samplers and the exact denoisers cost, against the cost of their bare arithmetic.

Samplers.  Each sampler runs 18 steps in float64 with a trivial denoiser,
D(x; σ) = x/(1 + σ²), so that almost all of the time is the sampler's own
bookkeeping.  The yardstick is a bare Heun loop (Algorithm 1 with σ(t) = t,
s(t) = 1, no churn): its own arithmetic uses the time steps as Python floats,
and it hands the denoiser σ as a 0-dim float64 tensor, as the net protocol
(and the paper's reference code) do; that is the least a Heun sampler can do.
The ratio sampler/bare loop is printed at B = 1, 64 and 4,096 (points in 2-D);
issue 8 asks for at most 1.5 everywhere.  For reference, the bench also times
the same loop handing the denoiser σ as a Python float: then x/(1 + σ²) is one
tensor operation instead of three (σ², 1 + σ², the division), which is the
denoiser's cost of a tensor σ, not the sampler's.

Denoisers.  One evaluation of an exact denoiser D(x; σ) costs at least the two
matrix products it needs: the inner products of the B queries with the K
component means, x μᵀ ([B, D] × [D, K]), and the responsibility-weighted
average of the means, r μ ([B, K] × [K, D]).  The ratio is printed for
Chapter 3's 64-D mixture (K = 32) at B = 500 and for the digits (K = 1,797
training images) at B = 256.

Times are the minimum over repeats of the mean over a loop (`timeit`), with
one torch thread, as the book's kernels run.  Usage: `python scripts/bench.py
[--quick] [--check]`; `--check` exits with status 1 if a sampler ratio is over 1.5.
"""

from __future__ import annotations

import argparse
import sys
import timeit

import torch

from edm_src import ablation_sampler, digits_benchmark, edm_sampler, low_dim_mixture
from edm_src.schedules import edm_sigma_steps

NUM_STEPS = 18
BATCH_SIZES = (1, 64, 4096)
DIM = 2
GOAL = 1.5


def trivial_denoiser(x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
    """D(x; σ) = x/(1 + σ²): the exact denoiser of N(0, I), one cheap operation."""
    return x / (1 + sigma**2)


def bare_heun(
    net, latents: torch.Tensor, t_steps: list[float], tensor_sigma: bool = True
) -> torch.Tensor:
    """Algorithm 1 with σ(t) = t, s = 1 and nothing else: the yardstick (t_steps ends with 0).

    The arithmetic uses the Python floats `t_steps`; the net gets σ as a 0-dim float64
    tensor (`tensor_sigma`, the net protocol) or as the Python float itself.
    """
    sigmas = torch.tensor(t_steps, dtype=torch.float64).unbind() if tensor_sigma else t_steps
    x = latents.to(torch.float64) * t_steps[0]
    last = len(t_steps) - 2
    for i in range(last + 1):
        t_cur, t_next = t_steps[i], t_steps[i + 1]
        d = (x - net(x, sigmas[i])) / t_cur
        x_next = x + (t_next - t_cur) * d
        if i < last:
            d_prime = (x_next - net(x_next, sigmas[i + 1])) / t_next
            x_next = x + (t_next - t_cur) * (0.5 * d + 0.5 * d_prime)
        x = x_next
    return x


def seconds_per_call(fns: dict, budget: float, repeats: int) -> dict:
    """Per function: the minimum over `repeats` rounds of its mean time per call.

    The functions are timed in turn within each round (A B C A B C …), so that a
    drift in the machine's speed affects them alike; each timing lasts about `budget` s.
    """
    numbers = {}
    for name, fn in fns.items():
        fn()  # warm-up
        numbers[name] = max(1, int(budget / max(timeit.timeit(fn, number=1), 1e-7)))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            best[name] = min(best[name], timeit.timeit(fn, number=numbers[name]) / numbers[name])
    return best


def sampler_calls(latents: torch.Tensor, t_steps: list[float]) -> dict:
    """The four calls timed at one batch size: both samplers and the bare loop, two ways."""
    return {
        "edm_sampler": lambda: edm_sampler(trivial_denoiser, latents, num_steps=NUM_STEPS),
        "ablation_sampler": lambda: ablation_sampler(
            trivial_denoiser, latents, num_steps=NUM_STEPS
        ),
        "bare Heun loop": lambda: bare_heun(trivial_denoiser, latents, t_steps),
        "  (σ as a float)": lambda: bare_heun(
            trivial_denoiser, latents, t_steps, tensor_sigma=False
        ),
    }


def bench_samplers(budget: float, repeats: int) -> list[tuple[str, int, float, float]]:
    """(what, B, seconds per call, ratio to the bare loop) for both samplers at each B."""
    t_steps = edm_sigma_steps(NUM_STEPS).tolist() + [0.0]
    rows = []
    for B in BATCH_SIZES:
        g = torch.Generator().manual_seed(0)
        latents = torch.randn(B, DIM, generator=g, dtype=torch.float64)
        # Both samplers compute what the bare loop computes: edm_sampler in the same arithmetic
        # (bit for bit), ablation_sampler through Eq. 4's general coefficients (to rounding).
        expected = bare_heun(trivial_denoiser, latents, t_steps)
        if not torch.equal(edm_sampler(trivial_denoiser, latents, num_steps=NUM_STEPS), expected):
            raise SystemExit(f"edm_sampler differs from the bare Heun loop at B={B}")
        out = ablation_sampler(trivial_denoiser, latents, num_steps=NUM_STEPS)
        if not torch.allclose(out, expected, rtol=1e-12, atol=1e-14):
            raise SystemExit(f"ablation_sampler differs from the bare Heun loop at B={B}")
        times = seconds_per_call(sampler_calls(latents, t_steps), budget, repeats)
        bare = times["bare Heun loop"]
        rows += [(name, B, seconds, seconds / bare) for name, seconds in times.items()]
    return rows


def denoiser_calls(net, x: torch.Tensor, r: torch.Tensor) -> dict:
    """One D(x; σ) and the two matrix products it cannot do without, x μᵀ and r μ."""
    sigma, means = torch.tensor(0.5, dtype=torch.float64), net.means  # [K, D]
    return {"D": lambda: net(x, sigma), "products": lambda: (x @ means.T, r @ means)}


def bench_denoisers(budget: float, repeats: int) -> list[tuple[str, int, float, float, float]]:
    """(denoiser, B, seconds per D, seconds for the two matrix products, ratio) for the two benchmarks."""
    mixture = low_dim_mixture()
    _, digits = digits_benchmark()
    rows = []
    for name, net, B in (
        ("64-D mixture (K = 32)", mixture, 500),
        ("digits (K = 1797)", digits, 256),
    ):
        g = torch.Generator().manual_seed(0)
        x = net.sample(B, generator=g) + 0.5 * torch.randn(
            B, net.dim, generator=g, dtype=torch.float64
        )
        r = torch.softmax(x @ net.means.T, dim=1)  # [B, K], responsibilities of the right shape
        times = seconds_per_call(denoiser_calls(net, x, r), budget, repeats)
        seconds, products = times["D"], times["products"]
        rows.append((name, B, seconds, products, seconds / products))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (noisier)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a sampler is over {GOAL}x")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    budget, repeats = (0.05, 3) if args.quick else (0.2, 7)

    print(
        f"Samplers: {NUM_STEPS} steps, float64, D(x; σ) = x/(1 + σ²), x of shape [B, {DIM}], one thread"
    )
    print(f"{'':18} {'B':>6} {'time per call':>15} {'× bare loop':>12}")
    rows = bench_samplers(budget, repeats)
    for name, B, seconds, ratio in rows:
        print(f"{name:18} {B:>6} {seconds * 1e3:>12.3f} ms {ratio:>11.2f}×")
    worst = max(ratio for name, _, _, ratio in rows if name.endswith("sampler"))
    print(f"worst sampler ratio: {worst:.2f}× (goal: at most {GOAL}×)\n")

    print("Exact denoisers: one D(x; σ) against its two matrix products x μᵀ and r μ, one thread")
    print(f"{'':22} {'B':>5} {'D(x; σ)':>11} {'x μᵀ + r μ':>12} {'ratio':>7}")
    for name, B, seconds, products, ratio in bench_denoisers(budget, repeats):
        print(f"{name:22} {B:>5} {seconds * 1e3:>8.3f} ms {products * 1e3:>9.3f} ms {ratio:>6.2f}×")

    if args.check and worst > GOAL:
        print(f"error: a sampler costs {worst:.2f}× the bare loop (goal {GOAL}×)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
