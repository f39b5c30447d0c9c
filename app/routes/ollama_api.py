"""An Ollama-compatible door (/api/chat, /api/generate, /api/tags, /api/version, /api/show, /api/ps).

Open WebUI, Enchanted, Msty and many editors speak Ollama first. Each request is one turn of the same
pipeline as /v1 (`openai_turn`): same persona, memory, users, limits and store rules; only the shapes
differ (NDJSON lines instead of server-sent events, `{"error": "..."}` instead of OpenAI's errors).
The paths do not clash with the JSON API's (/api/persona, /api/conversations, /api/memories, /api/export).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from app.protocol import Delta, Done, ErrorFrame
from app.routes.deps import ServicesDep
from app.routes.openai_api import ApiUserDep, ConversationHeader, StoreHeader
from app.routes.openai_models import MODEL_ID, APIError, ChatMessage, ChatRequest, OpenAIRoute
from app.routes.openai_turn import (
    bad_request,
    begin_turn,
    read_turn,
    store_wanted,
    stored_header,
    whole_reply,
)
from app.services import Services
from app.turn_runner import TurnRunner

log = logging.getLogger(__name__)

VERSION = "0.6.0"  # the Ollama API version these shapes follow; some clients check it
TAG = f"{MODEL_ID}:latest"
DEFAULT_CONVERSATION = "ollama"


class OllamaRoute(OpenAIRoute):
    """A route whose errors come back as Ollama's `{"error": "..."}` with the same status codes as /v1."""

    def render(self, problem: APIError) -> Response:
        """Ollama's error shape: just the message."""
        return JSONResponse(
            {"error": problem.detail.message}, status_code=problem.status, headers=problem.headers
        )


router = APIRouter(prefix="/api", tags=["ollama"], route_class=OllamaRoute)


class OllamaError(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OllamaError} for status in (400, 401, 429, 500, 502, 503, 504)
}
TURN: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
    **ERRORS,
}


class _Lenient(BaseModel):
    # Unknown fields are ignored (clients send keep_alive, think, tools ...); known ones are strict: a
    # `stream: 0` or `top_p: false` is a mistake to report, not a value to guess.
    model_config = ConfigDict(extra="ignore", strict=True)


class Options(_Lenient):
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    num_predict: int | None = None
    stop: list[str] | None = None


class OllamaMessage(_Lenient):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: list[str] | None = None


class ChatBody(_Lenient):
    model: str = TAG
    messages: list[OllamaMessage] = Field(default_factory=list)
    stream: bool = True  # Ollama streams unless told not to
    format: str | dict[str, Any] | None = None
    options: Options = Field(default_factory=Options)


class GenerateBody(_Lenient):
    model: str = TAG
    prompt: str = ""
    system: str | None = None
    stream: bool = True
    format: str | dict[str, Any] | None = None
    options: Options = Field(default_factory=Options)


# The user the key maps to, exactly as on /v1 (Ollama clients that send one use `Bearer`).
OllamaUserDep = ApiUserDep


def as_request(
    messages: list[ChatMessage], options: Options, form: str | dict[str, Any] | None
) -> ChatRequest:
    """The Ollama request in /v1's terms, so both doors read and run a turn the same way."""
    if form:
        raise bad_request(
            "Samantha answers in her own words; `format` (JSON output) is not supported", "format"
        )
    limit = options.num_predict if options.num_predict and options.num_predict > 0 else None
    return ChatRequest(
        messages=messages,
        temperature=options.temperature,
        top_p=options.top_p,
        max_tokens=limit,
        stop=options.stop,
    )


def line(body: dict[str, Any]) -> str:
    """One NDJSON line."""
    return json.dumps(body, ensure_ascii=False) + "\n"


