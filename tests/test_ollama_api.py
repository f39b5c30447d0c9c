"""The Ollama-compatible door, driven by the official `ollama` Python client against a real server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import pytest

from app.backends.scripted import EchoBackend, ScriptedBackend
from tests.test_openai_clients import FIXTURES, remembered, said


async def test_ollama_clients_see_one_model_and_a_version(make_server: Any) -> None:
    server = await make_server()
    api = ollama.AsyncClient(host=server.url)
    assert [m.model for m in (await api.list()).models] == ["samantha:latest"]
    assert [m.model for m in (await api.ps()).models] == ["samantha:latest"]
    shown = await api.show("samantha")
    assert shown.capabilities == ["completion"] and shown.details is not None
    async with httpx.AsyncClient(base_url=server.url) as http:
        version = (await http.get("/api/version")).json()["version"]
    assert tuple(int(p) for p in version.split(".")) >= (0, 5, 0)


async def test_a_streamed_chat_is_one_turn_of_the_same_pipeline(make_server: Any) -> None:
    reply = "Lisbon in May sounds lovely. Who are you going with?"
    server = await make_server(ScriptedBackend([reply]))
    api = ollama.AsyncClient(host=server.url)
    parts = [
        part
        async for part in await api.chat(
            model="samantha",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "I'm going to Lisbon"},
            ],
            stream=True,
        )
    ]
    # Streamed in pieces (her reply rules release it clause by clause), then a closing line.
    assert sum(1 for p in parts if p.message.content) >= 2
    assert parts[-1].done and parts[-1].done_reason == "stop"
    assert "".join(p.message.content or "" for p in parts) == reply
    assert await said(server, "ollama") == [("user", "I'm going to Lisbon"), ("assistant", reply)]


async def test_what_she_learned_on_one_door_she_recalls_on_the_other(make_server: Any) -> None:
    server = await make_server()  # echo: the reply shows what she recalled
    api = ollama.AsyncClient(host=server.url)
    await api.chat(
        model="samantha", messages=[{"role": "user", "content": "My dog is called Biscuit"}], stream=False
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"messages": [{"role": "user", "content": "What is my dog's name?"}]}
        answer = (await http.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"][
            "content"
        ]
    assert "dog is called Biscuit" in answer.split("I recall:", 1)[1]


async def test_generate_streams_ndjson_lines(make_server: Any) -> None:
    backend = EchoBackend()
    server = await make_server(backend)
    async with (
        httpx.AsyncClient(base_url=server.url) as http,
        http.stream(
            "POST", "/api/generate", json={"model": "samantha", "prompt": "Hello", "system": "Be kind."}
        ) as r,
    ):
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) async for line in r.aiter_lines() if line]
    assert all("response" in line for line in lines) and lines[-1]["done"] is True
    assert "".join(line["response"] for line in lines).startswith('You said: "Hello"')
    assert backend.prompts[-1][0]["content"].rstrip().count("Be kind.") == 1
    whole = await ollama.AsyncClient(host=server.url).generate(model="samantha", prompt="Hi again")
    assert whole.done and whole.response.startswith('You said: "Hi again"')


async def test_open_webui_chores_over_ollama_are_not_stored(make_server: Any) -> None:
    server = await make_server()
    title = json.loads((FIXTURES / "openwebui/title.json").read_text())
    answer = await ollama.AsyncClient(host=server.url).chat(
        model="samantha", messages=title["messages"], stream=False
    )
    assert answer.message.content
    assert await said(server, "ollama") == [] and await remembered(server) == []


async def test_bad_requests_get_ollamas_error_shape(make_server: Any) -> None:
    server = await make_server()
    api = ollama.AsyncClient(host=server.url)
    with pytest.raises(ollama.ResponseError, match="no message from the person") as refused:
        await api.chat(model="samantha", messages=[{"role": "assistant", "content": "Hi"}], stream=False)
    assert refused.value.status_code == 400
    with pytest.raises(ollama.ResponseError, match="format"):
        await api.chat(
            model="samantha", messages=[{"role": "user", "content": "hi"}], format="json", stream=False
        )
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/api/chat", json={"messages": [{"role": "wizard", "content": "x"}]})
    assert response.status_code == 400 and set(response.json()) == {"error"}
    loaded = await api.chat(model="samantha", messages=[])  # Ollama's "load the model": done at once
    assert loaded.done and await said(server, "ollama") == []


async def test_the_ollama_door_has_the_same_rate_limit_and_says_when_to_retry(make_server: Any) -> None:
    server = await make_server(rate_limit=1)
    ask = {"model": "samantha", "stream": False}
    async with httpx.AsyncClient(base_url=server.url) as http:
        answers = [
            await http.post("/api/chat", json={**ask, "messages": [{"role": "user", "content": f"hi {i}"}]})
            for i in range(12)
        ]
    limited = [r for r in answers if r.status_code == 429]
    assert limited and all(
        int(r.headers["Retry-After"]) >= 1 and "try again" in r.json()["error"] for r in limited
    )
