"""Bad and oversized input, the data folder's permissions, and learning that a crash cut short."""

from __future__ import annotations

import stat
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.backends.scripted import EchoBackend
from app.config import Settings
from memory.accounts import AccountStore
from memory.embedder import Embedder
from memory.store import DB_FILE, MemoryStore
from persona.messages import approx_tokens

CHAT = "/v1/chat/completions"


def ask(text: str, system: str | None = None) -> dict[str, Any]:
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    return {"model": "samantha", "messages": [*messages, {"role": "user", "content": text}]}


async def test_a_huge_request_is_refused_before_it_is_read(make_server: Any) -> None:
    server = await make_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        declared = await http.post(CHAT, json=ask("hi", system="x" * (3 << 20)))
        assert declared.status_code == 413
        assert "--max-request-bytes" in declared.json()["error"]["message"]

        async def chunks() -> Any:  # no Content-Length: counted as it arrives
            for _ in range(40):
                yield b"x" * (100 << 10)

        streamed = await http.post(CHAT, content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert (await http.post(CHAT, json=ask("hi"))).status_code == 200  # the server is fine


class CountingEcho(EchoBackend):
    """The echo backend with a tokenizer of its own that notes where it ran (like llama.cpp's)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_loop: list[int] = []  # lengths of the texts counted on the event loop's thread

    def count_tokens(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            self.on_loop.append(len(text))
        return approx_tokens(text)


async def test_a_long_request_is_counted_off_the_event_loop(make_server: Any) -> None:
    backend = CountingEcho()
    server = await make_server(backend, context_tokens=32768)
    system = "You are in a play. " * 2000  # ~38,000 characters
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        assert (await http.post(CHAT, json=ask("Hello there", system=system))).status_code == 200
    chat = await server.chat()
    assert (await chat.turn("And hello over the socket " * 100))[-1]["type"] == "done"
    assert not [n for n in backend.on_loop if n > 1000], "long texts were tokenized on the event loop"


async def test_a_system_message_beyond_the_budget_is_a_400_naming_the_setting(make_server: Any) -> None:
    server = await make_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        response = await http.post(CHAT, json=ask("Hello", system="Stay in character. " * 5000))
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert "--context-tokens" in message and "SAMANTHA_CONTEXT_TOKENS" in message
        assert (await http.post(CHAT, json=ask("Hello", system="Be brief."))).status_code == 200


@pytest.mark.parametrize("query", ['"', "*", "!!!", "😀", "___", "(", "-"])
async def test_searching_for_punctuation_finds_nothing_rather_than_failing(
    make_server: Any, query: str
) -> None:
    server = await make_server()
    chat = await server.chat()
    await chat.turn("My dog is called Biscuit!!!")
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/api/memories", params={"q": query})
    assert response.status_code == 200 and response.json() == []


async def test_health_tells_counts_only_to_whoever_owns_them(
    settings: Settings, embedder: Embedder, make_server: Any
) -> None:
    accounts = await AccountStore.open(settings.data_dir)
    token = await accounts.add("alice")
    await accounts.aclose()
    store = await MemoryStore.open(settings.data_dir, embedder)
    await store.remember("alice", "[2026-11-21] user: My dog is called Biscuit", kind="turn")
    await store.remember("bob", "[2026-11-21] user: I have three cats", kind="turn")
    await store.aclose()
    server = await make_server()
    async with httpx.AsyncClient(base_url=server.url) as http:
        anonymous = (await http.get("/health")).json()
        assert anonymous["status"] == "ok" and anonymous["memories"] is None
        assert anonymous["memories_by_kind"] is None
        alice = (await http.get("/health", headers={"Authorization": f"Bearer {token}"})).json()
        assert alice["memories"] == 1 and alice["memories_by_kind"] == {"turn": 1}


async def test_the_data_folder_is_private(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    store = await MemoryStore.open(data, embedder)
    await store.remember("me", "[2026-11-21] user: a secret", kind="turn")
    await store.aclose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "index").stat().st_mode) == 0o700
    for file in [data / DB_FILE, *(data / "index").glob("*.faiss")]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    # A folder made readable by an older version is tightened when it is opened.
    data.chmod(0o755)
    (data / DB_FILE).chmod(0o644)
    store = await MemoryStore.open(data, embedder)
    assert stat.S_IMODE((data / f"{DB_FILE}-wal").stat().st_mode) == 0o600
    await store.aclose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / DB_FILE).stat().st_mode) == 0o600


async def test_a_message_stored_but_not_learned_before_a_crash_is_learned_at_start(
    settings: Settings, embedder: Embedder, make_server: Any
) -> None:
    # What a SIGKILL between "stored" (the reply acknowledged) and learning leaves: the turn, no memory.
    store = await MemoryStore.open(settings.data_dir, embedder)
    await store.log_turn("me", "c1", "user", "My dog is called Biscuit.")
    assert await store.count("me") == {}
    await store.aclose()
    server = await make_server()
    chat = await server.chat("c2")
    frames = await chat.turn("What is my dog's name?")
    assert any("Biscuit" in m["text"] for m in frames[0]["memories"])
    await server.restart()  # learned once: nothing is learned twice
    async with httpx.AsyncClient(base_url=server.url) as http:
        texts = [m["text"] for m in (await http.get("/api/memories", params={"q": "Biscuit"})).json()]
    assert len([t for t in texts if "user: My dog is called Biscuit" in t]) == 1


async def test_a_frame_over_a_mebibyte_gets_an_error_frame(make_server: Any) -> None:
    server = await make_server()
    chat = await server.chat()
    await chat.ws.send('{"type":"user","text":"' + "x" * (2 << 20) + '"}')
    error = await chat.recv()
    assert error["type"] == "error" and error["code"] == "frame_too_large"
    await chat.send({"type": "ping"})
    assert (await chat.recv())["type"] == "pong"


async def test_whitespace_is_not_a_message(make_server: Any) -> None:
    server = await make_server()
    chat = await server.chat()
    for blank in (" ", "\n\t  \n", "\u3000"):
        await chat.send({"type": "user", "text": blank})
        error = await chat.recv()
        assert error["code"] == "bad_frame" and "whitespace" in error["message"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/conversations")).json() == []  # nothing was stored


async def test_a_429_says_when_to_retry(make_server: Any) -> None:
    server = await make_server(rate_limit=1)
    async with httpx.AsyncClient(base_url=server.url) as http:
        statuses = [(await http.post(CHAT, json=ask(f"message {i}"))) for i in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and all(int(r.headers["Retry-After"]) >= 1 for r in limited)
