"""`make bench`, second part: training steps per second for each network the chapters train.

For each of the book's networks (`edm_src.instruments.trained`: the ring MLP, the
digits MLP and the digits U-Net), trains a few steps with EDM's preconditioning and
loss, alone and as a batch of runs trained together (`train_many`, vmap), and prints
steps per second and the seconds a chapter's full run costs.  Nothing is cached.
Training uses `edm_src.training.TRAINING_THREADS` torch threads, as in the book.
Usage: `python scripts/bench_training.py [--quick]`.
"""

from __future__ import annotations

import argparse
import sys
import time

from edm_src import train_many
from edm_src.instruments.trained import (
    DIGITS_NET,
    DIGITS_UNET,
    RING_NET,
    digits_split,
    family_run,
    ring_training_data,
)
from edm_src.networks import make_network, network_parameter_count


def steps_per_second(runs: list[dict], steps: int) -> float:
    """Steps per second of training `runs` together for `steps` steps (after one warm-up step)."""
    short = [dict(run, steps=steps) for run in runs]
    train_many([dict(short[0], steps=1)], cache=False, progress=False)  # warm-up
    start = time.perf_counter()
    train_many(short, cache=False, progress=False)
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (noisier)")
    args = parser.parse_args(argv)
    _, ring_data = ring_training_data()
    train_digits, _ = digits_split()
    networks = {
        "ring MLP": (RING_NET, ring_data, 0.71),
        "digits MLP": (DIGITS_NET, train_digits, 0.75),
        "digits U-Net": (DIGITS_UNET, train_digits, 0.75),
    }
    print(
        f"{'network':14} {'parameters':>10} {'runs':>5} {'steps/s':>8} {'run-steps/s':>12} "
        f"{'s per chapter run':>18}"
    )
    for name, (config, data, sigma_data) in networks.items():
        shape = tuple(data.shape[1:])
        params = network_parameter_count(
            make_network(config["network"], shape, **config["network_kwargs"])
        )
        steps = (
            (5 if args.quick else 20)
            if config["network"] == "unet"
            else (20 if args.quick else 100)
        )
        for M in (1, 4):
            runs = [family_run(data, "edm", sigma_data, **dict(config, seed=s)) for s in range(M)]
            rate = steps_per_second(runs, steps)
            print(
                f"{name:14} {params:>10,} {M:>5} {rate:>8.1f} {M * rate:>12.1f} "
                f"{config['steps'] / (M * rate):>18.1f}"
            )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
