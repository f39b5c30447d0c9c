"""OpenAI's API shapes at /v1: what clients send, errors in OpenAI's form, the route class that uses it."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from app.protocol import ErrorFrame
from persona.errors import SamanthaError

MODEL_ID = "samantha"
# Samantha's error codes that are not "the backend failed" (502).
_STATUS = {"backend_unreachable": 503, "backend_timeout": 504, "memory_error": 503, "internal": 500}

# Requests: what OpenAI clients send. Unknown fields are ignored, not refused: many clients send extras.


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Lenient):
    type: str
    text: str = ""


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text; non-text parts (images, audio) contribute nothing."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if p.type == "text")


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    model: str = Field(MODEL_ID, description="Accepted and ignored: there is one Samantha.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, description="Can lower the server's limit, not raise it.")
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | list[str] | None = None
    n: int | None = Field(None, ge=1, le=1)
    user: str | None = Field(None, max_length=256, description="Names the stored conversation.")
    store: bool | None = Field(None, description="false: answer, but store and learn nothing.")
    tools: list[dict[str, Any]] | None = Field(None, description="Accepted; she never calls them.")
    tool_choice: str | dict[str, Any] | None = Field(None, description='"required" or a function: 400.')
    response_format: dict[str, Any] | None = Field(None, description='Only {"type": "text"}.')


# Responses: the completion shapes are the `openai` SDK's own pydantic models, so they cannot drift.


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    backend: str
    backend_model: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# Errors in OpenAI's shape, on these routes only.


class APIError(SamanthaError):
    """An error answered in OpenAI's shape with an HTTP status."""

    def __init__(self, status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail.message)
        self.status = status
        self.detail = detail
        self.headers = headers  # e.g. Retry-After on a 429

    @classmethod
    def from_frame(cls, frame: ErrorFrame) -> APIError:
        """The HTTP error for a turn that failed before any of the reply was sent."""
        status = _STATUS.get(frame.code, 502)
        return cls(status, ErrorDetail(message=frame.message, type="server_error", code=frame.code))

    def response(self) -> JSONResponse:
        """The error as a JSON response."""
        return JSONResponse(
            ErrorBody(error=self.detail).model_dump(), status_code=self.status, headers=self.headers
        )


def explain(exc: RequestValidationError) -> APIError:
    """FastAPI's validation error as OpenAI's 400, naming the first bad field."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"][1:]]  # drop "body" / "header"
    param = re.sub(r"\.(\d+)", r"[\1]", ".".join(loc)) or None
    if first["type"] == "json_invalid":
        message, param = "the request body is not valid JSON", None
    elif not loc:  # the body as a whole: missing, or not an object (often a missing Content-Type)
        message = "the request body must be a JSON object (Content-Type: application/json)"
    else:
        message = f"{param}: {first['msg']}" if param else str(first["msg"])
    return APIError(400, ErrorDetail(message=message, param=param, code="invalid_request"))


class OpenAIRoute(APIRoute):
    """A route whose errors, including FastAPI's own 422s, come back in OpenAI's shape."""

    def render(self, problem: APIError) -> Response:
        """The error as this door's clients read it (Ollama's door overrides it)."""
        return problem.response()

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return self.render(explain(exc))
            except APIError as exc:
                return self.render(exc)
            except HTTPException as exc:  # e.g. FastAPI's "error parsing the body"
                detail = ErrorDetail(message=str(exc.detail), code="invalid_request")
                return self.render(APIError(exc.status_code, detail))

        return route
