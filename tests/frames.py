"""Reading server frames in tests through the protocol's own union (app/protocol.py)."""

from __future__ import annotations

import json
from typing import Any

from app.protocol import server_frame


def wire_frame(raw: str | bytes) -> dict[str, Any]:
    """A server frame as sent, checked against the protocol's union: exactly its fields, no others."""
    frame: dict[str, Any] = json.loads(raw)
    parsed = server_frame.validate_python(frame).model_dump(mode="json")
    assert parsed == frame, f"a frame the protocol does not describe: {frame} (read as {parsed})"
    return frame
