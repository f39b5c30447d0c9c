"""An OpenAI-compatible API at /v1: any OpenAI-style client talks to Samantha, her persona and memory."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from starlette.background import BackgroundTask

from app.auth import AuthError, resolve_user
from app.protocol import Delta, Done, ErrorFrame
from app.routes.deps import ServicesDep, bearer_token
from app.routes.openai_models import (
    MODEL_ID,
    APIError,
    ChatRequest,
    ErrorBody,
    ErrorDetail,
    ModelCard,
    ModelList,
    OpenAIRoute,
)
from app.routes.openai_turn import (
    begin_turn,
    check_features,
    read_turn,
    store_wanted,
    stored_header,
    whole_reply,
)
from app.turn_runner import TurnRunner

log = logging.getLogger(__name__)

DEFAULT_CONVERSATION = "openai"
_SLUG = re.compile(r"[A-Za-z0-9_.-]{1,40}")

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 429, 500, 502, 503, 504)
}
SSE_EVENT = {"type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}
COMPLETION: dict[int | str, dict[str, Any]] = {
    # With `stream: true`, server-sent events: each one's `data` is a chat.completion.chunk (JSON), or [DONE].
    200: {"model": ChatCompletion, "content": {"text/event-stream": {"schema": SSE_EVENT}}},
    **ERRORS,
}


async def api_user(request: Request, services: ServicesDep) -> str:
    """The user the API key (`Authorization: Bearer`) maps to; on one's own machine with no users, any key."""
    try:
        user = await resolve_user(services, bearer_token(request))
    except AuthError as exc:
        raise APIError(401, ErrorDetail(message=str(exc), code="invalid_api_key")) from exc
    return user


ApiUserDep = Annotated[str, Depends(api_user)]
ConversationHeader = Annotated[
    str | None,
    Header(alias="X-Samantha-Conversation", max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
]
StoreHeader = Annotated[str | None, Header(alias="X-Samantha-Store", max_length=8)]


def conversation_id(header: str | None, client_user: str | None) -> str:
    """Where a stateless request is stored: the header, else one per client `user`, else "openai"."""
    if header:
        return header
    if client_user:
        readable = _SLUG.fullmatch(client_user)
        slug = client_user if readable else hashlib.sha256(client_user.encode()).hexdigest()[:16]
        return f"openai-{slug}"
    return DEFAULT_CONVERSATION


@dataclass
class Reply:
    """What a completion reports besides the text: id, time, finish reason and (rough) token counts."""

    count: Callable[[str], int]
    max_tokens: int
    prompt_tokens: int
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def finish_reason(self, text: str) -> Literal["stop", "length"]:
        """Whether the reply used up max_tokens: exact with llama.cpp's tokenizer, rough otherwise."""
        return "length" if text and self.count(text) >= self.max_tokens else "stop"

    def usage(self, text: str) -> CompletionUsage:
        """The request's messages and persona (not the memories), and the reply."""
        done = self.count(text) if text else 0
        return CompletionUsage(
            prompt_tokens=self.prompt_tokens, completion_tokens=done, total_tokens=self.prompt_tokens + done
        )

    def completion(self, text: str) -> ChatCompletion:
        """The whole reply as a chat.completion."""
        message = ChatCompletionMessage(role="assistant", content=text)
        choice = Choice(index=0, message=message, finish_reason=self.finish_reason(text))
        return ChatCompletion(
            id=self.id,
            object="chat.completion",
            created=self.created,
            model=MODEL_ID,
            choices=[choice],
            usage=self.usage(text),
        )

    def chunk(self, choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> str:
        """One server-sent event holding a chat.completion.chunk (only the fields set are sent)."""
        chunk = ChatCompletionChunk(
            id=self.id, object="chat.completion.chunk", created=self.created, model=MODEL_ID, choices=choices
        )
        if usage is not None:
            chunk.usage = usage
        return f"data: {chunk.model_dump_json(exclude_unset=True)}\n\n"

    def delta(self, delta: ChoiceDelta, finish: Literal["stop", "length"] | None = None) -> str:
        """A chunk carrying one delta."""
        return self.chunk([ChunkChoice(index=0, delta=delta, finish_reason=finish)])


async def events(
    turn: TurnRunner, first: Delta | Done, reply: Reply, include_usage: bool
) -> AsyncIterator[str]:
    """The SSE stream: role, content deltas, finish reason, [DONE]; an error event if the backend fails."""
    try:
        yield reply.delta(ChoiceDelta(role="assistant", content=""))
        frame: Delta | Done | ErrorFrame = first
        while isinstance(frame, Delta):
            yield reply.delta(ChoiceDelta(content=frame.text))
            frame = await turn.next()
        if isinstance(frame, ErrorFrame):
            error = ErrorDetail(message=frame.message, type="server_error", code=frame.code)
            yield f"data: {ErrorBody(error=error).model_dump_json()}\n\n"
            return
        yield reply.delta(ChoiceDelta(), reply.finish_reason(frame.text))
        if include_usage:
            yield reply.chunk([], reply.usage(frame.text))
        yield "data: [DONE]\n\n"
    finally:
        await turn.close()


@router.get("/models", responses={401: {"model": ErrorBody}})
async def list_models(services: ServicesDep, user: ApiUserDep) -> ModelList:
    """The one model here: Samantha (the backend's model is named in `backend_model`)."""
    card = ModelCard(
        id=MODEL_ID,
        created=int(time.time()),
        owned_by="samantha",
        backend=services.backend.name,
        backend_model=services.model_name,
    )
    return ModelList(data=[card])


@router.get("/models/{model}", responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}})
async def get_model(model: str, services: ServicesDep, user: ApiUserDep) -> ModelCard:
    """Samantha's model card; any other name is not found."""
    if model != MODEL_ID:
        message = f"there is no model {model!r} here; use {MODEL_ID!r}"
        raise APIError(404, ErrorDetail(message=message, param="model", code="model_not_found"))
    return (await list_models(services, user)).data[0]


