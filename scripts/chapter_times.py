"""Print the execution time of each chapter from the build's execution cache, as a Markdown table.

Run after `make book` (or `make test`): `make times`.  The README's table of
chapter execution times is this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from jupyter_cache import get_cache

    cache_dir = ROOT / "_build" / ".jupyter_cache"
    if not cache_dir.exists():
        print(f"error: {cache_dir} does not exist; run `make book` first", file=sys.stderr)
        return 1
    latest: dict[str, tuple[object, float]] = {}
    for record in get_cache(cache_dir).list_cache_records():
        seconds = record.data.get("execution_seconds")
        if seconds is None:
            continue
        uri = Path(record.uri).resolve()
        if uri.is_relative_to(ROOT) and (uri not in latest or record.created > latest[uri][0]):
            latest[uri] = (record.created, seconds)
    print("| Chapter | Execution time (s) |")
    print("|---|---|")
    for uri in sorted(latest):
        print(f"| `{uri.relative_to(ROOT)}` | {latest[uri][1]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
