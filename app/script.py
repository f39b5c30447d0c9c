"""`samantha script FILE`: play a conversation (YAML) through a real server over a real socket; judge it."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from websockets.asyncio.client import ClientConnection, connect

from app.backends import Backend, create_backend
from app.backends.scripted import ScriptedBackend
from app.config import Settings
from app.protocol import Done, ErrorFrame, Hello, Ready, Recalled, RecalledMemory, UserMessage, server_frame
from app.server import RunningServer
from memory.embedder import Embedder, load_embedder
from persona.clock import ClockError, SetClock, parse_duration, parse_time
from persona.errors import SamanthaError


class Expect(BaseModel):
    """What must hold after a turn; each value is a case-insensitive regular expression."""

    model_config = ConfigDict(extra="forbid")
    recalled: str | None = Field(None, description="Some recalled memory matches this.")
    not_recalled: str | None = Field(None, description="No recalled memory matches this.")
    reply: str | None = Field(None, description="The reply matches this.")
    not_reply: str | None = Field(None, description="The reply does not match this.")
    error: str | None = Field(None, description="The turn ends in an error whose code matches this.")
    greeting: str | None = Field(None, description="On a new conversation: her greeting matches this.")
    not_greeting: str | None = Field(None, description="On a new conversation: her greeting does not.")


class Step(BaseModel):
    """One step: move the clock, restart the server, open a new conversation, then say something."""

    model_config = ConfigDict(extra="forbid")
    at: str | None = Field(None, description="Set the clock to this local time first: 2026-12-01T09:00.")
    advance: str | None = Field(None, description="Move the clock forward first: '3 days', '2 hours'.")
    user: str | None = None
    reply: str | None = Field(None, description="What the scripted backend answers to this message.")
    expect: Expect = Field(default_factory=Expect)
    new_conversation: bool = False
    restart: bool = False

    @field_validator("at")
    @classmethod
    def _a_time(cls, at: str | None) -> str | None:
        if at is not None:
            try:
                parse_time(at)
            except ClockError as exc:
                raise ValueError(str(exc)) from exc
        return at

    @field_validator("advance")
    @classmethod
    def _a_duration(cls, advance: str | None) -> str | None:
        if advance is not None:
            try:
                parse_duration(advance)
            except ClockError as exc:
                raise ValueError(str(exc)) from exc
        return advance

    @model_validator(mode="after")
    def _greeting_on_a_new_conversation(self) -> Step:
        if (self.expect.greeting or self.expect.not_greeting) and not self.new_conversation:
            raise ValueError("expect.greeting and expect.not_greeting need new_conversation: true")
        return self


class ScriptFile(BaseModel):
    """A scripted conversation."""

    model_config = ConfigDict(extra="forbid")
    name: str
    backend: Literal["llamacpp", "openai", "scripted", "echo"] | None = None
    start: str | None = Field(None, description="The clock's time at the start (default: when it runs).")
    turns: list[Step] = Field(min_length=1)

    @field_validator("start")
    @classmethod
    def _a_start(cls, start: str | None) -> str | None:
        return Step._a_time(start)

    def uses_time(self) -> bool:
        """Whether the script moves time (then the server runs on the script's own clock)."""
        return self.start is not None or any(s.at or s.advance for s in self.turns)


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


class ScriptError(SamanthaError, ValueError):
    """The script file cannot be read or does not follow the format."""


def load_script(path: Path) -> ScriptFile:
    """Parse and validate a script file, with errors that name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return ScriptFile.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScriptError(f"{path} is not a valid script: {where}") from exc


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
