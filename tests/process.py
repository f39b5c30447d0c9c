"""`samantha serve` as a real process for fault tests: start it, wait for /health, kill it; a small client.

Output goes to files, not pipes (a chatty server can never block on a full pipe), so a failing test can
show what the server said. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.frames import wire_frame

ROOT = Path(__file__).resolve().parent.parent
# Loading torch and the embedder takes ~10 s on an idle 2-core machine; leave room for a busy one.
START_TIMEOUT = 120.0


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samantha(*args: str) -> list[str]:
    """The command line of `samantha ARGS...` run by this interpreter, from the project root."""
    return [sys.executable, "-m", "app.cli", *args]


def run_cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run `samantha ARGS...` to completion (for commands that should refuse and exit)."""
    return subprocess.run(
        samantha(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


class ServerProcess:
    """One `samantha serve` process on a free port, with its output in `log_dir`."""

    def __init__(self, data_dir: Path, log_dir: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.flags = flags
        self.env = env or {}
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.monotonic_ns()}"
        self.stdout_path = log_dir / f"serve-{self.port}-{stamp}.out"
        self.stderr_path = log_dir / f"serve-{self.port}-{stamp}.err"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        """Start the process (without waiting for it to be ready)."""
        cmd = samantha(
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--seeds-dir",
            "",
            *self.flags,
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **self.env}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env
            )

    async def start(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        """Start the process and return once /health answers (or fail with its output)."""
        for _ in range(3):
            self.spawn()
            try:
                await self.wait_healthy(timeout)
                return self
            except AssertionError:
                # The port was free when chosen, but the server binds it only after loading its models.
                if "address already in use" not in self.output().lower():
                    raise
                self.port = free_port()
        raise AssertionError(f"no free port found\n{self.output()}")

    async def wait_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Poll /health until it answers 200; fail early if the process exits."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    raise AssertionError(
                        f"samantha serve exited with {code} during start-up\n{self.output()}"
                    )
                try:
                    response = await http.get(self.url + "/health")
                    if response.status_code == 200:
                        health: dict[str, Any] = response.json()
                        return health
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"samantha serve did not answer /health within {timeout:.0f} s\n{self.output()}")

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit code once the process has ended, or None if it is still running after `timeout`."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.process.poll()

    async def kill(self) -> int:
        """SIGKILL: the process dies on the spot, like a power cut to it (the OS still keeps its writes)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        code = await self.wait_exit(10.0)
        assert code is not None, "the process survived SIGKILL"
        return code

    async def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then wait up to `timeout` s; returns the exit code (None: still running)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait_exit(timeout)

    def ensure_dead(self) -> None:
        """Teardown: kill the process if it is still running (never leaves a child behind)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self, tail: int = 6000) -> str:
        """The end of what the process wrote to stdout and stderr."""
        parts = []
        for name, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {name} of {self.port} ---\n{text[-tail:]}")
        return "\n".join(parts)

    async def get(self, path: str) -> Any:
        """GET a JSON endpoint."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as http:
            response = await http.get(path)
            response.raise_for_status()
            return response.json()

    async def chat(self, conversation: str | None = None) -> Client:
        """A websocket client that has said hello."""
        return await Client.open(self.ws_url, conversation)


class Client:
    """A websocket client speaking docs/PROTOCOL.md, every receive bounded in time."""

    def __init__(self, ws: ClientConnection, conversation: str) -> None:
        self.ws = ws
        self.conversation = conversation

    @classmethod
    async def open(cls, url: str, conversation: str | None = None, timeout: float = 10.0) -> Client:
        ws = await asyncio.wait_for(connect(url, open_timeout=timeout), timeout)
        await ws.send(json.dumps({"type": "hello", "conversation": conversation, "token": None}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert ready["type"] == "ready", ready
        return cls(ws, ready["conversation"])

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 30.0) -> dict[str, Any]:
        return wire_frame(await asyncio.wait_for(self.ws.recv(), timeout))

    async def turn(self, text: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Send a message; every frame up to and including `done` or `error`."""
        await self.send({"type": "user", "text": text})
        frames = []
        while True:
            frame = await self.recv(timeout)
            frames.append(frame)
            if frame["type"] in ("done", "error"):
                return frames

    async def close(self) -> None:
        await self.ws.close()
