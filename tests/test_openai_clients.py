"""What real clients send to /v1: SillyTavern's message shapes, Open WebUI's chores, opt-outs, refusals.

The request bodies under tests/fixtures/ are the clients' own: SillyTavern 1.19.0's were captured from its
server log while it talked to Samantha (tests/browser/test_sillytavern.py drives it live; the "continue
prefill" one is that capture less the nudge, and the impersonate one has its default impersonation prompt
instead, which is what its source sends). Open WebUI's are
built from its source (its task prompt templates and payloads), since it is too large to run here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.backends.scripted import EchoBackend, ScriptedBackend
from app.config import DEFAULT_PERSONA
from persona.persona import load_persona

FIXTURES = Path(__file__).parent / "fixtures"


def client(server: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0)


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return body


async def post(server: Any, body: dict[str, Any], **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.post("/v1/chat/completions", json=body, headers=headers)


def reply_text(response: httpx.Response) -> str:
    """Her reply, from a whole completion or from the server-sent events of a streamed one."""
    if not response.headers["content-type"].startswith("text/event-stream"):
        return str(response.json()["choices"][0]["message"]["content"])
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: {")]
    return "".join(
        json.loads(e)["choices"][0]["delta"].get("content", "") for e in events if '"choices":[{' in e
    )


async def said(server: Any, conversation: str = "openai") -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get(f"/api/conversations/{conversation}/turns")).json()
    return [(t["role"], t["text"]) for t in turns]


async def remembered(server: Any) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return [m["text"] for m in (await http.get("/api/memories")).json()]


async def test_post_history_instructions_after_the_message_are_her_instructions(make_server: Any) -> None:
    """SillyTavern sends a character's post-history instructions as a system message after the user's."""
    backend = EchoBackend()
    server = await make_server(backend)
    body = fixture("sillytavern/post_history.json")
    response = await post(server, body)
    assert response.status_code == 200, response.text
    system = backend.prompts[-1][0]["content"]
    persona = load_persona(DEFAULT_PERSONA).system_text()
    card, instructions = body["messages"][0]["content"], body["messages"][-1]["content"]
    assert system.startswith(persona) and system.index(card) < system.index(instructions)
    assert backend.prompts[-1][-1]["content"] == body["messages"][-2]["content"]  # the turn: the person's
    assert await said(server) == [
        ("user", body["messages"][-2]["content"]),
        ("assistant", reply_text(response)),
    ]


@pytest.mark.parametrize("name", ["continue.json", "continue_prefill.json", "impersonate.json"])
async def test_continue_answers_without_storing_the_message_again(make_server: Any, name: str) -> None:
    backend = EchoBackend()
    server = await make_server(backend)
    body = fixture(f"sillytavern/{name}")
    response = await post(server, body)
    assert response.status_code == 200, response.text
    assert response.headers["x-samantha-stored"].startswith("no; she had already answered")
    partial = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "assistant")
    assert (
        f'Your reply to their last message, so far: "{partial.strip()}"' in backend.prompts[-1][0]["content"]
    )
    assert await said(server) == []  # the message was stored when she first answered it


async def test_a_request_with_no_message_from_the_person_is_a_clear_400(make_server: Any) -> None:
    server = await make_server()
    with pytest.raises(openai.BadRequestError, match=r'no message from the person \(role "user"\).*system'):
        await client(server).chat.completions.create(
            model="samantha",
            messages=[
                {"role": "system", "content": "[Start a new chat]"},
                {"role": "assistant", "content": "Hi"},
            ],
        )
    with pytest.raises(
        openai.BadRequestError, match=r"messages\[1\]\) is empty, so there is nothing to answer"
    ):
        await client(server).chat.completions.create(
            model="samantha",
            messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": " "}],
        )
    assert await said(server) == []


async def test_top_p_zero_is_accepted(make_server: Any) -> None:
    server = await make_server(ScriptedBackend(["Hello."]))
    completion = await client(server).chat.completions.create(
        model="samantha", messages=[{"role": "user", "content": "hi"}], top_p=0
    )
    assert completion.choices[0].message.content == "Hello."


@pytest.mark.parametrize(
    ("extra", "headers"),
    [({"store": False}, {}), ({}, {"X-Samantha-Store": "no"})],
    ids=["store-false", "header"],
)
async def test_a_client_can_ask_her_not_to_store(
    make_server: Any, extra: dict[str, Any], headers: dict[str, str]
) -> None:
    server = await make_server(ScriptedBackend(["Sure, here it is."]))
    body = {
        "model": "samantha",
        "messages": [{"role": "user", "content": "My dog is called Biscuit"}],
        **extra,
    }
    response = await post(server, body, **headers)
    assert (
        response.status_code == 200
        and response.json()["choices"][0]["message"]["content"] == "Sure, here it is."
    )
    assert response.headers["x-samantha-stored"].startswith("no; the client sent")
    assert await said(server) == [] and await remembered(server) == []


async def test_open_webui_chores_are_answered_but_never_remembered(make_server: Any) -> None:
    """One message in Open WebUI: the chat, then its follow-up, title and tags prompts."""
    backend = EchoBackend()
    server = await make_server(backend)
    chat = fixture("openwebui/chat.json")  # carries Open WebUI's tool list, as it sends it
    response = await post(server, chat)
    assert response.status_code == 200, response.text
    assert "".join(response.iter_lines()).count("data:") > 3 and "[DONE]" in response.text
    for chore in ("follow_ups.json", "title.json", "tags.json", "tool_picker.json"):
        response = await post(server, fixture(f"openwebui/{chore}"))
        assert response.status_code == 200, (chore, response.text)
        assert response.headers["x-samantha-stored"].startswith("no; "), chore
        assert response.json()["choices"][0]["message"]["content"]
    person = chat["messages"][-1]["content"]
    assert [text for role, text in await said(server) if role == "user"] == [person]
    memories = await remembered(server)
    assert memories and all("### Task" not in m and "<chat_history>" not in m for m in memories)
    # And the chores' words do not come back later as something the person said.
    later = await client(server).chat.completions.create(
        model="samantha", messages=[{"role": "user", "content": "Generate tags for the chat history"}]
    )
    assert "### Task" not in (later.choices[0].message.content or "")


SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}


@pytest.mark.parametrize(
    ("extra", "param", "words"),
    [
        ({"tool_choice": "required"}, "tool_choice", "cannot call tools"),
        ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, "tool_choice", "named"),
        ({"response_format": SCHEMA}, "response_format", "json_schema"),
        ({"response_format": {"type": "json_object"}}, "response_format", "json_object"),
    ],
)
async def test_what_she_cannot_do_is_refused_clearly(
    make_server: Any, extra: dict[str, Any], param: str, words: str
) -> None:
    server = await make_server(ScriptedBackend(["unused"]))
    tools = fixture("openwebui/chat.json")["tools"]
    with pytest.raises(openai.BadRequestError, match=words) as refused:
        await client(server).chat.completions.create(
            model="samantha",
            messages=[{"role": "user", "content": "What's the weather?"}],
            tools=tools,
            **extra,
        )
    assert refused.value.param == param
    assert await said(server) == []


async def test_tools_she_may_ignore_do_not_stop_a_reply(make_server: Any) -> None:
    server = await make_server(ScriptedBackend(["I can't check the weather, but tell me about your day."]))
    completion = await client(server).chat.completions.create(
        model="samantha",
        messages=[{"role": "user", "content": "What's the weather?"}],
        tools=fixture("openwebui/chat.json")["tools"],
        tool_choice="auto",
        response_format={"type": "text"},
    )
    assert completion.choices[0].message.content.startswith("I can't check the weather")  # type: ignore[union-attr]


async def test_unknown_v1_paths_answer_in_openais_shape(make_server: Any) -> None:
    server = await make_server()
    with pytest.raises(openai.NotFoundError, match=r"no POST /v1/embeddings; she offers") as missing:
        await client(server).embeddings.create(model="samantha", input="hi")
    assert missing.value.code == "unknown_url"
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/v1/chat/completions")
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert response.json()["error"]["message"] == "/v1/chat/completions takes POST, not GET"
        # The rest of the app keeps FastAPI's own shape.
        assert (await http.get("/api/nothing")).json() == {"detail": "Not Found"}
