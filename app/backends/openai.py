"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LM Studio, OpenAI) via the official SDK."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import cast

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from app.backends.base import BackendError, GenParams, Message

log = logging.getLogger(__name__)


class OpenAIBackend:
    """Streams chat completions from a remote (or local) OpenAI-compatible HTTP server."""

    name = "openai"

    def __init__(self, *, base_url: str, api_key: str | None, model: str | None, timeout: float) -> None:
        self.base_url = base_url
        self.model_name = model
        # Retries would hide a dead server behind long waits; the user gets a clear error instead.
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    async def _model(self) -> str:
        if self.model_name is None:
            # Many local servers serve exactly one model; ask which rather than make people type it.
            models = await self._client.models.list()
            if not models.data:
                raise BackendError(f"the server at {self.base_url} lists no models; set --remote-model")
            self.model_name = models.data[0].id
        return self.model_name

    async def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncIterator[str]:
        """Stream the reply's deltas; every failure becomes a BackendError with a readable message."""
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
            )
            async for chunk in cast(AsyncStream[ChatCompletionChunk], stream):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except BackendError:
            raise
        except openai.APITimeoutError as exc:
            raise BackendError(
                f"the model server at {self.base_url} timed out", code="backend_timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"cannot reach the model server at {self.base_url}", code="backend_unreachable"
            ) from exc
        except openai.NotFoundError as exc:
            raise BackendError(
                f"the server at {self.base_url} has no model {self.model_name!r}", code="backend_model"
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(f"the model server answered {exc.status_code}: {exc.message}") from exc
        except Exception as exc:  # a broken stream mid-reply, garbage from the server
            log.warning("remote generation failed: %r", exc)
            raise BackendError(f"the model server failed mid-reply: {exc}") from exc

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()
