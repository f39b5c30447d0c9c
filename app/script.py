"""`samantha script FILE`: play a conversation (YAML) through a real server over a real socket; judge it."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from app.backends import Backend, create_backend
from app.backends.scripted import ScriptedBackend
from app.config import Settings
from app.protocol import (
    Done,
    ErrorFrame,
    Hello,
    Ping,
    Pong,
    Proactive,
    Ready,
    Recalled,
    RecalledMemory,
    UserMessage,
    server_frame,
)
from app.script_format import Expect, ScriptError, ScriptFile, load_script
from app.server import RunningServer
from memory.embedder import Embedder, load_embedder
from persona.clock import SetClock, parse_duration, parse_time


@dataclass
class Result:
    """The transcript and the verdict of each expectation."""

    lines: list[str] = field(default_factory=list)
    checks: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every expectation held."""
        return all(ok for ok, _ in self.checks)

    def check(self, ok: bool, what: str) -> None:
        """Record one expectation's verdict."""
        self.checks.append((ok, what))
        self.lines.append(f"    {'PASS' if ok else 'FAIL'} {what}")


@dataclass
class Exchange:
    """One message and what came back: the recalled memories, her reply or the error, the timings."""

    recalled: list[RecalledMemory]
    reply: str = ""
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


async def hello(ws: ClientConnection, conversation: str) -> Ready:
    """Open a conversation on the socket; her `ready` frame (with the greeting)."""
    await ws.send(Hello(type="hello", conversation=conversation).model_dump_json())
    frame = server_frame.validate_json(await ws.recv())
    if not isinstance(frame, Ready):
        raise ScriptError(f"the server did not open the conversation: {frame.model_dump_json()}")
    return frame


async def exchange(ws: ClientConnection, text: str) -> Exchange:
    """Send one message; collect the recalled memories, the reply, any error and the timings."""
    await ws.send(UserMessage(type="user", text=text).model_dump_json())
    recalled: list[RecalledMemory] = []
    while True:
        match server_frame.validate_json(await ws.recv()):
            case Recalled(memories=memories):
                recalled = memories
            case Done(text=reply, timings=timings):
                return Exchange(recalled, reply, None, timings)
            case ErrorFrame(code=code, message=message):
                return Exchange(recalled, "", f"{code}: {message}")


async def proactive(ws: ClientConnection) -> list[Proactive]:
    """Her unprompted messages that arrived on the socket (a ping's pong marks the end of them)."""
    await ws.send(Ping(type="ping").model_dump_json())
    found = []
    while not isinstance(frame := server_frame.validate_json(await ws.recv()), Pong):
        if isinstance(frame, Proactive):
            found.append(frame)
    return found


def _judge_proactive(result: Result, expect: Expect, sent: list[Proactive]) -> None:
    said = [f"{p.reason}: {p.text}" for p in sent]
    if expect.proactive is not None:
        ok = any(re.search(expect.proactive, s, re.IGNORECASE) for s in said)
        result.check(ok, f"she said unprompted something matching /{expect.proactive}/")
    if expect.not_proactive is not None:
        ok = not any(re.search(expect.not_proactive, s, re.IGNORECASE) for s in said)
        result.check(ok, f"she said nothing unprompted matching /{expect.not_proactive}/")


def _judge_greeting(result: Result, expect: Expect, greeting: str) -> None:
    if expect.greeting is not None:
        ok = re.search(expect.greeting, greeting, re.IGNORECASE) is not None
        result.check(ok, f"greeting matches /{expect.greeting}/")
    if expect.not_greeting is not None:
        ok = re.search(expect.not_greeting, greeting, re.IGNORECASE) is None
        result.check(ok, f"greeting does not match /{expect.not_greeting}/")


def _judge(result: Result, expect: Expect, said: Exchange) -> None:
    texts, reply, error = [m.text for m in said.recalled], said.reply, said.error

    def found(pattern: str, haystack: list[str]) -> bool:
        return any(re.search(pattern, h, re.IGNORECASE) for h in haystack)

    if expect.recalled is not None:
        result.check(found(expect.recalled, texts), f"recalled a memory matching /{expect.recalled}/")
    if expect.not_recalled is not None:
        result.check(
            not found(expect.not_recalled, texts), f"recalled nothing matching /{expect.not_recalled}/"
        )
    if expect.reply is not None:
        result.check(found(expect.reply, [reply]), f"reply matches /{expect.reply}/")
    if expect.not_reply is not None:
        result.check(not found(expect.not_reply, [reply]), f"reply does not match /{expect.not_reply}/")
    if expect.error is not None:
        result.check(error is not None and found(expect.error, [error]), f"turn failed with /{expect.error}/")
    elif error is not None:
        result.check(False, f"turn ended without an error (got {error})")


