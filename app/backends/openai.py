"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LM Studio, OpenAI) via the official SDK."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence
from typing import cast

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from app.backends.base import BackendError
from persona.messages import GenParams, Message, approx_tokens

log = logging.getLogger(__name__)

# Answers to GET /models that mean "this server does not list its models", not "something is wrong".
_NO_MODEL_LIST = (404, 405, 501)


def offers(listed: Sequence[str], name: str) -> bool:
    """Whether a server listing `listed` serves `name`; Ollama lists "llama3.2:latest", takes "llama3.2"."""
    return name in listed or f"{name}:latest" in listed


def shortlist(names: Sequence[str], limit: int = 12) -> str:
    """Names for a message: all of a short list, the start of a long one (OpenAI lists dozens)."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def server_says(exc: openai.APIError) -> str:
    """The server's own words about an error, without the SDK's "Error code: 404 - " in front."""
    body = exc.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:300]
    elif isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return exc.message


class OpenAIBackend:
    """Streams chat completions from a remote (or local) OpenAI-compatible HTTP server."""

    name = "openai"
    speaks = True
    extracts_facts = True  # a capable server model answers the JSON request (app/fact_model.py)

    def __init__(self, *, base_url: str, api_key: str | None, model: str | None, timeout: float) -> None:
        self.base_url = base_url
        self._model_id = model  # as asked for, else (once the server answered) the one it lists
        self.timeout = timeout
        self._checked = False  # the model was checked against the server's list (once it answered)
        # Retries would hide a dead server behind long waits; the user gets a clear error instead.
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    @property
    def model_name(self) -> str:
        """The server's model, once known."""
        return self._model_id or self.name

    def count_tokens(self, text: str) -> int:
        """An estimate: the server's tokenizer is not ours to call."""
        return approx_tokens(text)

    async def _model(self) -> str:
        """The model to ask for, checked once against `/models`.

        Some servers (llama-cpp-python's among them) silently answer with whatever model they have when
        asked for one they do not have, so a typo would go unnoticed; we ask first. Servers that do not
        list their models still work when the name is given.
        """
        if self._checked and self._model_id is not None:
            return self._model_id
        listed: list[str] | None
        try:
            listed = [m.id for m in (await self._client.models.list()).data]
        except openai.APIStatusError as exc:
            if exc.status_code not in _NO_MODEL_LIST:
                raise
            listed = None
        if self._model_id is None:
            # Many local servers serve exactly one model; ask which rather than make people type it.
            if listed is None:
                raise BackendError(
                    f"the server at {self.base_url} does not list its models; set --remote-model, "
                    "or check --base-url (it usually ends in /v1)",
                    code="backend_model",
                )
            if not listed:
                raise BackendError(
                    f"the server at {self.base_url} lists no models; load one or set --remote-model",
                    code="backend_model",
                )
            self._model_id = listed[0]
        elif listed and not offers(listed, self._model_id):
            raise BackendError(
                f"the server at {self.base_url} has no model {self._model_id!r}; "
                f"it offers: {shortlist(listed)}",
                code="backend_model",
            )
        self._checked = True
        return self._model_id

    async def start(self) -> None:
        """Learn the model's name at start, so /health names it before the first turn; a failure waits."""
        try:
            await self._model()
        except Exception as exc:  # the server may come up later; the first turn asks again and explains
            log.warning("could not ask %s for its model yet: %s", self.base_url, exc)

    async def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncGenerator[str, None]:
        """Stream the reply's deltas; every failure becomes a BackendError with a readable message."""
        replying = False  # the server has started its reply: a failure from now on is mid-reply
        try:
            model = await self._model()
            stream = await self._client.chat.completions.create(
                model=model,
                messages=list(messages),  # type: ignore[arg-type]
                stream=True,
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                stop=list(params.stop) or None,
                # A chore (fact extraction) repeats the person's words: a Samantha behind this one must
                # not store them a second time. Other servers ignore the header.
                extra_headers=None if params.store else {"X-Samantha-Store": "no"},
            )
            replying = True
            # Closing the stream (also when the turn is cancelled) drops the connection, which stops a
            # server that is still generating.
            finished = False
            async with cast(AsyncStream[ChatCompletionChunk], stream) as chunks:
                async for chunk in chunks:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
                    finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
            if not finished:  # the stream ended, but the reply did not: a cut, not a whole answer
                raise BackendError(
                    f"the model server at {self.base_url} ended its stream mid-reply (no finish_reason)",
                    code="backend_error",
                )
        except BackendError:
            raise
        except Exception as exc:
            raise self._explain(exc, replying=replying) from exc

    def _explain(self, exc: Exception, *, replying: bool) -> BackendError:
        """Translate what the SDK raised into something a person can act on."""
        where = f"the model server at {self.base_url}"
        mid_reply = " mid-reply" if replying else ""
        match exc:
            case openai.APITimeoutError():  # before APIConnectionError: it is one
                return BackendError(
                    f"{where} timed out{mid_reply}: no answer within {self.timeout:g} s (--remote-timeout)",
                    code="backend_timeout",
                )
            case openai.APIConnectionError() if replying:  # the server died or dropped us while streaming
                return BackendError(f"{where} closed the connection mid-reply", code="backend_error")
            case openai.APIConnectionError():
                return BackendError(f"cannot reach {where}; is it running?", code="backend_unreachable")
            case openai.NotFoundError() if "model" in server_says(exc).lower():
                return BackendError(
                    f"the server at {self.base_url} has no model {self._model_id!r} ({server_says(exc)})",
                    code="backend_model",
                )
            case openai.NotFoundError():
                return BackendError(
                    f"{where} has no chat completions endpoint (404); check --base-url "
                    "(it usually ends in /v1)"
                )
            case openai.AuthenticationError() | openai.PermissionDeniedError():
                return BackendError(f"{where} refused the API key ({exc.status_code}); check --api-key")
            case openai.APIStatusError():
                return BackendError(f"{where} answered {exc.status_code}: {server_says(exc)}")
            case openai.APIError():  # an error event inside the stream
                return BackendError(f"{where} reported an error{mid_reply}: {server_says(exc)}")
            case _:  # garbage from the server, or something we did not foresee
                log.warning("remote generation failed: %r", exc)
                return BackendError(f"{where} sent something unreadable{mid_reply}: {exc}")

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()
