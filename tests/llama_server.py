"""Real OpenAI-compatible servers for tests: llama-cpp-python's own server, and a slow hop in front of it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from app.model_catalog import resolve_model

# What the server calls its model; `/v1/models` lists it under this id.
MODEL_ALIAS = "smollm2-135m"
NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n"
    b'{"detail":"Not Found"}'
)


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """`python -m llama_cpp.server` with the bundled SmolLM2 as a subprocess on a loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._ready = False
        # A file, not a pipe: a chatty server can never block on it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())

    @property
    def base_url(self) -> str:
        """What Samantha's --base-url would be."""
        return f"http://127.0.0.1:{self.port}/v1"

    def launch(self) -> LlamaServer:
        """Start the process; it answers a few seconds later (see `wait_ready`)."""
        model = resolve_model(MODEL_ALIAS)  # the tiny bundled SmolLM2: quick to load and to answer
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "2048",
            # One thread each: the machine is shared, and threads that wait on each other for a CPU
            # make a 135M model slower, not faster.
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--verbose",
            "False",
        ]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, *, within: float = 60.0) -> LlamaServer:
        """Return once `/v1/models` answers; fail with the server's log if it exits or stays silent."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + within
        while not self._ready:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"llama_cpp.server did not answer within {within:g} s:\n{log}")
            try:
                # Our alias, not just any 200: another server that took the port must not pass for ours.
                answer = httpx.get(f"{self.base_url}/models", timeout=1.0)
                self._ready = answer.status_code == 200 and MODEL_ALIAS in answer.text
            except httpx.TransportError:
                time.sleep(0.1)
        return self

    def start(self) -> LlamaServer:
        """Launch and wait until it answers."""
        return self.launch().wait_ready()

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-whatever, like a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server (politely first) and close its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        """The tail of what the server printed."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]


class Hop:
    """A TCP hop on loopback in front of a real server, to make it slow or forgetful.

    `delay`: each response to a POST (a generation) is held back this many seconds. Listing models (a
    GET) stays fast, so what is slow is what is slow on a busy real server: the reply. Set it to 0 and
    the server is quick again.
    `list_models=False`: `GET .../models` gets a 404, like servers that do not list their models.
    """

    def __init__(self, target_port: int, *, delay: float = 0.0, list_models: bool = True) -> None:
        self.target_port = target_port
        self.delay = delay
        self.list_models = list_models
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> Hop:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._relay(client_r, client_w)
        except asyncio.CancelledError:
            pass  # closed by close(); ending quietly spares asyncio's stream callback a cancelled task
        finally:
            self._connections.discard(task)
            client_w.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            return
        hold_back = asyncio.Event()  # set when a POST went up and its response has not started yet

        async def up() -> None:
            # A chunk that starts a request starts with its request line: the client waits for each
            # response before it sends the next request on a connection.
            while data := await client_r.read(65536):
                if not self.list_models and data.startswith(b"GET ") and b"/models " in data[:200]:
                    client_w.write(NOT_FOUND)
                    await client_w.drain()
                    continue
                if data.startswith(b"POST "):
                    hold_back.set()
                server_w.write(data)
                await server_w.drain()

        async def down() -> None:
            while data := await server_r.read(65536):
                if hold_back.is_set():
                    hold_back.clear()
                    await asyncio.sleep(self.delay)
                client_w.write(data)
                await client_w.drain()

        pumps = {asyncio.create_task(up()), asyncio.create_task(down())}
        try:
            # Either side hanging up ends the connection (our client giving up on a slow reply does).
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.wait(pumps)
            for pump in pumps:  # a reset connection is the normal end of a relay, not a failure
                if not pump.cancelled():
                    pump.exception()
            server_w.close()
