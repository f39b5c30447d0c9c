"""The chat socket at /ws: translate frames to session calls and back; never die on a bad frame."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.status import WS_1008_POLICY_VIOLATION

from app.auth import AuthError, resolve_user
from app.presence import current_mood, greet, mood_out
from app.protocol import (
    Cancel,
    Delta,
    ErrorFrame,
    Hello,
    MoodOut,
    Ping,
    Pong,
    Ready,
    ServerFrame,
    UserMessage,
    VoiceSettings,
    client_frame,
)
from app.routes.deps import get_services
from app.services import Services
from app.session import ChatSession
from app.turn_runner import TurnRunner
from app.voice.link import VoiceLink
from memory import selfmodel

log = logging.getLogger(__name__)
router = APIRouter()

# A frame may hold a message of MAX_TEXT_CHARS characters, escaped; anything far bigger is abuse.
MAX_FRAME_BYTES = 64 * 1024

_json_string = json.JSONEncoder(ensure_ascii=False).encode
assert set(Delta.model_fields) == {"type", "text"}, "encode() writes a delta's fields by hand"


def encode(frame: ServerFrame) -> str:
    """A frame as JSON text. Deltas, nearly every frame of a turn, skip pydantic's serialiser: the same
    text for every string (checked over all of Unicode), for less of the event loop's time per turn
    (bench/RESULTS.md, load profile)."""
    if type(frame) is Delta:
        return '{"type":"delta","text":' + _json_string(frame.text) + "}"
    return frame.model_dump_json()


def explain(error: ValidationError) -> str:
    """One readable sentence about what is wrong with a frame."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    if first["type"] == "json_invalid":
        return "the frame is not valid JSON"
    if first["type"] == "union_tag_invalid":
        return "unknown frame type; expected hello, user, cancel, ping or voice"
    if first["type"] == "union_tag_not_found":
        return 'the frame needs a "type" field'
    said = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {said}" if where else said


