"""Execute the book's stale chapters in two lanes before Sphinx reads them, so a cold build
uses both cores.

Jupyter Book (myst-nb's `cache` mode) executes each chapter when Sphinx reads it, one at a
time.  Most chapters compute with one thread (`_ext/kernel_env.py` sets OMP_NUM_THREADS=1),
so a cold build leaves the second core idle for minutes.  This script executes every chapter
whose source has no record in the execution cache, exactly as myst-nb would (the notebook
myst-nb reads, in the chapter's directory, with the build's kernel environment and cell
time-out), and stores each result in the cache as myst-nb does (jupyter-cache, with its
execution time); the build then finds every chapter cached.

The chapters run in two lanes at once:

* the training lane: the chapters that train networks (their source calls `train_many`), in
  the table of contents' order, because a later one loads networks an earlier one trained and
  cached; training uses two threads (`edm_src.training.TRAINING_THREADS`);
* the other lane: the remaining chapters, one after another, at a lower scheduling priority
  (nice `NICE`), so that they take the cycles training leaves idle and slow it little.

Outputs are the same bits either way: each chapter runs in its own kernel, seeded, with
its own thread counts.  A chapter that fails here is left to the build, which executes it
again and reports the error as usual.  `make book` and `make book-strict` run this after
`scripts/cache_guard.py`:

    python scripts/execute_book.py [--lanes 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from chapter_times import CACHE, read_notebook, toc_pages  # noqa: E402

#: The other lane's scheduling priority (0 is normal, 19 the lowest).
NICE = 5
#: What marks a chapter that trains networks (and so belongs to the training lane).
TRAINS = "train_many("


def stale_pages(cache) -> list:
    """The executed pages of the table of contents with no cache record of their current source."""
    pages = []
    for chapter in toc_pages():
        for page in chapter:
            if not page.executed:
                continue
            try:
                cache.match_cache_notebook(read_notebook(page.path))
            except KeyError:
                pages.append(page)
    return pages


def build_environment() -> None:
    """The kernels' environment in a build (as `_ext/kernel_env.py` sets it for myst-nb)."""
    sys.path.insert(0, str(ROOT / "_ext"))
    from kernel_env import BOOK_BUILD_ENV

    os.environ[BOOK_BUILD_ENV] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def cell_timeout() -> int:
    """_config.yml's per-cell time-out (execute: timeout), as myst-nb uses it."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return int((config.get("execute") or {}).get("timeout", 300))


def run_lane(pages, cache, lock: threading.Lock, nice: int, timeout: int, log) -> None:
    """Execute `pages` one after another and cache each result (kernels inherit `nice`)."""
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    if nice:  # Linux: a thread's nice value; the kernels it starts inherit it
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    for page in pages:
        name = page.path.relative_to(ROOT)
        notebook = read_notebook(page.path)
        result = single_nb_execution(
            notebook,
            cwd=str(page.path.parent),
            allow_errors=False,
            timeout=timeout,
            meta_override=True,
        )
        if result.err is not None:
            log(f"{name}: failed ({type(result.err).__name__}); the build will execute it again")
            continue
        with lock:
            stage = cache.add_nb_to_project(
                str(page.path), read_data={"type": "plugin", "name": "myst_nb_md"}
            )
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, stage.uri, data={"execution_seconds": result.time}),
                check_validity=False,
                overwrite=True,
            )
        log(f"{name}: executed in {result.time:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=2, help="1: one chapter at a time")
    args = parser.parse_args(argv)
    from jupyter_cache import get_cache

    CACHE.mkdir(parents=True, exist_ok=True)
    cache = get_cache(CACHE)
    pages = stale_pages(cache)
    if not pages:
        print("execute_book: every chapter is in the execution cache")
        return 0
    build_environment()
    training = [p for p in pages if TRAINS in p.path.read_text()]
    other = [p for p in pages if p not in training]
    lanes = [(training, 0), (other, NICE)] if args.lanes > 1 else [(training + other, 0)]
    lock = threading.Lock()
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"execute_book [{time.perf_counter() - start:5.0f} s] {message}", flush=True)

    log(f"{len(pages)} chapters to execute: {len(training)} that train, {len(other)} others")
    threads = [
        threading.Thread(target=run_lane, args=(lane, cache, lock, nice, cell_timeout(), log))
        for lane, nice in lanes
        if lane
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
