"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's, started on loopback.

Every test talks to Samantha through her websocket, as a user would; behind her is a real HTTP server
streaming from the bundled SmolLM2, sometimes down, killed mid-reply, slowed or misnamed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.backends.openai import OpenAIBackend
from app.config import Settings
from memory.embedder import Embedder
from tests.llama_server import MODEL_ALIAS, Hop, LlamaServer, free_port

pytestmark = pytest.mark.model

Samantha = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="module")
def shared_llama() -> Iterator[LlamaServer]:
    """One llama.cpp server shared by the tests that leave it running."""
    server = LlamaServer().launch()
    yield server
    server.stop()


@pytest.fixture
def llama(shared_llama: LlamaServer, embedder: Embedder) -> LlamaServer:
    """The shared server, answering (it boots while the embedder loads)."""
    return shared_llama.wait_ready()


@pytest.fixture
def spawn_llama() -> Iterator[Callable[..., LlamaServer]]:
    """Start servers of a test's own (to kill, or on a chosen port); all are stopped afterwards."""
    started: list[LlamaServer] = []

    def spawn(port: int | None = None) -> LlamaServer:
        server = LlamaServer(port)
        started.append(server)
        return server.start()

    yield spawn
    for server in started:
        server.stop()


@pytest.fixture
async def samantha(make_server: Any, settings: Settings) -> AsyncIterator[Samantha]:
    """Samantha on the openai backend, pointed at `base_url` (short replies: the CPU is shared)."""
    backends: list[OpenAIBackend] = []

    async def make(
        base_url: str, *, model: str | None = None, timeout: float = 30.0, **overrides: Any
    ) -> Any:
        # Facts by rules: learning in the background would otherwise ask the same one-at-a-time server.
        changes = {"backend": "openai", "base_url": base_url, "facts": "rules", "max_tokens": 12} | overrides
        Settings.model_validate(settings.model_dump() | changes)  # settings she would accept as flags
        backend = OpenAIBackend(base_url=base_url, api_key=None, model=model, timeout=timeout)
        backends.append(backend)
        return await make_server(backend, **changes)

    yield make
    for backend in backends:
        await backend.aclose()