class Connection:
    """One socket: serialises sends, runs at most one turn at a time."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.session: ChatSession | None = None
        self.token: str | None = None  # checked again before every turn: revoking reaches open sockets
        self.turn: TurnRunner | None = None
        self._send_lock = asyncio.Lock()
        self.voice = VoiceLink(getattr(websocket.app.state, "voice", None), self.send)  # docs/VOICE.md

    async def send(self, frame: ServerFrame) -> None:
        """Send one frame (turn frames and pongs never interleave mid-frame)."""
        async with self._send_lock:
            await self.websocket.send_text(encode(frame))

    async def deliver(self, frame: ServerFrame) -> None:
        """Send one frame of a turn, and read her reply aloud as it comes (when asked to)."""
        await self.send(frame)
        self.voice.feed(frame)

    def busy(self) -> bool:
        """Whether a turn is still running."""
        return self.turn is not None and self.turn.running()


async def refuse(websocket: WebSocket, reason: str) -> None:
    """Close with 1008 (policy violation), saying why."""
    await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=reason[:120])


async def still_allowed(services: Services, conn: Connection) -> bool:
    """Whether the token this socket said hello with still opens the same user's memories.

    Read from the store each turn, so `samantha user revoke` (or delete) in another process reaches
    sockets opened before it.
    """
    assert conn.session is not None
    try:
        return await resolve_user(services, conn.token) == conn.session.user
    except AuthError:
        return False


async def opening(services: Services, session: ChatSession) -> tuple[str, MoodOut | None]:
    """Her greeting and mood (app/presence.py); a greeting she offers unprompted is stored as her message."""
    try:
        await services.learner.settle(session.user)  # a plan just told, or hushed, is counted
        # Her journal catches up on this person's quiet conversations (by rules: fast, and the model stays
        # free for the reply); the first turn's recall waits for it, so an entry can be recalled at once.
        services.learner.spawn(session.user, _journal(services, session.user))
        greeting = await greet(services.store, services.persona, session.user, session.conversation)
        mood = mood_out(await current_mood(services.store, session.user))
        session.grown = await services.store.run_read(selfmodel.kept, session.user)
    except Exception as exc:  # a greeting is not worth a closed socket: fall back to the persona's
        log.error("could not prepare a greeting for %s: %r", session.user, exc)
        return services.persona.greeting, None
    session.last_talk = greeting.last
    if greeting.unprompted:
        await services.store.log_turn(session.user, session.conversation, "assistant", greeting.text)
    return greeting.text, mood


async def _journal(services: Services, user: str) -> None:
    try:
        await services.write_journal(user, rules_only=True)
    except Exception as exc:  # best effort, like all learning
        log.error("could not write the journal for %s: %r", user, exc)


@router.websocket("/ws")
async def chat_socket(websocket: WebSocket) -> None:
    """The chat protocol (docs/PROTOCOL.md): hello, then user/cancel/ping frames."""
    services = get_services(websocket)
    await websocket.accept()
    conn = Connection(websocket)
    sockets = services.sockets
    deadline = asyncio.get_running_loop().time() + services.settings.hello_timeout
    try:
        while True:
            if conn.session is None:  # a socket that never says hello does not stay open forever
                left = deadline - asyncio.get_running_loop().time()
                try:
                    message = await asyncio.wait_for(websocket.receive(), timeout=max(left, 0.0))
                except TimeoutError:
                    await conn.send(ErrorFrame(code="hello_timeout", message="no hello frame in time"))
                    await refuse(websocket, "no hello frame in time")
                    return
            else:
                message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None:  # a binary frame: a recorded utterance to transcribe (docs/PROTOCOL.md)
                if conn.session is None:
                    await conn.send(
                        ErrorFrame(code="bad_frame", message="say hello (a JSON frame) before audio")
                    )
                else:
                    conn.voice.heard(message.get("bytes") or b"")
                continue
            if len(raw) > MAX_FRAME_BYTES:
                too_large = f"frames are limited to {MAX_FRAME_BYTES} bytes"
                await conn.send(ErrorFrame(code="frame_too_large", message=too_large))
                continue
            try:
                frame = client_frame.validate_json(raw)
            except ValidationError as exc:
                await conn.send(ErrorFrame(code="bad_frame", message=explain(exc)))
                continue
            match frame:
                case Hello():
                    if conn.busy():
                        await conn.send(ErrorFrame(code="busy", message="wait for the reply to finish first"))
                        continue
                    try:
                        user = await resolve_user(services, frame.token)
                    except AuthError as exc:
                        await refuse(websocket, str(exc))  # policy violation: the socket closes, saying why
                        return
                    if conn.session is None or conn.session.user != user:
                        if sockets[user] >= services.settings.max_sockets_per_user:
                            limit = services.settings.max_sockets_per_user
                            message_ = f"too many open chat sockets for this user (at most {limit})"
                            await conn.send(ErrorFrame(code="too_many_sockets", message=message_))
                            await refuse(websocket, message_)
                            return
                        sockets[user] += 1
                        if conn.session is not None:
                            sockets[conn.session.user] -= 1
                    conn.token = frame.token
                    conversation = frame.conversation or uuid.uuid4().hex[:12]
                    if conn.session is not None:
                        services.outbox.remove(conn.session.user, id(conn))
                    conn.session = services.session(user, conversation)
                    greeting, mood = await opening(services, conn.session)
                    await conn.send(
                        Ready(
                            persona=services.persona.name,
                            greeting=greeting,
                            mood=mood,
                            conversation=conversation,
                            backend=services.backend.name,
                        )
                    )
                    services.outbox.add(user, id(conn), conversation, conn.send)
                case UserMessage():
                    if conn.session is None:
                        await conn.send(ErrorFrame(code="hello_first", message='send {"type":"hello"} first'))
                    elif conn.busy():
                        await conn.send(
                            ErrorFrame(code="busy", message="one message at a time: a reply is streaming")
                        )
                    elif not await still_allowed(services, conn):
                        await refuse(websocket, "this access token has been revoked")
                        return
                    elif wait := await services.limiter.wait(conn.session.user):
                        await conn.send(
                            ErrorFrame(
                                code="rate_limited",
                                message=f"too many messages; try again in {math.ceil(wait)} s",
                            )
                        )
                    else:
                        conn.voice.begin_reply()
                        conn.turn = TurnRunner(conn.session.respond(frame.text), conn.deliver)
                case Cancel():
                    conn.voice.hush()
                    if conn.session is not None and conn.busy():
                        conn.session.cancel()
                case VoiceSettings():
                    await conn.voice.configure(frame)
                case Ping():
                    await conn.send(Pong())
    except WebSocketDisconnect:
        pass
    finally:
        await conn.voice.aclose()
        if conn.session is not None:
            sockets[conn.session.user] -= 1
            services.outbox.remove(conn.session.user, id(conn))
        if conn.turn is not None:
            await conn.turn.close()
