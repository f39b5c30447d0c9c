"""How `samantha chat` talks to the server: the websocket link (the memory endpoints: app/client_api.py).

The link says hello, streams a turn, cancels it on Ctrl+C and reconnects (with backoff, to the same
conversation) when the server goes away. It runs on the client's event loop thread; what the user should
see goes through the terminal's `Screen`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from app.client_term import Screen
from app.client_voice import Speaker
from app.protocol import (
    AudioChunk,
    AudioEnd,
    Cancel,
    Delta,
    Done,
    ErrorFrame,
    Hello,
    Pong,
    Proactive,
    Ready,
    Recalled,
    RecalledMemory,
    ServerFrame,
    UserMessage,
    VoiceSettings,
    server_frame,
)
from persona.errors import SamanthaError

log = logging.getLogger(__name__)
T = TypeVar("T")

OPEN_TIMEOUT = 5.0  # seconds to connect and be answered `ready`
CANCEL_GRACE = 5.0  # after a cancel, how long to wait for the server's `done` before giving up on it
FIRST_RETRY, MAX_RETRY = 0.5, 8.0  # reconnect backoff, doubling in between
POLICY_VIOLATION = 1008  # the close code of a refused hello


class LinkError(SamanthaError):
    """The server could not be reached, or refused the conversation."""


class _Interrupted(Exception):
    """The user pressed Ctrl+C while we were waiting."""


def parse_frame(raw: str | bytes) -> ServerFrame | None:
    """A server frame, or None (logged) for one this client does not understand."""
    try:
        return server_frame.validate_json(raw)
    except ValueError as exc:  # pydantic's ValidationError is one
        log.warning("ignoring a frame I do not understand: %.200r (%s)", raw, exc)
        return None


class Link:
    """One conversation with the server over the websocket, kept open across server restarts."""

    def __init__(self, url: str, token: str | None, conversation: str | None, screen: Screen) -> None:
        self.url = url
        self.token = token
        self.conversation = conversation
        self.screen = screen
        self.persona = "Samantha"
        self.last_recalled: list[RecalledMemory] | None = None  # None until a reply was asked for
        self._ws: ClientConnection | None = None
        self._frames: asyncio.Queue[ServerFrame | None] = asyncio.Queue()  # None: the connection was lost
        self._connected = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self.speaker: Speaker | None = None  # where her voice plays when reading aloud is on
        self.read_aloud = False

    async def open(self) -> Ready:
        """Connect and say hello; raises LinkError when the server cannot be reached or refuses."""
        ws, ready = await self._connect()
        self._keeper = asyncio.create_task(self._keep(ws))
        return ready

    async def close(self) -> None:
        """Stop reconnecting and close the socket."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._ws is not None:
            await self._ws.close()

    def interrupt(self) -> None:
        """Ctrl+C from the terminal: stop the reply in progress (or the wait for the server)."""
        self._interrupt.set()

    async def turn(self, text: str) -> None:
        """Say something and stream her reply to the screen until it is done, failed or cancelled."""
        self._interrupt.clear()
        try:
            await self._until_interrupted(self._wait_connected())
        except _Interrupted:
            self.screen.line("(not sent)")
            return
        self._drain()
        if not await self._send(UserMessage(type="user", text=text).model_dump_json()):
            self.screen.line("(not sent: the connection dropped; send it again once I'm reconnected)")
            return
        await self._stream_reply()

    async def new_conversation(self) -> Ready | None:
        """Start a new conversation on this socket; None (after saying why) when it did not work."""
        frame = await self.ask(self._hello(None), Ready)
        if not isinstance(frame, Ready):
            return None
        self._adopt(frame)
        self.last_recalled = None
        return frame

    async def ask(
        self, frame: str | bytes, answer: type, timeout: float = OPEN_TIMEOUT
    ) -> ServerFrame | None:
        """Send a frame and wait for the answer of type `answer`; None after saying what went wrong."""
        await self._wait_connected()
        self._drain()
        if not await self._send(frame):
            self.screen.line("(the connection dropped; try again in a moment)")
            return None
        return await self._answer((answer,), timeout)

    async def _answer(self, kinds: tuple[type, ...], timeout: float) -> ServerFrame | None:
        """The first frame of one of `kinds`, or None after showing the error, drop or silence instead."""
        while True:
            try:
                frame = await asyncio.wait_for(self._frames.get(), timeout)
            except TimeoutError:
                self.screen.line("! the server did not answer; try again in a moment")
                return None
            if isinstance(frame, kinds):
                return frame
            if isinstance(frame, ErrorFrame):
                self.screen.line(f"! {frame.message} [{frame.code}]")
                return None
            if frame is None:
                self.screen.line("! the connection dropped; try again in a moment")
                return None

    def _dispatch(self, frame: ServerFrame | None) -> None:
        """Frames nobody waits for are handled as they come; the others are queued for the waiter."""
        match frame:
            case None | Pong():
                pass
            case AudioChunk() if self.speaker is not None:
                try:
                    self.speaker.play(base64.b64decode(frame.data))
                except Exception as exc:  # her voice failing must never stop the conversation
                    self.screen.notice(f"! cannot play her voice: {exc}")
                    self.speaker = None
            case AudioChunk() | AudioEnd():
                pass
            case Proactive():  # she says something unprompted (app/scheduler.py): shown when it comes
                self.screen.notice(f"{self.persona}: {frame.text}")
            case _:
                self._frames.put_nowait(frame)

    async def _stream_reply(self) -> None:
        started = stopping = False
        while True:
            try:
                if stopping:  # the server answers a cancel with `done`; do not wait for it forever
                    frame = await asyncio.wait_for(self._frames.get(), CANCEL_GRACE)
                else:
                    frame = await self._until_interrupted(self._frames.get())
            except _Interrupted:
                stopping = True
                await self._send(Cancel(type="cancel").model_dump_json())
                continue
            except TimeoutError:
                self.screen.line("(stopped)")
                return
            match frame:
                case None:
                    self.screen.line("(the connection dropped mid-reply; what she said so far is kept)")
                    return
                case Recalled():
                    started = True
                    self.last_recalled = frame.memories
                    self.screen.write(f"{self.persona}: ")
                case Delta() if started and not stopping:
                    self.screen.write(frame.text)
                case Done() if started:
                    self.screen.write(" (stopped)\n" if frame.interrupted or stopping else "\n")
                    return
                case ErrorFrame():
                    self.screen.line(f"! {frame.message} [{frame.code}]")
                    return
                case _:  # the tail of an earlier, cancelled reply: frames before `recalled` are not ours
                    log.debug("skipping a stale frame: %r", frame)

    async def _connect(self) -> tuple[ClientConnection, Ready]:
        try:
            ws = await connect(self.url, open_timeout=OPEN_TIMEOUT, close_timeout=2)
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise LinkError(f"cannot connect to {self.url}: {str(exc) or type(exc).__name__}") from exc
        try:
            await ws.send(self._hello(self.conversation))
            frame = parse_frame(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == POLICY_VIOLATION:  # e.g. a missing or wrong token
                raise LinkError(f"the server refused: {exc.rcvd.reason}", "refused") from exc
            raise LinkError(f"{self.url} closed the connection: {exc}") from exc
        except TimeoutError as exc:
            await ws.close()
            raise LinkError(f"{self.url} did not answer hello") from exc
        if not isinstance(frame, Ready):
            await ws.close()
            why = frame.message if isinstance(frame, ErrorFrame) else "it did not answer `ready`"
            raise LinkError(f"the server refused the conversation: {why}")
        self._adopt(frame)
        return ws, frame

    async def _keep(self, ws: ClientConnection) -> None:
        """Pass frames on until the connection drops, then reconnect (with backoff) and carry on."""
        while True:
            self._ws = ws
            self._connected.set()
            try:
                async for raw in ws:
                    self._dispatch(parse_frame(raw))
            except ConnectionClosed as exc:
                log.debug("connection closed: %r", exc)
            self._ws = None
            self._connected.clear()
            self._frames.put_nowait(None)
            ws = await self._reconnect()

    async def _reconnect(self) -> ClientConnection:
        self.screen.notice("(connection lost; reconnecting…)")
        delay = FIRST_RETRY
        while True:
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):  # sleep, unless the user is waiting to send
                await asyncio.wait_for(self._retry_now.wait(), delay)
            try:
                ws, _ = await self._connect()
            except LinkError as exc:
                log.debug("still no server: %s", exc)
                if exc.args[1:] == ("refused",) and delay == FIRST_RETRY:  # say it once, keep trying
                    self.screen.notice(f"({exc.args[0]}; still trying)")
                delay = min(delay * 2, MAX_RETRY)
                continue
            self.screen.notice(f"(reconnected; conversation {self.conversation})")
            if self.read_aloud:  # reading aloud is chosen per socket: ask the new one too
                await ws.send(VoiceSettings(type="voice", read_aloud=True, voice=None).model_dump_json())
            return ws

    async def _wait_connected(self) -> None:
        if not self._connected.is_set():
            self.screen.line("(waiting for the server…)")
            self._retry_now.set()
            await self._connected.wait()

    async def _until_interrupted(self, waiter: Awaitable[T]) -> T:
        """Await `waiter`, unless Ctrl+C comes first (then raise _Interrupted)."""
        task = asyncio.ensure_future(waiter)
        stop = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()
        raise _Interrupted

    async def _send(self, frame: str | bytes) -> bool:
        if self._ws is None:
            return False
        try:
            await self._ws.send(frame)
        except ConnectionClosed:
            return False
        return True

    def _hello(self, conversation: str | None) -> str:
        return Hello(type="hello", conversation=conversation, token=self.token).model_dump_json()

    def _adopt(self, ready: Ready) -> None:
        self.conversation = ready.conversation
        self.persona = ready.persona

    def _drain(self) -> None:
        """Drop frames nobody is waiting for (the end of an abandoned reply, a stale connection loss)."""
        while not self._frames.empty():
            self._frames.get_nowait()
