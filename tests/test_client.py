"""`samantha chat` as a real process on a pseudo-terminal, typed at like a person, against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from app.backends.scripted import EchoBackend, ScriptedBackend
from app.config import Settings
from app.server import RunningServer
from memory.accounts import AccountStore
from memory.embedder import Embedder
from persona.clock import SetClock
from persona.persona import load_persona
from tests.terminal import CTRL_A, CTRL_C, CTRL_D, ROOT, UP


async def start_again(server: Any, port: int) -> None:
    """Start a stopped server again on its old port, where the client looks (restart() picks a new one)."""
    server.running = await RunningServer.start(
        server.settings, backend=server.backend, embedder=server.embedder, port=port
    )


async def test_greeting_a_streamed_reply_line_editing_history_and_quit(
    make_server: Any, terminal: Any, tmp_path: Path
) -> None:
    server = await make_server()
    tty = await terminal("--url", server.running.ws_url)
    greeting = load_persona(server.settings.persona_file).greeting
    await tty.expect(r"Connected to Samantha \(echo\); conversation \w+")
    await tty.expect(re.escape(f"Samantha: {greeting}"))
    await tty.say("/help")
    for command in ("/new", "/memories", "/forget ID", "/recalled", "/quit"):
        await tty.expect(re.escape(command))
    await tty.prompt()
    tty.type("world" + CTRL_A + "hello " + "\r")  # readline: jump to the start of the line and insert
    await tty.expect(r'Samantha: You said: "hello world"\. I recall: nothing\.')
    await tty.say(UP)  # the previous line, from readline's history
    await tty.expect(r'You said: "hello world"\. I recall: .*\(2 earlier messages in view\.\)')
    await tty.say("/nonsense")
    await tty.expect(r"Unknown command /nonsense; /help lists them\.")
    await tty.say("/quit")
    assert await tty.exit_status() == 0
    history = tmp_path / ".samantha_history"
    assert "hello world" in history.read_text() and history.stat().st_mode & 0o077 == 0
    assert "Traceback" not in tty.screen


async def test_recalled_memories_forget_and_new_conversation(make_server: Any, terminal: Any) -> None:
    server = await make_server()
    tty = await terminal("--url", server.running.ws_url, "--conversation", "day-one")
    await tty.expect(r"conversation day-one\.")
    await tty.say("/recalled")
    await tty.expect(r"Nothing yet")
    await tty.say("My dog is called Biscuit")
    await tty.expect(r"Samantha: You said")
    await tty.say("/new")
    new_id = (await tty.expect(r"\(new conversation (\w+)\)")).group(1)
    assert new_id != "day-one"
    await tty.say("What is my dog's name?")
    await tty.expect(r"Samantha: You said: \"What is my dog's name\?\"\. I recall: .*Biscuit")
    await tty.say("/recalled")
    await tty.expect(r"She recalled (1 memory|\d+ memories) for her last reply")
    await tty.expect(r"\d\.\d\d  (turn|fact) +#\d+ +.*dog is called Biscuit")
    n = r"\d\.\d\d"
    await tty.expect(rf"meaning {n}, words {n}, beside a match {n}, recency {n}, importance {n}")

    await tty.say("/memories Biscuit")
    listed = re.findall(r"#(\d+) +(?:turn|fact) .*Biscuit", await tty.prompt())
    assert listed
    for memory_id in listed:  # forgetting one may take others with it (what was learned from it)
        await tty.say(f"/forget {memory_id}")
        await tty.expect(rf"(Forgot memory #{memory_id}|No memory #{memory_id})")
    await tty.say("/memories Biscuit")
    await tty.expect(r"No memories contain 'Biscuit'\.")
    await tty.say("/forget 999999")
    await tty.expect(r"No memory #999999: nothing forgotten")
    await tty.say("/forget soon")
    await tty.expect(r"Usage: /forget ID")
    await tty.prompt()  # typed earlier, ^D would reach a terminal that is not yet readline's
    tty.type(CTRL_D)
    assert await tty.exit_status() == 0
    assert "Traceback" not in tty.screen


async def test_ctrl_c_stops_a_reply_and_the_client_carries_on(make_server: Any, terminal: Any) -> None:
    long_reply = " ".join(f"word{i}" for i in range(300))
    server = await make_server(ScriptedBackend([long_reply, "Short answer."], delay=0.05))
    tty = await terminal("--url", server.running.ws_url)
    await tty.say("Tell me a long story")
    await tty.expect(r"Samantha: word0 word1 word2")  # streaming: the first words arrive on their own
    tty.type(CTRL_C)
    await tty.expect(r"\(stopped\)\n", timeout=10)
    assert "word299" not in tty.screen
    await tty.say("Then a short one")
    await tty.expect(r"Samantha: Short answer\.")
    await tty.say("And another")  # the script has run out: the server's error is a readable line
    await tty.expect(r"! the scripted backend has no reply left .* \[script_exhausted\]")
    await tty.prompt()
    await tty.ctrl_c_at_the_prompt("half a thought")  # the line is dropped, and a hint shown
    await tty.expect(r"Ctrl\+C again to leave")
    await tty.ctrl_c_at_the_prompt()
    assert await tty.exit_status() == 0
    assert "Traceback" not in tty.screen


async def test_reconnects_to_the_same_conversation_when_the_server_restarts(
    make_server: Any, terminal: Any
) -> None:
    server = await make_server()
    tty = await terminal("--url", server.running.ws_url, "--conversation", "c1")
    await tty.say("My sister Amy lives in Lisbon.")
    await tty.prompt()
    port = server.running.port
    await server.stop()
    await start_again(server, port)
    await tty.expect(r"connection lost; reconnecting…")
    await tty.expect(r"reconnected; conversation c1", timeout=30)
    await tty.say("Where does my sister live?")
    await tty.expect(r"I recall: .*Lisbon.*\(2 earlier messages in view\.\)")  # same conversation
    await tty.say("/quit")
    assert await tty.exit_status() == 0
    assert "Traceback" not in tty.screen


async def test_a_message_typed_while_the_server_is_down_goes_through_when_it_is_back(
    make_server: Any, terminal: Any
) -> None:
    server = await make_server()
    tty = await terminal("--url", server.running.ws_url, "--conversation", "c2")
    await tty.say("first")
    await tty.expect(r"Samantha: You said")
    port = server.running.port
    await server.stop()
    await tty.expect(r"reconnecting…")
    await tty.say("second")
    await tty.expect(r"waiting for the server")
    await start_again(server, port)
    await tty.expect(r'You said: "second".*\(2 earlier messages in view\.\)', timeout=30)
    await tty.say("/quit")
    assert await tty.exit_status() == 0


async def test_the_token_opens_the_socket_and_the_memory_endpoints(
    settings: Settings, embedder: Embedder, make_server: Any, terminal: Any
) -> None:
    accounts = await AccountStore.open(settings.data_dir)  # with an account, tokens are required
    token = await accounts.add("alice")
    await accounts.aclose()
    server = await make_server()
    refused = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "app.cli", "chat", "--url", server.running.ws_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 1
    assert "the server refused: an access token is required" in err.decode()
    assert "Traceback" not in (out + err).decode()
    tty = await terminal("--url", server.running.ws_url, "--token", token)
    await tty.say("My cat is called Miso")
    await tty.expect(r"Samantha: You said")
    await tty.say("What is my cat called?")  # she learns in the background; her next recall waits for it
    await tty.expect(r"I recall: .*Miso")
    await tty.say("/memories Miso")
    await tty.expect(r"#\d+ +turn .*My cat is called Miso")
    await tty.say("/quit")
    assert await tty.exit_status() == 0


def test_an_unreachable_server_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "chat", "--url", "ws://127.0.0.1:9/ws"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "cannot connect to ws://127.0.0.1:9/ws" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "app.cli", "chat", "--conversation", "no spaces/please"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "--conversation takes" in bad.stderr


async def test_what_she_says_unprompted_shows_up_at_the_prompt(
    settings: Settings, embedder: Embedder, terminal: Any
) -> None:
    clock = SetClock(datetime(2026, 11, 30, 21, 0))
    server = await RunningServer.start(
        settings, backend=EchoBackend(), embedder=embedder, port=0, clock=clock
    )
    try:
        tty = await terminal("--url", server.ws_url)
        await tty.say("Could you say good night to me at 21:30?")
        await tty.expect(r"Samantha: You said")
        await tty.prompt()
        tty.type("half a tho")  # typing when she speaks: her line comes above, the typing stays
        await tty.expect(r"half a tho$")
        clock.set(datetime(2026, 11, 30, 21, 31))
        assert await server.initiative_round() == 1
        await tty.expect(
            r"Samantha: Good night\. Sleep well, and I'll be here when you wake up\.\nyou> half a tho"
        )
        tty.type("ught\r")
        await tty.expect(r'You said: "half a thought"')
        await tty.say("/quit")
        assert await tty.exit_status() == 0
    finally:
        await server.stop()
