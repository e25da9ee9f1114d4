"""Find, or else obtain, the Chromium that the browser tests (tests/test_browser.py) drive.

`make test` runs this first (the `browser` target), so that a machine without a
browser gets one, or is told what to install, in seconds rather than after the
three-minute build.  A browser that is already there is used, in this order:

1. ``$EDM_CHROMIUM`` when set (used as given, but it must run);
2. the system's ``chromium``, ``chromium-browser``, ``google-chrome`` or
   ``google-chrome-stable`` on the PATH, the first that runs;
3. Playwright's own managed Chromium, when an earlier run downloaded it.

When there is none, one is installed, in this order:

4. as root on a machine with apt (Debian, Ubuntu): Debian's ``chromium``
   package (one ``apt-get update``, then ``apt-get install -y
   --no-install-recommends chromium``);
5. otherwise, or when apt failed: Playwright's managed Chromium (``python -m
   playwright install --no-shell chromium``, about 170 MB from Playwright's
   download server into its cache, ``~/.cache/ms-playwright`` unless
   ``PLAYWRIGHT_BROWSERS_PATH`` says otherwise).

It prints one line naming the browser and where it came from, and exits 0.
When nothing works it prints a one-line error saying what to install, and
exits 1, which stops `make test`.  With ``EDM_SKIP_BROWSER_TESTS=1`` (never on
CI, where ``CI`` is set) a machine without a browser installs nothing and
exits 0: the browser tests are then skipped.

tests/test_browser.py drives the browser that `find_chromium` returns, so the
tests use what this script found or installed:

    python scripts/ensure_chromium.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Executable names of the system's Chromium or Chrome, in order of preference.
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
APT_UPDATE = ["apt-get", "update", "-qq"]
APT_INSTALL = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
# --no-shell: the tests launch the full Chromium by its path, never the headless shell.
PLAYWRIGHT_INSTALL = [sys.executable, "-m", "playwright", "install", "--no-shell", "chromium"]
VERSION_TIMEOUT_S = 30


def _shown(path: str) -> str:
    """`path` relative to the repository when inside it (``.venv/bin/python``), else as is."""
    try:
        return Path(path).relative_to(ROOT).as_posix()
    except ValueError:
        return path


NO_CHROMIUM = (
    "no Chromium for the browser tests: install Debian's chromium (apt-get install chromium)"
    f" or run {_shown(sys.executable)} -m playwright install chromium,"
    " or set EDM_CHROMIUM=/path/to/chrome"
)


@dataclass(frozen=True)
class Chromium:
    """A Chromium (or Chrome) executable that runs: its path, version and origin."""

    path: str
    version: str
    source: str


def one_line(output: str) -> str:
    """The telling line of a tool's output: its first error line (apt's ``E:``, Node's
    ``Error:``), else its last line; without colour codes, at most 200 characters."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith(("E:", "Error:"))]
    line = (errors or lines or ["(no output)"])[0 if errors else -1]
    return line[:200]


def run(command: list[str], **kwargs) -> tuple[int, str]:
    """Run `command`, capturing stdout and stderr together: (exit status, output).

    A missing or unrunnable program gives status 127 and the reason as output,
    instead of an exception.
    """
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
        )
    except OSError as error:
        return 127, str(error)
    return done.returncode, done.stdout


def chromium_version(path: str) -> tuple[str | None, str]:
    """(version, "") when `path` runs ``--version``, else (None, why not).

    A Chromium that is on the PATH but cannot start (a snap wrapper in a
    container, or Playwright's build without the system libraries it needs)
    fails here, in a second, rather than in the browser tests.
    """
    # stdout alone: Debian's launcher script may print shell warnings on stderr first.
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, one_line(str(error))
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip().splitlines()[0], ""
    return None, one_line(done.stderr + done.stdout)


