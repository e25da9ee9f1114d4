"""scripts/ensure_chromium.py: which browser `make test` gives the browser tests, and the error.

Each test builds a machine in a temporary folder: a PATH holding only stub
programs (shell scripts standing in for ``chromium``, ``google-chrome`` and
``apt-get``), a stub for Playwright's download and a place for Playwright's
managed Chromium.  Every stub that installs something logs its call, so the
tests see what was installed, and in which order.  Nothing is downloaded or
installed; the one test that runs Playwright's real download points it at a
closed local port.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import ensure_chromium  # noqa: E402

CHROME = 'echo "Chromium 1.0 stub"'
BROKEN = 'echo "chrome: error while loading shared libraries: libnss3.so" >&2; exit 127'
# Node's output when Playwright's download server cannot be reached (abridged).
NODE_FAILURE = """\
echo "Downloading Chrome for Testing 159.0.8154.6 from https://cdn.playwright.dev/..."
echo "Error: getaddrinfo ENOTFOUND cdn.playwright.dev"
echo "    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:internal/dns/promises:101:17)"
echo "Failed to install browsers"
exit 1"""


def stub(path: Path, body: str) -> Path:
    """An executable shell script at `path` running `body`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


class Machine:
    """A stubbed machine: its PATH folder, Playwright's Chromium, and the log of installs."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "installs.log"
        self.managed = tmp_path / "ms-playwright" / "chrome-linux64" / "chrome"
        self.monkeypatch = monkeypatch
        for name in ("EDM_CHROMIUM", "CI", "EDM_SKIP_BROWSER_TESTS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PATH", str(self.bin))
        monkeypatch.setattr(ensure_chromium, "playwright_chromium_path", lambda: str(self.managed))
        self.root(False)
        self.playwright_download(works=True)

    def root(self, is_root: bool) -> None:
        """Run the script as root (it may use apt-get) or not."""
        self.monkeypatch.setattr(ensure_chromium, "is_root", lambda: is_root)

    def apt(self, works: bool = True) -> None:
        """An ``apt-get`` on the PATH whose ``install`` puts a ``chromium`` there, or fails."""
        install = (
            f"printf '#!/bin/sh\\n{CHROME}\\n' > {self.bin}/chromium; /bin/chmod +x {self.bin}/chromium"
            if works
            else 'echo "E: Unable to locate package chromium" >&2; exit 100'
        )
        stub(
            self.bin / "apt-get",
            f'echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> {self.log}\n'
            f'if [ "$1" = install ]; then {install}; fi',
        )

    def playwright_download(self, works: bool) -> None:
        """Playwright's download: it puts the managed Chromium in place, or fails as offline."""
        body = (
            f"/bin/mkdir -p {self.managed.parent}; printf '#!/bin/sh\\n{CHROME}\\n' > {self.managed}"
            f"; /bin/chmod +x {self.managed}"
            if works
            else NODE_FAILURE
        )
        script = stub(self.log.parent / "tools" / "playwright-install", body)
        logged = stub(
            self.log.parent / "tools" / "logged-playwright-install",
            f'echo "playwright install" >> {self.log}; exec {script}',
        )
        self.monkeypatch.setattr(ensure_chromium, "PLAYWRIGHT_INSTALL", [str(logged)])

    def installs(self) -> list[str]:
        """The install commands run, in order."""
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    """A machine with no browser, not root, no apt, and a Playwright download that works."""
    return Machine(tmp_path, monkeypatch)


def run_main(capsys) -> tuple[int, str, str]:
    """`ensure_chromium.main()`: (exit status, stdout, stderr)."""
    status = ensure_chromium.main()
    out, err = capsys.readouterr()
    return status, out, err


def test_edm_chromium_comes_before_the_path(machine, capsys):
    """$EDM_CHROMIUM wins over a chromium on the PATH, and nothing is installed."""
    stub(machine.bin / "chromium", CHROME)
    chosen = stub(machine.log.parent / "mine" / "chrome", CHROME)
    machine.monkeypatch.setenv("EDM_CHROMIUM", str(chosen))
    status, out, _ = run_main(capsys)
    assert status == 0
    assert out == f"browser: Chromium 1.0 stub at {chosen} (from $EDM_CHROMIUM)\n"
    assert machine.installs() == []


def test_a_broken_edm_chromium_is_an_error(machine, capsys):
    """An $EDM_CHROMIUM that does not run is a one-line error, not a silent fallback."""
    stub(machine.bin / "chromium", CHROME)
    machine.monkeypatch.setenv("EDM_CHROMIUM", str(machine.log.parent / "no-such-chrome"))
    status, _, err = run_main(capsys)
    assert status == 1
    assert len(err.splitlines()) == 1
    assert "no-such-chrome does not run" in err


def test_system_names_are_tried_in_order(machine, capsys):
    """chromium-browser comes before google-chrome, and both before Playwright's Chromium."""
    stub(machine.bin / "google-chrome", CHROME)
    stub(machine.bin / "chromium-browser", CHROME)
    stub(machine.managed, CHROME)
    status, out, _ = run_main(capsys)
    assert status == 0
    assert f"at {machine.bin}/chromium-browser (the system's chromium-browser on the PATH)" in out


