"""The websocket protocol through the real app on a real socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from app.backends.scripted import EchoBackend, ScriptedBackend


def kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


async def test_a_turn_streams_recalled_deltas_and_done(make_server: Any) -> None:
    reply = "Hello there! I'm Samantha, and honestly I'm glad you're here. What should I call you?"
    server = await make_server(ScriptedBackend([reply]))
    chat = await server.chat()
    frames = await chat.turn("Hi, who are you?")
    assert frames[0]["type"] == "recalled"
    deltas = [f["text"] for f in frames if f["type"] == "delta"]
    assert len(deltas) >= 3  # streamed clause by clause
    done = frames[-1]
    assert done["type"] == "done" and done["text"] == "".join(deltas) and not done["interrupted"]
    assert done["turn_id"] > done["user_turn_id"] > 0
    assert "first_token_ms" in done["timings"]


async def test_the_biscuit_story(make_server: Any) -> None:
    """Told in one conversation, recalled in a new one before the reply streams."""
    server = await make_server()
    first = await server.chat("day-one")
    assert kinds(await first.turn("My dog is called Biscuit"))[-1] == "done"
    second = await server.chat("day-two")
    frames = await second.turn("What is my dog's name?")
    recalled = frames[0]
    assert recalled["type"] == "recalled"
    memory = recalled["memories"][0]
    assert "dog is called Biscuit" in memory["text"]
    assert memory["kind"] in ("turn", "fact") and memory["score"] == memory["why"]["total"] > 0
    assert "Biscuit" in frames[-1]["text"]  # the echo backend shows the memory reached the prompt


async def test_memories_and_history_survive_a_restart(make_server: Any) -> None:
    server = await make_server()
    chat = await server.chat("c1")
    await chat.turn("My sister Amy lives in Lisbon.")
    await chat.ws.close()
    await server.restart()
    chat = await server.chat("c1")
    frames = await chat.turn("Where does my sister live?")
    assert any("Lisbon" in m["text"] for m in frames[0]["memories"])
    assert "(2 earlier messages in view.)" in frames[-1]["text"]  # the conversation's history came back too


async def test_bad_frames_get_errors_and_the_socket_stays_open(make_server: Any) -> None:
    server = await make_server()
    chat = await server.chat("no-hello")
    await chat.send({"type": "user", "text": "hi"})
    assert (await chat.recv())["code"] == "hello_first"
    for raw, code in [
        ("not json", "bad_frame"),
        ('{"type": "dance"}', "bad_frame"),
        ('{"text": "no type"}', "bad_frame"),
        ('{"type": "user", "text": ""}', "bad_frame"),
        ('{"type": "user", "text": "hi", "extra": 1}', "bad_frame"),
        (json.dumps({"type": "user", "text": "x" * 9000}), "bad_frame"),
    ]:
        await chat.ws.send(raw)
        error = await chat.recv()
        assert error["type"] == "error" and error["code"] == code, raw
        assert error["message"]
    await chat.ws.send(b"\x00\x01binary")
    assert (await chat.recv())["code"] == "bad_frame"
    await chat.send({"type": "ping"})
    assert (await chat.recv())["type"] == "pong"
    assert (await chat.hello())["type"] == "ready"
    assert kinds(await chat.turn("still here?"))[-1] == "done"


async def test_cancel_stops_the_reply_and_keeps_it_marked_interrupted(make_server: Any) -> None:
    long_reply = " ".join(f"word{i}" for i in range(200))
    server = await make_server(ScriptedBackend([long_reply, "Short answer."], delay=0.02))
    chat = await server.chat("c1")
    await chat.send({"type": "user", "text": "Tell me a long story"})
    frames = [await chat.recv(), await chat.recv(), await chat.recv()]
    assert kinds(frames) == ["recalled", "delta", "delta"]
    await chat.send({"type": "cancel"})
    while frames[-1]["type"] != "done":
        frames.append(await chat.recv())
    done = frames[-1]
    assert done["interrupted"] and 0 < len(done["text"]) < len(long_reply)
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get("/api/conversations/c1/turns")).json()
    assert [(t["role"], t["status"]) for t in turns] == [("user", "complete"), ("assistant", "interrupted")]
    assert turns[1]["text"] == done["text"]
    assert kinds(await chat.turn("Then tell me a short one"))[-1] == "done"  # the next turn works


async def test_one_turn_at_a_time(make_server: Any) -> None:
    server = await make_server(EchoBackend(delay=0.05))
    chat = await server.chat()
    await chat.send({"type": "user", "text": "first"})
    await chat.send({"type": "user", "text": "second, too soon"})
    frames = []
    while not frames or frames[-1]["type"] != "done":
        frames.append(await chat.recv())
    assert any(f["type"] == "error" and f["code"] == "busy" for f in frames)


async def test_backend_failure_is_an_error_frame_and_the_message_is_kept(make_server: Any) -> None:
    backend = ScriptedBackend([])  # nothing to say: the backend fails
    server = await make_server(backend)
    chat = await server.chat("c1")
    frames = await chat.turn("Are you there?")
    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "script_exhausted" and error["user_turn_id"]
    backend.queue("Yes, I'm here now.")
    assert (await chat.turn("Hello again?"))[-1]["text"] == "Yes, I'm here now."
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get("/api/conversations/c1/turns")).json()
    assert [t["text"] for t in turns] == ["Are you there?", "Hello again?", "Yes, I'm here now."]


async def test_disconnect_mid_reply_keeps_the_partial_reply(make_server: Any) -> None:
    long_reply = " ".join(f"word{i}" for i in range(300))
    server = await make_server(ScriptedBackend([long_reply], delay=0.02))
    chat = await server.chat("c1")
    await chat.send({"type": "user", "text": "Talk to me"})
    for _ in range(4):
        await chat.recv()
    await chat.ws.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(100):
            turns = (await http.get("/api/conversations/c1/turns")).json()
            if len(turns) == 2:
                break
            await asyncio.sleep(0.05)
    assert turns[1]["status"] == "interrupted" and turns[1]["text"].startswith("word0")


async def test_health_says_what_is_loaded(make_server: Any) -> None:
    server = await make_server(seeds_dir=None)
    async with httpx.AsyncClient(base_url=server.url) as http:
        health = (await http.get("/health")).json()
    assert health == {
        "status": "ok",
        "backend": "echo",
        "model": "echo",
        "embedder": "all-MiniLM-L6-v2",
        "memories": 0,
        "memories_by_kind": {},
    }
