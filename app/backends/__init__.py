"""Backend choice: a `match` with lazy imports, so only the chosen backend's libraries load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.backends.base import Backend, BackendError

if TYPE_CHECKING:
    from app.config import Settings

__all__ = ["Backend", "BackendError", "create_backend"]


def create_backend(settings: Settings) -> Backend:
    """Build the backend the settings name (loading a local model happens here, not at import)."""
    match settings.backend:
        case "llamacpp":
            from app.backends.llamacpp import LlamaCppBackend
            from app.model_catalog import ModelError, resolve_model

            try:
                path = resolve_model(settings.model)
            except ModelError as exc:
                raise BackendError(str(exc), code="model_load") from exc
            return LlamaCppBackend(path, n_ctx=settings.context_tokens, threads=settings.threads)
        case "openai":
            from app.backends.openai import OpenAIBackend

            assert settings.base_url is not None
            return OpenAIBackend(
                base_url=settings.base_url,
                api_key=settings.api_key,
                model=settings.remote_model,
                timeout=settings.remote_timeout,
            )
        case "scripted":
            from app.backends.scripted import ScriptedBackend

            backend = (
                ScriptedBackend() if settings.script is None else ScriptedBackend.from_file(settings.script)
            )
            backend.delay = settings.script_delay
            return backend
        case "echo":
            from app.backends.scripted import EchoBackend

            return EchoBackend(delay=settings.script_delay)
