"""Character Card V2 (SillyTavern and friends): import a card as a persona, export a persona as a card."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from persona.persona import Persona, PersonaError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CardData(BaseModel):
    """The `data` object of a chara_card_v2 (fields we read; the rest is kept out of the way)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    creator_notes: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)


class Card(BaseModel):
    """A Character Card V2."""

    model_config = ConfigDict(extra="ignore")

    spec: str
    spec_version: str = "2.0"
    data: CardData


def _png_card_json(raw: bytes, path: Path) -> str:
    """The card JSON hidden in a PNG's tEXt chunk named "chara" (base64), as SillyTavern writes it."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and b"\x00" in body:
            keyword, text = body.split(b"\x00", 1)
            if keyword in (b"chara", b"ccv3"):
                try:
                    return base64.b64decode(text).decode("utf-8")
                except ValueError as exc:
                    raise PersonaError(f"{path}: the PNG's character data is not valid base64 JSON") from exc
        pos += 12 + length
    raise PersonaError(f"{path}: this PNG carries no character card (no 'chara' text chunk)")


def _fill(text: str, name: str) -> str:
    """Resolve the card macros: {{char}} is her, {{user}} is the person she talks with."""
    return (
        text.replace("{{char}}", name).replace("{{user}}", "the user").replace("<USER>", "the user").strip()
    )


def read_card(path: Path) -> Card:
    """Read a card from JSON or PNG; PersonaError names the file and the field on any problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PersonaError(f"cannot read {path}: {exc.strerror}") from exc
    text = (
        _png_card_json(raw, path) if raw.startswith(PNG_SIGNATURE) else raw.decode("utf-8", errors="replace")
    )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PersonaError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("spec") != "chara_card_v2":
        raise PersonaError(f'{path}: spec: expected "chara_card_v2" (a Character Card V2)')
    try:
        return Card.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PersonaError(f"{path}: {problems}") from exc


def card_to_persona(card: Card) -> Persona:
    """A persona from a card: its system prompt (or description, personality and scenario) and greeting."""
    d = card.data
    system = _fill(d.system_prompt, d.name) or "\n".join(
        part for part in (_fill(d.description, d.name), _fill(d.scenario, d.name)) if part
    )
    if not system:
        system = f"You are {d.name}."
    greeting = _fill(d.first_mes, d.name) or f"Hi, I'm {d.name}."
    tagline = _fill(d.creator_notes, d.name).split("\n")[0][:200]
    return Persona(
        name=d.name,
        tagline=tagline,
        system=system,
        voice=_fill(d.personality, d.name),
        greeting=greeting,
    )


def persona_to_card(persona: Persona) -> dict[str, Any]:
    """Our persona as a Character Card V2 that SillyTavern can import."""
    return Card(
        spec="chara_card_v2",
        spec_version="2.0",
        data=CardData(
            name=persona.name,
            description=persona.system.strip(),
            personality=persona.voice.strip(),
            first_mes=persona.greeting,
            creator_notes=persona.tagline,
            system_prompt=persona.system_text(),
            post_history_instructions="\n".join(persona.boundaries),
            tags=["companion", "samantha"],
            creator="Samantha (open source)",
            character_version="1",
        ),
    ).model_dump()


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string: same quotes, same escapes.
    return json.dumps(text, ensure_ascii=False)


def persona_to_toml(persona: Persona) -> str:
    """The persona as a TOML file that load_persona reads back unchanged."""
    lines = [
        f"name = {_toml_string(persona.name)}",
        f"tagline = {_toml_string(persona.tagline)}",
        f"system = {_toml_string(persona.system)}",
        f"voice = {_toml_string(persona.voice)}",
        "boundaries = [" + ", ".join(_toml_string(b) for b in persona.boundaries) + "]",
        f"greeting = {_toml_string(persona.greeting)}",
    ]
    return "\n".join(lines) + "\n"
