"""Character Card V2: bring a SillyTavern character in, take Samantha out; invalid cards are named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.config import DEFAULT_PERSONA
from persona.cards import card_to_persona, persona_to_card, persona_to_toml, read_card
from persona.persona import PersonaError, load_persona
from tests.cardfiles import png_with_cards

CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Ava",
        "description": "{{char}} is a gentle lighthouse keeper who writes letters to {{user}}.",
        "personality": "patient, dry humour, loves storms",
        "scenario": "",
        "first_mes": "The lamp is lit. Come in out of the rain.",
        "mes_example": "",
        "creator_notes": "A quiet companion.",
        "system_prompt": "",
        "tags": ["cozy"],
        "extensions": {"depth_prompt": {"prompt": "x", "depth": 4}},
    },
}


def png_with_card(card: dict[str, Any]) -> bytes:
    """A real 1x1 PNG carrying a V2 card in a tEXt chunk named "chara", as SillyTavern saved them."""
    return png_with_cards(chara=card)


@pytest.mark.parametrize("as_png", [False, True])
def test_a_card_becomes_a_persona(tmp_path: Path, as_png: bool) -> None:
    path = tmp_path / ("ava.png" if as_png else "ava.json")
    path.write_bytes(png_with_card(CARD) if as_png else json.dumps(CARD).encode())
    persona = card_to_persona(read_card(path))
    assert persona.name == "Ava"
    assert persona.system == "Ava is a gentle lighthouse keeper who writes letters to the user."
    assert persona.voice == "patient, dry humour, loves storms"
    assert persona.greeting == "The lamp is lit. Come in out of the rain."
    written = tmp_path / "ava.toml"
    written.write_text(persona_to_toml(persona))
    assert load_persona(written) == persona


def test_samantha_exports_as_a_card_and_comes_back(tmp_path: Path) -> None:
    samantha = load_persona(DEFAULT_PERSONA)
    card = persona_to_card(samantha)
    assert card["spec"] == "chara_card_v2" and card["data"]["name"] == "Samantha"
    assert card["data"]["first_mes"] == samantha.greeting
    path = tmp_path / "samantha.json"
    path.write_text(json.dumps(card))
    back = card_to_persona(read_card(path))
    assert back.name == "Samantha" and back.greeting == samantha.greeting
    assert samantha.system.strip() in back.system


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (
            json.dumps({"spec": "chara_card_v9", "data": {"name": "x"}}).encode(),
            'spec: expected "chara_card_v2"',
        ),
        (json.dumps(["not", "a", "card"]).encode(), "a character card is a JSON object"),
        (json.dumps({"spec": "chara_card_v2", "data": {"description": "no name"}}).encode(), "data.name"),
        (json.dumps({"spec": "chara_card_v2", "data": {"name": ""}}).encode(), "data.name"),
        (json.dumps({"spec": "chara_card_v2", "data": {"name": "x", "tags": "oops"}}).encode(), "data.tags"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "no character card"),
    ],
)
def test_invalid_cards_name_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "card.json"
    path.write_bytes(content)
    with pytest.raises(PersonaError, match=message.replace(".", r"\.")):
        read_card(path)


async def test_an_imported_character_greets_you(tmp_path: Path, make_server: Any) -> None:
    card = tmp_path / "ava.json"
    card.write_text(json.dumps(CARD))
    out = tmp_path / "ava.toml"
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "persona", "import", str(card), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "persona", "import", str(card), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "--force" in refused.stderr
    server = await make_server(persona_file=out)
    chat = await server.chat("no-hello")
    ready = await chat.hello()
    assert ready["persona"] == "Ava" and ready["greeting"] == "The lamp is lit. Come in out of the rain."
