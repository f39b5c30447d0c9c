"""A non-editable install serves her page and reads the film reviews from anywhere (package data)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.process import ROOT, free_port


def build_and_install(tmp_path: Path) -> Path:
    """`pip wheel .` then `pip install --target` it: the package as a person's `pip install .` lays it out."""
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(ROOT)]
    subprocess.run(build, check=True, cwd=tmp_path, timeout=300)
    (wheel,) = wheels.glob("samantha-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, timeout=300
    )
    return target


def test_an_installed_samantha_serves_her_page_and_the_reviews_from_another_folder(tmp_path: Path) -> None:
    site = build_and_install(tmp_path)
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    port = free_port()
    # The installed copy comes first on the path, ahead of the source tree's editable install.
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "app.cli", "serve", "--backend", "echo", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(240):
                if server.poll() is not None:
                    break
                try:
                    health = http.get("/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            assert server.poll() is None, server.communicate()[0].decode()
            assert health.status_code == 200
            page = http.get("/")
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert http.get("/static/app.js").status_code == 200
            # With nobody signed up on her own machine, any key reads the counts: the reviews were read.
            counts = http.get("/health", headers={"Authorization": "Bearer me"}).json()
            assert counts["memories_by_kind"].get("seed", 0) > 10, counts
        assert (elsewhere / "data").is_dir()  # her memory lives where she was started
        loaded = subprocess.run(
            [sys.executable, "-c", "import app; print(app.__file__)"],
            env=env,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            check=True,
        )
        assert loaded.stdout.startswith(str(site))  # the installed copy ran, not the source tree
    finally:
        server.terminate()
        server.wait(timeout=60)