def test_a_system_browser_that_does_not_run_is_passed_over(machine, capsys):
    """A chromium that cannot start (missing libraries) is reported and the next one is used."""
    stub(machine.bin / "chromium", BROKEN)
    stub(machine.bin / "google-chrome", CHROME)
    status, out, _ = run_main(capsys)
    assert status == 0
    assert f"passing over {machine.bin}/chromium: it does not run" in out
    assert "libnss3.so" in out
    assert out.splitlines()[-1].endswith("(the system's google-chrome on the PATH)")


def test_a_downloaded_playwright_chromium_is_used_before_installing(machine, capsys):
    """Playwright's Chromium from an earlier run is used: even as root, apt installs nothing."""
    machine.root(True)
    machine.apt()
    stub(machine.managed, CHROME)
    status, out, _ = run_main(capsys)
    assert status == 0
    assert (
        out == f"browser: Chromium 1.0 stub at {machine.managed} (Playwright's managed Chromium)\n"
    )
    assert machine.installs() == []


def test_root_with_apt_installs_debian_chromium(machine, capsys):
    """As root with apt: one apt-get update, then a non-interactive install of chromium alone."""
    machine.root(True)
    machine.apt()
    status, out, _ = run_main(capsys)
    assert status == 0
    assert machine.installs() == [
        "apt-get update -qq DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -qq --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive",
    ]
    assert out.splitlines()[-1] == (
        f"browser: Chromium 1.0 stub at {machine.bin}/chromium"
        " (Debian's chromium package, just installed with apt-get)"
    )


@pytest.mark.parametrize("root, apt", [(False, True), (True, False)], ids=["not-root", "no-apt"])
def test_without_root_and_apt_playwright_downloads_chromium(machine, capsys, root, apt):
    """Not root (apt-get is never called), or root without apt: Playwright's download is used."""
    machine.root(root)
    if apt:
        machine.apt()
    status, out, _ = run_main(capsys)
    assert status == 0
    assert machine.installs() == ["playwright install"]
    assert out.splitlines()[-1] == (
        f"browser: Chromium 1.0 stub at {machine.managed}"
        " (Playwright's managed Chromium, just downloaded)"
    )


def test_a_failed_apt_install_falls_back_to_playwright(machine, capsys):
    """When apt-get cannot install chromium, its error is one line and Playwright's download follows."""
    machine.root(True)
    machine.apt(works=False)
    status, out, _ = run_main(capsys)
    assert status == 0
    assert [line.split()[:2] for line in machine.installs()] == [
        ["apt-get", "update"],
        ["apt-get", "install"],
        ["playwright", "install"],
    ]
    assert "failed: E: Unable to locate package chromium" in out
    assert out.splitlines()[-1].endswith("(Playwright's managed Chromium, just downloaded)")


def test_nothing_works_gives_a_one_line_error(machine, capsys):
    """apt and Playwright's download both fail: exit 1 and one error line naming what to install."""
    machine.root(True)
    machine.apt(works=False)
    machine.playwright_download(works=False)
    status, out, err = run_main(capsys)
    assert status == 1
    assert err.splitlines() == [f"error: {ensure_chromium.NO_CHROMIUM}"]
    assert err.startswith("error: no Chromium for the browser tests: install Debian's chromium")
    assert "-m playwright install chromium" in err and "set EDM_CHROMIUM=" in err
    # Node's error is cut to its telling line; its stack trace is not shown.
    assert "Playwright's download failed: Error: getaddrinfo ENOTFOUND cdn.playwright.dev" in out
    assert "GetAddrInfoReqWrap" not in out + err


def test_skipping_off_ci_installs_nothing(machine, capsys):
    """EDM_SKIP_BROWSER_TESTS=1 off CI: no browser is not an error, and nothing is installed."""
    machine.root(True)
    machine.apt()
    machine.monkeypatch.setenv("EDM_SKIP_BROWSER_TESTS", "1")
    status, out, _ = run_main(capsys)
    assert status == 0
    assert "so the browser tests will be skipped" in out
    assert machine.installs() == []


def test_skipping_is_ignored_on_ci(machine, capsys):
    """On CI, EDM_SKIP_BROWSER_TESTS=1 is ignored: a browser is installed, or it is an error."""
    machine.monkeypatch.setenv("EDM_SKIP_BROWSER_TESTS", "1")
    machine.monkeypatch.setenv("CI", "true")
    machine.playwright_download(works=False)
    status, _, err = run_main(capsys)
    assert status == 1
    assert machine.installs() == ["playwright install"]
    assert "error: no Chromium for the browser tests" in err


def test_playwright_chromium_path_follows_playwright_browsers_path(tmp_path, monkeypatch):
    """The managed Chromium is looked for where Playwright keeps it (PLAYWRIGHT_BROWSERS_PATH)."""
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    path = ensure_chromium.playwright_chromium_path()
    assert path is not None and Path(path).is_relative_to(tmp_path)


def test_the_script_offline_gives_the_one_line_error(tmp_path):
    """The real script and Playwright's real download, whose server is a closed local port:
    no browser on the PATH and no apt-get, so the download fails, and the script exits 1
    with the one-line error instead of Node's stack trace."""
    (tmp_path / "bin").mkdir()
    env = {
        "PATH": str(tmp_path / "bin"),
        "HOME": str(tmp_path),
        "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "browsers"),
        # Both the download host and the proxy are a closed port: nothing leaves the machine.
        "PLAYWRIGHT_DOWNLOAD_HOST": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ensure_chromium.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: {ensure_chromium.NO_CHROMIUM}"]
    assert "Playwright's download failed: Error: connect ECONNREFUSED" in done.stdout
    assert "    at " not in done.stdout