async def run_script(
    script: ScriptFile,
    settings: Settings,
    *,
    backend: Backend | None = None,
    embedder: Embedder | None = None,
) -> Result:
    """Play the script against a real server (restarted where it says so) and judge every expectation."""
    result = Result()
    owned = backend is None
    model = backend or create_backend(settings)
    embedder = embedder or load_embedder(None, settings.embedder)
    # A script that moves time runs the server on its own clock; the others on the machine's.
    clock = SetClock(parse_time(script.start) if script.start else None) if script.uses_time() else None
    server = await RunningServer.start(settings, backend=model, embedder=embedder, port=0, clock=clock)
    conversation = 1
    try:
        ws = await connect(server.ws_url)
        ready = await hello(ws, f"script-{conversation}")
        result.lines.append(f"  (connected; her greeting: {ready.greeting})")
        for step in script.turns:
            if clock is not None and (step.at or step.advance):
                if step.at:
                    clock.set(parse_time(step.at))
                if step.advance:
                    clock.advance(parse_duration(step.advance))
                result.lines.append(f"  -- it is now {clock.now():%A %d %B %Y, %H:%M} --")
            if step.expect.proactive or step.expect.not_proactive:  # her scheduler's round, now
                await server.initiative_round()
                unprompted = await proactive(ws)
                result.lines += [f"  samantha (unprompted, {p.reason}): {p.text}" for p in unprompted]
                _judge_proactive(result, step.expect, unprompted)
            if step.restart:
                await ws.close()
                await server.stop()
                server = await RunningServer.start(
                    settings, backend=model, embedder=embedder, port=0, clock=clock
                )
                result.lines.append("  -- server restarted --")
            if step.new_conversation or step.restart:
                if step.new_conversation:
                    conversation += 1
                    result.lines.append(f"  -- new conversation script-{conversation} --")
                await ws.close()
                ws = await connect(server.ws_url)
                ready = await hello(ws, f"script-{conversation}")
                if step.new_conversation:
                    result.lines.append(f"  (her greeting: {ready.greeting})")
                    _judge_greeting(result, step.expect, ready.greeting)
            if step.user is None:
                continue
            if step.reply is not None and isinstance(model, ScriptedBackend):
                model.queue(step.reply)
            result.lines.append(f"  you: {step.user}")
            said = await exchange(ws, step.user)
            for m in said.recalled:
                result.lines.append(f"    recalled [{m.kind} {m.score:.2f}] {m.text[:100]}")
            result.lines.append(
                f"  samantha: {said.reply}" if said.error is None else f"  error: {said.error}"
            )
            _judge(result, step.expect, said)
        await ws.close()
    finally:
        await server.stop()
        if owned:
            await model.aclose()
    return result


async def run_script_file(path: Path, settings: Settings, *, keep_data: bool = False) -> int:
    """The `samantha script` command: 0 when every expectation held, 1 when one failed, 2 on a bad file."""
    try:
        script = load_script(path)
    except ScriptError as exc:
        print(f"samantha script: {exc}", file=sys.stderr)
        return 2
    if script.backend and "backend" not in settings.model_fields_set:
        settings = Settings(**{**settings.model_dump(exclude_unset=True), "backend": script.backend})
    tmp = Path(tempfile.mkdtemp(prefix="samantha-script-"))
    try:
        if "data_dir" not in settings.model_fields_set:
            settings = settings.model_copy(update={"data_dir": tmp / "data"})
        print(f"== {script.name} ({path.name}, backend {settings.backend}, data in {settings.data_dir}) ==")
        result = await run_script(script, settings)
        print("\n".join(result.lines))
        passed = sum(ok for ok, _ in result.checks)
        print(
            f"verdict: {'PASS' if result.passed else 'FAIL'} ({passed}/{len(result.checks)} expectations met)"
        )
    finally:
        if keep_data:
            print(f"(data kept in {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if result.passed else 1
