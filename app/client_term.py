"""The terminal side of `samantha chat`: output that does not garble typing, the loop thread, readline."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
TEXT_WIDTH = 200
# Ctrl+T at the prompt (push-to-talk, app/client_talk.py): readline goes to the start of the line, types
# "/talk " and presses Enter, so what was typed so far stays in front of the transcript.
TALK_KEY = r'"\C-t": "\C-a/talk \C-m"'


class Screen:
    """The terminal's output, shared by the input thread and the event loop (a lock keeps lines whole)."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.prompt: str | None = None  # set while the user is typing at a prompt
        self.line_buffer: Callable[[], str] = lambda: ""  # what they have typed so far (readline)
        self._lock = threading.Lock()
        self._at_line_start = True

    def write(self, text: str) -> None:
        """Write text as it comes (a reply streaming)."""
        if not text:
            return
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
            self._at_line_start = text.endswith("\n")

    def line(self, text: str) -> None:
        """Write a whole line, starting a new one first if a reply left the cursor mid-line."""
        self.write(("" if self._at_line_start else "\n") + text + "\n")

    def notice(self, text: str) -> None:
        """A line from the background that must not garble what the user is typing at the prompt."""
        if self.prompt is None:
            self.line(text)
            return
        with self._lock:
            if self.stream.isatty():  # clear the prompt line, say it, then redraw prompt and typing
                self.stream.write(f"\r\x1b[K{text}\n{self.prompt}{self.line_buffer()}")
            else:
                self.stream.write(f"\n{text}\n")
            self.stream.flush()


def short(text: str) -> str:
    """Text on one line, cut at TEXT_WIDTH characters."""
    text = " ".join(text.split())
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"


class LoopThread:
    """An event loop in a background thread; the main thread keeps the terminal (and SIGINT)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="samantha-link", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl+C is for the main thread
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result (Ctrl+C cancels it and propagates)."""
        future = self.submit(coro)
        try:
            return wait(future, timeout)
        except KeyboardInterrupt:
            future.cancel()
            raise

    def call(self, fn: Any) -> None:
        """Call a plain function on the loop's thread."""
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        """Stop the loop and let its thread end."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def wait(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """The future's result; waits in short steps, so a Ctrl+C that comes just before is not missed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not future.done() and (deadline is None or time.monotonic() < deadline):
        concurrent.futures.wait([future], timeout=0.2)
    return future.result(timeout=0)


def history_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME")
    return Path(state) / "samantha" / "history" if state else Path.home() / ".samantha_history"


def start_readline(screen: Screen, commands: list[str]) -> Path | None:
    """Line editing, history (loaded from disk) and /command completion; None without readline."""
    try:
        import readline
    except ImportError:  # e.g. Windows: plain input() still works
        return None
    path = history_file()
    with contextlib.suppress(OSError):  # first run, or unreadable: start afresh
        readline.read_history_file(path)
    readline.set_history_length(1000)
    names = [name.split()[0] for name in commands]

    def complete(text: str, state: int) -> str | None:
        options = [n for n in names if n.startswith(text)] if text.startswith("/") else []
        return options[state] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
        readline.parse_and_bind(TALK_KEY)
    screen.line_buffer = readline.get_line_buffer
    return path


def has_readline() -> bool:
    """Whether input() edits lines with readline (only on a terminal, and where readline exists)."""
    try:
        import readline  # noqa: F401
    except ImportError:
        return False
    return sys.stdin.isatty()


@contextlib.contextmanager
def editable(draft: str | None) -> Iterator[None]:
    """Within it, input() starts with `draft` already typed, to edit or send (with readline)."""
    if not draft or not has_readline():
        yield
        return
    import readline

    readline.set_startup_hook(lambda: readline.insert_text(draft))
    try:
        yield
    finally:
        readline.set_startup_hook(None)


def save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
        path.chmod(0o600)  # what you say to her is nobody else's business
    except OSError as exc:
        log.warning("could not save the history to %s: %s", path, exc)
