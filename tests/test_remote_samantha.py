"""A Samantha whose model is another OpenAI-compatible server: another Samantha, or one that cuts a stream."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.backends.openai import OpenAIBackend
from app.backends.scripted import EchoBackend


def remote(url: str, model: str | None = None) -> OpenAIBackend:
    return OpenAIBackend(base_url=url + "/v1", api_key=None, model=model, timeout=30)


async def get(server: Any, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return (await http.get(path, params=params)).json()


async def test_one_samantha_on_another_stores_each_turn_once(make_server: Any) -> None:
    back = await make_server(EchoBackend())
    front = await make_server(remote(back.url), backend="openai", base_url=back.url + "/v1", facts="model")
    # The front asked the back for its model at start: /health names it before any turn.
    assert (await get(front, "/health"))["model"] == "samantha"
    assert (await get(front, "/v1/models"))["data"][0]["backend_model"] == "samantha"
    chat = await front.chat("walks")
    frames = await chat.turn("My sister Lena lives in Porto")
    assert frames[-1]["type"] == "done"
    await chat.ws.close()
    for _ in range(200):  # the front learns in the background, asking the back for facts
        if await get(front, "/api/memories"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    said = [t["text"] for t in await get(back, "/api/conversations/openai/turns") if t["role"] == "user"]
    assert said == ["My sister Lena lives in Porto"]  # the chat once; the fact request was not stored


@pytest.fixture
async def cutting_server() -> AsyncIterator[str]:
    """A real HTTP server whose chat stream stops after two words: no finish_reason, no [DONE]."""

    def event(text: str) -> bytes:
        chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}  # fmt: skip
        return f"data: {json.dumps(chunk)}\n\n".encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = re.search(r"content-length: (\d+)", head, re.IGNORECASE)
        await reader.readexactly(int(length.group(1)) if length else 0)
        if head.startswith("GET"):
            body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "t"}]})
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n{body}".encode()
            )
        else:  # the stream ends cleanly, as if the server thought it was done
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
            writer.write(event("Once ") + event("upon "))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def test_a_stream_that_ends_mid_reply_is_kept_as_interrupted(
    make_server: Any, cutting_server: str
) -> None:
    server = await make_server(remote(cutting_server, "m"), backend="openai", base_url=cutting_server + "/v1")
    chat = await server.chat("cut")
    frames = await chat.turn("Tell me a story")
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == "Once upon "
    assert frames[-1]["type"] == "error" and "ended its stream mid-reply" in frames[-1]["message"]
    turns = await get(server, "/api/conversations/cut/turns")
    assert [(t["role"], t["status"], t["text"]) for t in turns] == [
        ("user", "complete", "Tell me a story"),
        ("assistant", "interrupted", "Once upon "),
    ]
