"""SillyTavern itself, from the npm registry, on loopback: installed once into a cache outside the repo.

`make sillytavern` (part of `make test`) or the first test that needs it runs `npm install`, about a
minute here; its first start builds SillyTavern's front-end bundle once (about a minute), later starts take
seconds. Set SAMANTHA_CLIENT_CACHE to move the cache (default ~/.cache/samantha-clients).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.process import free_port

VERSION = "1.19.0"
CACHE = Path(os.environ.get("SAMANTHA_CLIENT_CACHE") or Path.home() / ".cache" / "samantha-clients")
ROOT = CACHE / f"sillytavern-{VERSION}"
PACKAGE = ROOT / "node_modules" / "sillytavern"
START_TIMEOUT = 240.0  # the first start on a fresh machine compiles the front-end bundle (~1 min busy)


class Unavailable(Exception):
    """SillyTavern cannot be installed here (no npm, or the registry cannot be reached)."""


def install() -> Path:
    """SillyTavern's package folder, installed from npm on first use."""
    if (PACKAGE / "server.js").is_file():
        return PACKAGE
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (Debian: apt-get install npm)")
    ROOT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"sillytavern@{VERSION}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0 or not (PACKAGE / "server.js").is_file():
        raise Unavailable(f"npm install sillytavern@{VERSION} failed:\n{done.stderr[-3000:]}")
    return PACKAGE


# No login, no whitelist surprises: it listens on 127.0.0.1 only and lets 127.0.0.1 in; nothing is
# downloaded at run time (tokenizers, extension updates, models).
CONFIG = """\
dataRoot: {data}
listen: false
port: {port}
browserLaunch:
  enabled: false
whitelistMode: true
whitelist:
  - 127.0.0.1
  - ::1
enableUserAccounts: false
enableDownloadableTokenizers: false
skipContentCheck: false
extensions:
  enabled: false
  autoUpdate: false
  models:
    autoDownload: false
"""


class SillyTavern:
    """One SillyTavern server over its own data folder, its output in a file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / "sillytavern.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def characters(self) -> Path:
        """Where SillyTavern keeps character cards (PNG files) for its default user."""
        folder = self.data_dir / "default-user" / "characters"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def start(self) -> SillyTavern:
        """Start `node server.js` and return once its page answers."""
        package = install()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "config.yaml"
        config.write_text(CONFIG.format(data=self.data_dir, port=self.port), encoding="utf-8")
        node = shutil.which("node") or "node"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [node, "server.js", "--configPath", str(config)],
                cwd=package,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"SillyTavern exited with {self.process.returncode}\n{self.output()}")
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"SillyTavern did not answer within {START_TIMEOUT:.0f} s\n{self.output()}")

    def output(self, tail: int = 6000) -> str:
        """The end of what SillyTavern logged."""
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