def stamp() -> str:
    """Ollama's created_at: UTC, RFC 3339."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def piece(kind: str, text: str, done: bool) -> dict[str, Any]:
    """A chat line carries a message, a generate line a response."""
    body: dict[str, Any] = {"model": TAG, "created_at": stamp()}
    body |= {"message": {"role": "assistant", "content": text}} if kind == "chat" else {"response": text}
    return body | {"done": done}


def finish(kind: str, text: str) -> dict[str, Any]:
    """The closing line (or the whole answer): done, with the reason and the rough counts."""
    return piece(kind, text, True) | {"done_reason": "stop", "eval_count": max(1, len(text) // 4)}


async def lines(kind: str, turn: TurnRunner, first: Delta | Done) -> AsyncIterator[str]:
    """The NDJSON stream: one line per delta, then a done line; an error line if the backend fails."""
    try:
        frame: Delta | Done | ErrorFrame = first
        while isinstance(frame, Delta):
            yield line(piece(kind, frame.text, False))
            frame = await turn.next()
        yield line({"error": frame.message} if isinstance(frame, ErrorFrame) else finish(kind, ""))
    finally:
        await turn.close()


async def answer(
    kind: str,
    body: ChatRequest,
    stream: bool,
    services: Services,
    user: str,
    conversation: str | None,
    store: str | None,
) -> Response:
    """Run one turn for either endpoint and answer in Ollama's shape."""
    asked = read_turn(body.messages, opted_out=store_wanted(store, body))
    session, turn, first, _ = await begin_turn(
        services, user, conversation or DEFAULT_CONVERSATION, asked, body
    )
    headers = {"X-Samantha-Conversation": session.conversation, "X-Samantha-Stored": stored_header(asked)}
    if stream:
        return StreamingResponse(
            lines(kind, turn, first),
            media_type="application/x-ndjson",
            headers=headers,
            background=BackgroundTask(turn.close),
        )
    done = await whole_reply(turn, first)
    return JSONResponse(finish(kind, done.text), headers=headers)


@router.post("/chat", responses=TURN)
async def chat(
    body: ChatBody,
    services: ServicesDep,
    user: OllamaUserDep,
    conversation: ConversationHeader = None,
    store: StoreHeader = None,
) -> Response:
    """Her reply to the person's last message, as NDJSON lines (or one object with `stream: false`)."""
    if not body.messages:  # Ollama's way to load a model: nothing to say, done at once
        return JSONResponse(finish("chat", "") | {"done_reason": "load"})
    last = max((m for m in body.messages if m.role == "user"), key=body.messages.index, default=None)
    if last is not None and last.images:
        raise bad_request("Samantha reads text only; the person's message has images")
    messages = [ChatMessage(role=m.role, content=m.content) for m in body.messages]
    request = as_request(messages, body.options, body.format)
    return await answer("chat", request, body.stream, services, user, conversation, store)


@router.post("/generate", responses=TURN)
async def generate(
    body: GenerateBody,
    services: ServicesDep,
    user: OllamaUserDep,
    conversation: ConversationHeader = None,
    store: StoreHeader = None,
) -> Response:
    """Her reply to `prompt` (with the client's `system`), as NDJSON lines or one object."""
    if not body.prompt:  # an empty prompt only loads the model in Ollama
        return JSONResponse(finish("generate", "") | {"done_reason": "load"})
    messages = [ChatMessage(role="system", content=body.system)] if body.system else []
    messages.append(ChatMessage(role="user", content=body.prompt))
    request = as_request(messages, body.options, body.format)
    return await answer("generate", request, body.stream, services, user, conversation, store)


def model_entry(services: Services) -> dict[str, Any]:
    """Samantha as an Ollama model listing (sizes are unknown, so 0)."""
    return {
        "name": TAG,
        "model": TAG,
        "modified_at": stamp(),
        "size": 0,
        "digest": "",
        "details": {
            "format": "gguf" if services.backend.name == "llamacpp" else services.backend.name,
            "family": MODEL_ID,
            "families": [MODEL_ID],
            "parameter_size": "",
            "quantization_level": "",
            "backend_model": services.model_name,
        },
    }


@router.get("/tags", responses={401: {"model": OllamaError}})
async def tags(services: ServicesDep, user: OllamaUserDep) -> dict[str, Any]:
    """The one model here, as `ollama list` shows models."""
    return {"models": [model_entry(services)]}


@router.get("/ps", responses={401: {"model": OllamaError}})
async def running(services: ServicesDep, user: OllamaUserDep) -> dict[str, Any]:
    """The loaded model (she is always loaded while the server runs)."""
    return {"models": [model_entry(services) | {"expires_at": "0001-01-01T00:00:00Z", "size_vram": 0}]}


@router.post("/show", responses={401: {"model": OllamaError}})
async def show(services: ServicesDep, user: OllamaUserDep) -> dict[str, Any]:
    """What clients ask before they chat: details and capabilities (text completion only)."""
    entry = model_entry(services)
    return {
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": entry["details"],
        "model_info": {},
        "capabilities": ["completion"],
        "modified_at": entry["modified_at"],
    }


@router.get("/version")
async def version() -> dict[str, str]:
    """The Ollama API version these endpoints follow."""
    return {"version": VERSION}