def playwright_chromium_path() -> str | None:
    """Where Playwright keeps its managed Chromium (whether downloaded or not), or None
    when Playwright cannot tell (not installed, or its driver does not start)."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            return playwright.chromium.executable_path
    except Exception:
        return None


def find_chromium(note: Callable[[str], object] = lambda _: None) -> Chromium | None:
    """The browser already on this machine that the tests drive, or None.

    ``$EDM_CHROMIUM`` when set (even when it does not run: the caller reports
    that), else the first of `SYSTEM_NAMES` on the PATH that runs, else
    Playwright's managed Chromium when it is downloaded and runs.  `note` gets
    one line for each browser found that does not run.
    """
    if path := os.environ.get("EDM_CHROMIUM"):
        version, _ = chromium_version(path)
        return Chromium(path, version or "", "from $EDM_CHROMIUM")
    for name in SYSTEM_NAMES:
        if path := shutil.which(name):
            version, why = chromium_version(path)
            if version:
                return Chromium(path, version, f"the system's {name} on the PATH")
            note(f"passing over {path}: it does not run ({why})")
    path = playwright_chromium_path()
    if path and Path(path).is_file():
        version, why = chromium_version(path)
        if version:
            return Chromium(path, version, "Playwright's managed Chromium")
        note(f"passing over Playwright's Chromium at {path}: it does not run ({why})")
    return None


def is_root() -> bool:
    """Whether this process may install system packages itself."""
    return os.geteuid() == 0


def say(line: str) -> None:
    """One line of progress, flushed at once (apt and downloads take a while)."""
    print(f"browser: {line}", flush=True)


def install_with_apt() -> bool:
    """Install Debian's chromium package with apt-get; False, with the reason said, on failure.

    Runs ``apt-get update`` once, first: a fresh container has no package lists.
    """
    say("no Chromium found: installing Debian's chromium package with apt-get (a minute or two)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (APT_UPDATE, APT_INSTALL):
        status, output = run(command, env=env)
        if status != 0:
            say(f"`{' '.join(command)}` failed: {one_line(output)}")
            return False
    return True


def install_with_playwright() -> bool:
    """Download Playwright's managed Chromium; False, with the reason said, on failure."""
    say(
        "no Chromium found: downloading Playwright's Chromium"
        f" ({_shown(PLAYWRIGHT_INSTALL[0])} {' '.join(PLAYWRIGHT_INSTALL[1:])}, about 170 MB)"
    )
    status, output = run(PLAYWRIGHT_INSTALL)
    if status != 0:
        say(f"Playwright's download failed: {one_line(output)}")
        return False
    return True


def obtain_chromium() -> Chromium | None:
    """Install a Chromium (apt as root, else Playwright's download) and find it; None if none works."""
    attempts = []
    if is_root() and shutil.which("apt-get"):
        attempts.append(
            (install_with_apt, "Debian's chromium package, just installed with apt-get")
        )
    attempts.append((install_with_playwright, "Playwright's managed Chromium, just downloaded"))
    for install, source in attempts:
        if install() and (found := find_chromium(note=say)):
            return Chromium(found.path, found.version, source)
    return None


def main() -> int:
    """Print the browser the tests will use and where it came from; 1 when there is none."""
    on_ci = bool(os.environ.get("CI"))
    found = find_chromium(note=say)
    if found and not found.version:
        print(
            f"error: EDM_CHROMIUM={found.path} does not run ({chromium_version(found.path)[1]}):"
            " point it at a Chromium or Chrome executable, or unset it",
            file=sys.stderr,
        )
        return 1
    if found is None and os.environ.get("EDM_SKIP_BROWSER_TESTS") == "1" and not on_ci:
        say("no Chromium found; EDM_SKIP_BROWSER_TESTS=1, so the browser tests will be skipped")
        return 0
    found = found or obtain_chromium()
    if found is None:
        print(f"error: {NO_CHROMIUM}", file=sys.stderr)
        return 1
    say(f"{found.version} at {found.path} ({found.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
