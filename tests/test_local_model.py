"""A real reply from the bundled SmolLM2 (llama.cpp), streamed over the websocket."""

from __future__ import annotations

from typing import Any

import pytest

from app.backends import create_backend
from app.config import Settings


@pytest.mark.model
async def test_samantha_answers_with_the_local_model(make_server: Any) -> None:
    backend = create_backend(Settings(backend="llamacpp"))
    try:
        server = await make_server(backend, max_tokens=48)
        chat = await server.chat()
        frames = await chat.turn("Hi Samantha! My dog is called Biscuit. Say hello to him.")
        deltas = [f["text"] for f in frames if f["type"] == "delta"]
        done = frames[-1]
        assert done["type"] == "done", done
        assert len(deltas) >= 5 and done["text"] == "".join(deltas) and done["text"].strip()
        assert done["timings"]["first_token_ms"] > 0
    finally:
        await backend.aclose()
