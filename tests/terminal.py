"""`samantha chat` on a pseudo-terminal of its own, typed at like a person (tests load it with
`pytest_plugins`)."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a terminal shows, without colours, cursor moves and carriage returns.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[=>()][0-9A-Za-z]?|[\r\x07]")
# The child makes the pty its controlling terminal, so a typed ^C is a SIGINT, as it is for a person.
TAKE_THE_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)
CTRL_C, CTRL_A, CTRL_D, UP = "\x03", "\x01", "\x04", "\x1b[A"


class Tty:
    """A `samantha chat` process whose stdin, stdout and stderr are a pseudo-terminal."""

    def __init__(self, args: list[str], home: Path) -> None:
        self.loop = asyncio.get_running_loop()
        self.fd, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAMANTHA_", "XDG_"))}
        env.update(HOME=str(home), TERM="xterm")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TAKE_THE_TERMINAL, "-m", "app.cli", "chat", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            start_new_session=True,
            cwd=ROOT,
            env=env,
        )
        os.close(child)
        self.screen = ""
        self.seen = 0  # expect() looks after what it matched last
        self.closed = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._changed = asyncio.Event()
        self.loop.add_reader(self.fd, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the process closed the terminal
            data = b""
        if not data:
            self.loop.remove_reader(self.fd)
            self.closed = True
        self.screen += ESCAPES.sub("", self._decoder.decode(data))
        self._changed.set()

    async def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Wait until the screen shows `pattern` (a regex) after what was matched before."""
        deadline = self.loop.time() + timeout
        while not (found := re.compile(pattern).search(self.screen, self.seen)):
            if self.closed or self.loop.time() > deadline:
                raise AssertionError(f"never saw {pattern!r}; the terminal shows:\n{self.screen[-3000:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), deadline - self.loop.time())
        self.seen = found.end()
        return found

    def type(self, keys: str) -> None:
        """Press keys."""
        os.write(self.fd, keys.encode())

    async def prompt(self) -> str:
        """Wait for the prompt (the client waiting for a line); what was shown since the last match."""
        shown = (await self.expect(r"(?s)(.*?)you> $")).group(1)
        self.seen -= len("you> ")  # the next say() waits for this same prompt
        return shown

    async def say(self, line: str) -> None:
        """Type a line at the prompt and press Enter."""
        await self.expect(r"you> $")
        self.type(line + "\r")

    async def ctrl_c_at_the_prompt(self, typed: str = "") -> None:
        """Type something, then Ctrl+C, at the prompt, as a person would."""
        await self.expect(r"you> $")
        self.type(typed)
        await self.expect(re.escape(typed) + "$")
        # Readline notices a signal only while it waits for a key, which it starts doing just after it
        # drew the prompt or echoed a key: a person cannot be quicker than that, a test can.
        await asyncio.sleep(0.5)
        self.type(CTRL_C)

    async def exit_status(self, timeout: float = 10) -> int:
        """Wait for the process to end."""
        for _ in range(int(timeout / 0.05)):
            if (status := self.proc.poll()) is not None:
                return status
            await asyncio.sleep(0.05)
        raise AssertionError(f"still running; the terminal shows:\n{self.screen[-3000:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.closed:
            self.loop.remove_reader(self.fd)
        os.close(self.fd)


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Tty]]]:
    """Start `samantha chat ARGS` on a terminal of its own (HOME is a temporary directory)."""
    started: list[Tty] = []

    async def start(*args: str) -> Tty:
        tty = Tty(list(args), tmp_path)
        started.append(tty)
        return tty

    yield start
    for tty in started:
        tty.close()