async def stored_turns(server: Any, conversation: str) -> list[tuple[str, str, str]]:
    """(role, status, text) of each stored turn, from Samantha's own API."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get(f"/api/conversations/{conversation}/turns")).json()
    return [(t["role"], t["status"], t["text"]) for t in turns]


async def test_a_reply_streams_from_the_server_through_the_websocket(
    llama: LlamaServer, samantha: Samantha
) -> None:
    # No model named: she uses the one listed. Greedy and long enough for a few clauses, so the reply
    # does not hang on one sampled sentence (CI once drew a single clause at temperature 0.6).
    server = await samantha(llama.base_url, max_tokens=48, temperature=0.0)
    chat = await server.chat("c1")
    frames = await chat.turn("Hi! What do you like to do on a rainy afternoon?")
    assert frames[0]["type"] == "recalled" and frames[-1]["type"] == "done"
    deltas = [f["text"] for f in frames if f["type"] == "delta"]
    # Streamed in pieces (her reply rules release it clause by clause; a 48-token reply is a few clauses).
    assert len(deltas) >= 2 and len(frames) == len(deltas) + 2
    done = frames[-1]
    assert done["text"] == "".join(deltas) and done["text"].strip() and not done["interrupted"]
    assert await stored_turns(server, "c1") == [
        ("user", "complete", "Hi! What do you like to do on a rainy afternoon?"),
        ("assistant", "complete", done["text"]),
    ]
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/health")).json()["model"] == MODEL_ALIAS


async def test_a_server_down_at_start_is_reported_and_the_next_turn_works_once_it_is_up(
    samantha: Samantha, spawn_llama: Callable[..., LlamaServer]
) -> None:
    port = free_port()  # nothing listens here yet
    base_url = f"http://127.0.0.1:{port}/v1"
    server = await samantha(base_url)
    chat = await server.chat("c2")
    error = (await chat.turn("Are you awake?"))[-1]
    assert error["type"] == "error" and error["code"] == "backend_unreachable"
    assert base_url in error["message"] and error["user_turn_id"]
    assert await stored_turns(server, "c2") == [("user", "complete", "Are you awake?")]

    await asyncio.to_thread(spawn_llama, port)  # the server comes up where she was told it would be
    done = (await chat.turn("How about now?"))[-1]  # same socket, same backend
    assert done["type"] == "done" and done["text"].strip()
    assert [role for role, _, _ in await stored_turns(server, "c2")] == ["user", "user", "assistant"]


STORY = "Tell me a very long story about a lighthouse keeper and a whale, with lots of details."


async def test_a_server_dying_mid_reply_keeps_the_partial_reply_as_interrupted(
    samantha: Samantha, spawn_llama: Callable[..., LlamaServer]
) -> None:
    llama = await asyncio.to_thread(spawn_llama)  # a server of its own: this test kills it
    server = await samantha(llama.base_url, max_tokens=400, temperature=0.8)
    chat = await server.chat("c3")
    # The tiny model could end a story early; ask again until a reply is still streaming after a
    # few deltas (in practice the first one is).
    for _attempt in range(3):
        await chat.send({"type": "user", "text": STORY})
        frames = [await asyncio.wait_for(chat.recv(), 60)]
        while frames[-1]["type"] not in ("done", "error") and len(frames) < 1 + 6:
            frames.append(await asyncio.wait_for(chat.recv(), 60))
        if frames[-1]["type"] == "delta":
            break
        assert frames[-1]["type"] == "done", frames[-1]
    else:
        pytest.fail("three replies in a row ended within six deltas")

    llama.kill()
    while frames[-1]["type"] not in ("done", "error"):
        frames.append(await asyncio.wait_for(chat.recv(), 10))
    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "backend_error", error
    assert error["message"] == f"the model server at {llama.base_url} closed the connection mid-reply"
    partial = "".join(f["text"] for f in frames if f["type"] == "delta")
    role, status, text = (await stored_turns(server, "c3"))[-1]
    assert (role, status, text) == ("assistant", "interrupted", partial) and partial


async def test_a_slow_server_hits_the_timeout_and_the_message_is_kept(
    llama: LlamaServer, samantha: Samantha
) -> None:
    hop = await Hop(llama.port, delay=10.0).start()  # every reply arrives ten seconds late
    try:
        slow = await samantha(hop.base_url, timeout=1.0)
        chat = await slow.chat("c4")
        started = time.monotonic()
        error = (await asyncio.wait_for(chat.turn("Hello, anyone there?"), 20))[-1]
        assert time.monotonic() - started < hop.delay  # she gave up at her timeout, not when the reply came
        assert error["type"] == "error" and error["code"] == "backend_timeout"
        assert "timed out" in error["message"] and hop.base_url in error["message"]
        assert "--remote-timeout" in error["message"]
        assert await stored_turns(slow, "c4") == [("user", "complete", "Hello, anyone there?")]
    finally:
        await hop.close()
    await slow.stop()

    # Told which setting to change, you start her again, straight to the server with the usual timeout.
    direct = await samantha(llama.base_url)
    done = (await (await direct.chat("c4")).turn("Hello again?"))[-1]
    assert done["type"] == "done" and done["text"].strip()
    assert [text for _, _, text in await stored_turns(direct, "c4")] == [
        "Hello, anyone there?",
        "Hello again?",
        done["text"],
    ]


async def test_a_wrong_model_name_gets_a_clear_message(llama: LlamaServer, samantha: Samantha) -> None:
    # llama-cpp-python's server answers any model name with the model it has, so without asking
    # `/v1/models` first a typo would go unnoticed.
    server = await samantha(llama.base_url, model="smollm3-typo")
    chat = await server.chat("c5")
    error = (await chat.turn("Hi there"))[-1]
    assert error["type"] == "error" and error["code"] == "backend_model"
    assert (
        error["message"]
        == f"the server at {llama.base_url} has no model 'smollm3-typo'; it offers: {MODEL_ALIAS}"
    )
    assert await stored_turns(server, "c5") == [("user", "complete", "Hi there")]


async def test_a_server_that_does_not_list_models_works_with_a_model_name(
    llama: LlamaServer, samantha: Samantha
) -> None:
    hop = await Hop(llama.port, list_models=False).start()  # `GET /v1/models` answers 404
    try:
        named = await samantha(hop.base_url, model=MODEL_ALIAS)
        done = (await (await named.chat("c6")).turn("Hello!"))[-1]
        assert done["type"] == "done" and done["text"].strip()
        await named.stop()

        unnamed = await samantha(hop.base_url)  # nothing to fall back on
        error = (await (await unnamed.chat("c7")).turn("Hello!"))[-1]
        assert error["type"] == "error" and error["code"] == "backend_model"
        assert "set --remote-model" in error["message"]
    finally:
        await hop.close()
