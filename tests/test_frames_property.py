"""Property-based tests over frames: whatever a client sends, it gets a clear answer and the socket lives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from websockets.sync.client import connect

from app.backends.scripted import EchoBackend
from app.protocol import client_frame
from app.routes.ws import explain
from app.server import RunningServer
from memory.embedder import Embedder
from tests.browser.browser_harness import ServerLoop

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "user", "cancel", "ping", "dance", "", "USER"]) | st.text(max_size=8)},
    optional={
        "text": st.text(max_size=300) | json_values,
        "conversation": st.none() | st.text(max_size=80) | json_values,
        "token": st.none() | st.text(max_size=20),
        "extra": json_values,
    },
)


@given(st.text(max_size=400) | frames.map(json.dumps))
@settings(max_examples=300, deadline=None)
def test_any_text_parses_to_a_frame_or_a_readable_error(raw: str) -> None:
    try:
        client_frame.validate_json(raw)
    except ValidationError as exc:
        message = explain(exc)
        assert isinstance(message, str) and 0 < len(message) < 500


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[RunningServer]:
    loop = ServerLoop()
    data: Path = tmp_path_factory.mktemp("frames") / "data"
    server = loop.start(data, EchoBackend(), embedder)
    yield server
    loop.stop(server)
    loop.close()


def answer(ws: Any) -> list[dict[str, Any]]:
    """Frames up to the end of whatever the last frame started (a turn ends with done or error)."""
    got = [json.loads(ws.recv(timeout=30))]
    while got[-1]["type"] in ("recalled", "delta"):
        got.append(json.loads(ws.recv(timeout=30)))
    return got


@given(st.lists(frames, min_size=1, max_size=12))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_socket_survives_any_sequence_of_frames(
    live: RunningServer, sequence: list[dict[str, Any]]
) -> None:
    with connect(live.ws_url, max_size=2**22) as ws:
        for frame in sequence:
            if frame.get("type") == "cancel" and set(frame) == {"type"}:
                continue  # a valid cancel with nothing to cancel is answered by silence, by design
            ws.send(json.dumps(frame))
            replies = answer(ws)
            assert replies[-1]["type"] in ("error", "ready", "pong", "done"), replies
            if replies[-1]["type"] == "error":
                assert replies[-1]["code"] and replies[-1]["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "pong"
