"""Delete the notebook execution cache when the inputs it was built from have changed.

jupyter-cache keys each executed chapter on the chapter's own source only.  A
chapter's outputs also depend on `edm_src`, on the pinned requirements and on
`_config.yml` (the execution settings), so a change to any of these must
re-execute every chapter.  This script hashes them, compares the hash with the
one stored next to the cache (`INPUTS_FILE` inside the cache folder) and, when
they differ or none is stored, deletes the cache and Sphinx's environment.  It then stores the current
hash.  It also prunes the cache to the newest record of each chapter, so that
the cache (which CI saves between runs) does not grow with every edit.  `make
book` and `make book-strict` run it before every build:

    python scripts/cache_guard.py [--root .] [--cache _build/.jupyter_cache]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path("_build") / ".jupyter_cache"
INPUTS_FILE = "edm_inputs.sha256"  # stored inside the cache folder
DOCTREES = ".doctrees"  # Sphinx's environment, beside the cache in _build


def input_files(root: Path) -> list[Path]:
    """The files every chapter's outputs depend on, besides its own source (sorted)."""
    files = sorted((root / "edm_src").rglob("*.py"))
    files += [root / "requirements.txt", root / "_config.yml"]
    return [path for path in files if path.is_file()]


def inputs_hash(root: Path) -> str:
    """SHA-256 over the relative path and the bytes of each of `input_files(root)`."""
    digest = hashlib.sha256()
    for path in input_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def guard(root: Path, cache: Path) -> bool:
    """Delete `cache` unless it was built from the current inputs; store their hash.

    With the cache goes Sphinx's environment (``.doctrees`` beside it), so that
    the next build re-reads, and so re-executes, every page.

    Returns True when the cache was deleted.
    """
    current = inputs_hash(root)
    stamp = cache / INPUTS_FILE
    stale = cache.exists() and (not stamp.is_file() or stamp.read_text().strip() != current)
    if stale:
        shutil.rmtree(cache)
        # Sphinx's saved environment too: an incremental build re-reads (and so
        # re-executes) only pages whose source changed, and none did.
        shutil.rmtree(cache.parent / DOCTREES, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return stale


def prune(cache: Path) -> int:
    """Keep only the newest execution record of each source file (uri); return how many went."""
    if not (cache / "global.db").exists():
        return 0
    from jupyter_cache import get_cache

    jc = get_cache(cache)
    records = sorted(jc.list_cache_records(), key=lambda r: (r.created, r.pk), reverse=True)
    seen: set[str] = set()
    removed = 0
    for record in records:
        if record.uri in seen:
            jc.remove_cache(record.pk)
            removed += 1
        seen.add(record.uri)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default: ROOT/_build/.jupyter_cache)",
    )
    args = parser.parse_args(argv)
    cache = args.cache if args.cache is not None else args.root / CACHE
    if guard(args.root, cache):
        print(
            f"cache_guard: edm_src, requirements.txt or _config.yml changed: deleted {cache}, "
            "every chapter will be re-executed",
            file=sys.stderr,
        )
    elif removed := prune(cache):
        print(f"cache_guard: pruned {removed} superseded execution record(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
