"""Character card files as SillyTavern writes them: JSON, or a real PNG carrying the card in tEXt chunks."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_cards(**cards: dict[str, Any]) -> bytes:
    """A real 1x1 PNG with each card base64-encoded in a tEXt chunk named by its keyword (chara, ccv3)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    texts = b"".join(
        _chunk(b"tEXt", keyword.encode() + b"\x00" + base64.b64encode(json.dumps(card).encode()))
        for keyword, card in cards.items()
    )
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + texts
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def v3_card(name: str, **fields: Any) -> dict[str, Any]:
    """A chara_card_v3 with the given data fields (the rest empty, as SillyTavern fills them)."""
    data = {
        "name": name,
        "description": "",
        "personality": "",
        "scenario": "",
        "first_mes": "",
        "mes_example": "",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": [],
        "tags": [],
        "creator": "",
        "character_version": "",
        "extensions": {},
        "group_only_greetings": [],
        **fields,
    }
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}


def v2_of(card: dict[str, Any]) -> dict[str, Any]:
    """The V2 copy SillyTavern writes beside a V3 card (the `chara` chunk) for older readers."""
    data = {k: v for k, v in card["data"].items() if k != "group_only_greetings"}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}
