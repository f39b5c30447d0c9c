"""schemathesis over the OpenAPI schema the server publishes: no input makes an endpoint fail or lie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.main import create_app
from app.server import RunningServer
from memory.embedder import Embedder
from tests.browser.browser_harness import ServerLoop


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[RunningServer]:
    loop = ServerLoop()
    data: Path = tmp_path_factory.mktemp("schema") / "data"
    # espeak-ng's voice: instant, so /v1/audio/speech is fuzzed for its answers, not for Piper's speed.
    settings = Settings(backend="echo", data_dir=data, seeds_dir="", voice="espeak")
    server = loop.run(RunningServer.start(settings, backend=EchoBackend(), embedder=embedder, port=0))
    yield server
    loop.stop(server)
    loop.close()


# The schema the app publishes at /openapi.json (building the app loads nothing; the lifespan would).
schema = schemathesis.openapi.from_dict(create_app(Settings(backend="echo", seeds_dir="")).openapi())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_endpoint_answers_any_input_as_documented(case: schemathesis.Case, live: RunningServer) -> None:
    # Rules JSON Schema cannot state: a chat request needs a message from the person (role "user"), with
    # text, and cannot ask for JSON output. A schema-valid body breaking one gets a documented 400 (OpenAI's
    # shape on /v1, Ollama's on /api), which the other checks still verify.
    # Nor can it say that audio must hold English speech, or a text something sayable (docs/VOICE.md).
    turns = ("/v1/chat/completions", "/api/chat", "/api/generate")
    voice = ("/v1/audio/speech", "/v1/audio/transcriptions")
    excluded = [positive_data_acceptance] if case.path in turns + voice else []
    said = case.body.get("input") if case.path == "/v1/audio/speech" and isinstance(case.body, dict) else None
    if isinstance(said, str) and len(said) <= 4096:  # (a longer one must still be refused)
        # A 4,096-character text is minutes of speech, and takes as long to say as that takes.
        case.body["input"] = said[:200]
    case.call_and_validate(base_url=live.url, excluded_checks=excluded)