@router.post("/chat/completions", responses=COMPLETION)
async def chat_completions(
    body: ChatRequest,
    services: ServicesDep,
    user: ApiUserDep,
    conversation: ConversationHeader = None,
    store: StoreHeader = None,
) -> Response:
    """Samantha's reply to the person's last message, streamed as server-sent events or whole."""
    check_features(body)
    asked = read_turn(body.messages, opted_out=store_wanted(store, body))
    session, turn, first, prompt_tokens = await begin_turn(
        services, user, conversation_id(conversation, body.user), asked, body
    )
    count: Callable[[str], int] = services.backend.count_tokens
    reply = Reply(count, session.config.params.max_tokens, prompt_tokens)
    headers = {"X-Samantha-Conversation": session.conversation, "X-Samantha-Stored": stored_header(asked)}
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        headers |= {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            events(turn, first, reply, include_usage),
            media_type="text/event-stream",
            headers=headers,
            background=BackgroundTask(turn.close),  # also when the stream never started
        )
    done = await whole_reply(turn, first)
    return JSONResponse(reply.completion(done.text).model_dump(exclude_unset=True), headers=headers)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown(path: str, request: Request) -> Response:
    """Any other /v1 path or method: a 404 or 405 in OpenAI's shape (the SDK shows its message)."""
    allowed = sorted(
        {m for r in router.routes if isinstance(r, APIRoute) and r.path_regex.match(request.url.path)
         for m in r.methods or () if r.name != "unknown"}
    )  # fmt: skip
    if allowed:
        message = f"/v1/{path} takes {' or '.join(allowed)}, not {request.method}"
        body = ErrorBody(error=ErrorDetail(message=message, code="method_not_allowed")).model_dump()
        return JSONResponse(body, status_code=405, headers={"Allow": ", ".join(allowed)})
    message = (
        f"Samantha has no {request.method} /v1/{path}; she offers GET /v1/models, GET /v1/models/{{id}}, "
        "POST /v1/chat/completions, POST /v1/audio/speech and POST /v1/audio/transcriptions"
    )
    raise APIError(404, ErrorDetail(message=message, code="unknown_url"))
