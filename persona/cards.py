"""Character Cards V1, V2 and V3 (SillyTavern and friends): import a card as a persona, export hers.

V1 cards keep their fields at the top level; V2 (`chara_card_v2`) and V3 (`chara_card_v3`, which
SillyTavern itself now writes) keep them under `data`. A PNG card carries the JSON base64-encoded in a
tEXt chunk: `ccv3` for V3, `chara` for V2 (a V3 PNG usually has both; `ccv3` wins).
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from persona.lorebook import LoreEntry
from persona.persona import Persona, PersonaError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SPECS = {"chara_card_v2": "2.0", "chara_card_v3": "3.0"}
V2_FIELDS = {
    "name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
    "system_prompt", "post_history_instructions", "alternate_greetings", "character_book", "tags", "creator",
    "character_version", "extensions",
}  # fmt: skip


class BookEntry(BaseModel):
    """One character_book entry (the fields we use, plus those we warn about)."""

    model_config = ConfigDict(extra="ignore")

    keys: list[str] = Field(default_factory=list)
    content: str = ""
    enabled: bool = True
    constant: bool | None = False
    case_sensitive: bool | None = False
    insertion_order: int = 100
    secondary_keys: list[str] = Field(default_factory=list)
    use_regex: bool | None = False


class CharacterBook(BaseModel):
    """A card's lorebook."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    entries: list[BookEntry] = Field(default_factory=list)


class CardData(BaseModel):
    """A card's fields (V1's top level, V2/V3's `data`); the rest is kept out of the way."""

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
    character_book: CharacterBook | None = None
    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)
    # V3 only
    nickname: str | None = None
    group_only_greetings: list[str] = Field(default_factory=list)
    assets: list[dict[str, Any]] | None = None
    source: list[str] | None = None
    creator_notes_multilingual: dict[str, str] | None = None


class Card(BaseModel):
    """A character card, whichever version it came as (`spec` says which)."""

    model_config = ConfigDict(extra="ignore")

    spec: str
    spec_version: str = "2.0"
    data: CardData


def _png_card_json(raw: bytes, path: Path) -> str:
    """The card JSON hidden in a PNG's tEXt chunk (`ccv3` preferred over `chara`), base64-decoded."""
    found: dict[bytes, bytes] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and b"\x00" in body:
            keyword, chunk_text = body.split(b"\x00", 1)
            if keyword.lower() in (b"chara", b"ccv3"):
                found[keyword.lower()] = chunk_text
        pos += 12 + length
    encoded = found.get(b"ccv3") or found.get(b"chara")
    if encoded is None:
        raise PersonaError(f"{path}: this PNG carries no character card (no 'chara' or 'ccv3' text chunk)")
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except ValueError as exc:
        raise PersonaError(f"{path}: the PNG's character data is not valid base64 JSON") from exc


def _fill(text: str, name: str) -> str:
    """Resolve the card macros: {{char}} is her, {{user}} is the person she talks with."""
    for macro, value in (
        ("{{char}}", name),
        ("<BOT>", name),
        ("{{user}}", "the user"),
        ("<USER>", "the user"),
    ):
        text = text.replace(macro, value)
    return text.strip()


def read_card(path: Path) -> Card:
    """Read a V1, V2 or V3 card from JSON or PNG; PersonaError names the file and the field on any problem."""
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
    if not isinstance(data, dict):
        raise PersonaError(f"{path}: a character card is a JSON object")
    if "data" not in data and "name" in data:  # V1: the fields at the top level
        data = {"spec": "chara_card_v1", "spec_version": "1.0", "data": data}
    if data.get("spec") not in (*SPECS, "chara_card_v1"):
        raise PersonaError(
            f'{path}: spec: expected "chara_card_v2" or "chara_card_v3" (or a V1 card with a top-level '
            f'"name"), not {data.get("spec")!r}'
        )
    try:
        return Card.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PersonaError(f"{path}: {problems}") from exc


def card_to_persona(card: Card) -> Persona:
    """A persona keeping every text of the card that shapes her: nothing is silently dropped (see unused)."""
    d = card.data
    # SillyTavern sends a card's system prompt *and* its description; so does she.
    system = "\n\n".join(p for p in (_fill(d.system_prompt, d.name), _fill(d.description, d.name)) if p)
    book = d.character_book.entries if d.character_book else []
    return Persona(
        name=d.name,
        tagline=_fill(d.creator_notes, d.name).split("\n")[0][:200],
        system=system or f"You are {d.name}.",
        voice=_fill(d.personality, d.name),
        greeting=_fill(d.first_mes, d.name) or f"Hi, I'm {d.name}.",
        scenario=_fill(d.scenario, d.name),
        example_dialogue=_fill(d.mes_example, d.name),
        post_history=_fill(d.post_history_instructions, d.name),
        greetings=[_fill(g, d.name) for g in d.alternate_greetings if g.strip()],
        lorebook=[
            LoreEntry(
                keys=[k for k in e.keys if k.strip()],
                content=_fill(e.content, d.name),
                constant=bool(e.constant),
                case_sensitive=bool(e.case_sensitive),
                order=e.insertion_order,
            )
            for e in book
            if e.enabled and e.content.strip()
        ],
    )


def unused(card: Card) -> list[str]:
    """What the persona does not keep from this card, one readable line each (for a warning)."""
    d = card.data
    lines = [
        f"{name} ({why})"
        for name, value, why in (
            ("tags", d.tags, "labels only"),
            ("creator", d.creator, "credit only"),
            ("character_version", d.character_version, "credit only"),
            ("nickname", d.nickname, "she is called by her name"),
            ("group_only_greetings", d.group_only_greetings, "there are no group chats"),
            ("assets", d.assets, "images are not shown"),
            ("source", d.source, "credit only"),
            ("creator_notes_multilingual", d.creator_notes_multilingual, "notes for people, not for her"),
        )
        if value
    ]
    if d.extensions:
        lines.append(f"extensions: {', '.join(sorted(d.extensions))} (other apps' own settings)")
    if "\n" in d.creator_notes.strip():
        lines.append("creator_notes after its first line (the first line is her tagline)")
    entries = d.character_book.entries if d.character_book else []
    if off := sum(1 for e in entries if not e.enabled or not e.content.strip()):
        lines.append(f"{off} disabled or empty lorebook entries")
    if any(e.secondary_keys for e in entries):
        lines.append("lorebook secondary_keys (entries fire on their primary keys alone)")
    if any(e.use_regex for e in entries):
        lines.append("lorebook regex keys (matched as plain words)")
    return lines


def persona_to_card(persona: Persona) -> dict[str, Any]:
    """Her persona as a Character Card V2, each text once: SillyTavern sends every field it is given."""
    post_history = "\n".join(p for p in (persona.post_history.strip(), *persona.boundaries) if p)
    worked = [f"<START>\n{{{{user}}}}: {e.user}\n{{{{char}}}}: {e.reply}" for e in persona.examples]
    dialogue = "\n".join(p for p in (*worked, persona.example_dialogue.strip()) if p)
    book = None
    if persona.lorebook:
        entries = [
            BookEntry(
                keys=e.keys,
                content=e.content,
                constant=e.constant,
                case_sensitive=e.case_sensitive,
                insertion_order=e.order,
            )
            for e in persona.lorebook
        ]
        book = CharacterBook(name=f"{persona.name}'s lorebook", entries=entries)
    card = Card(
        spec="chara_card_v2",
        spec_version="2.0",
        data=CardData(
            name=persona.name,
            description=persona.system.strip(),
            personality=persona.voice.strip(),
            scenario=persona.scenario,
            first_mes=persona.greeting,
            mes_example=dialogue,
            creator_notes=persona.tagline,
            post_history_instructions=post_history,
            alternate_greetings=persona.greetings,
            character_book=book,
            tags=["companion", "samantha"],
            creator="Samantha (open source)",
            character_version="1",
        ),
    )
    # Only V2's own fields: V3's extra ones would be noise in a V2 card.
    return card.model_dump(exclude={"data": {*CardData.model_fields.keys() - V2_FIELDS}}, exclude_none=True)


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string: same quotes, same escapes.
    return json.dumps(text, ensure_ascii=False)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


def persona_to_toml(persona: Persona) -> str:
    """The persona as a TOML file that load_persona reads back unchanged."""
    lines = [
        f"name = {_toml_string(persona.name)}",
        f"tagline = {_toml_string(persona.tagline)}",
        f"system = {_toml_string(persona.system)}",
        f"voice = {_toml_string(persona.voice)}",
        f"boundaries = {_toml_list(persona.boundaries)}",
        f"greeting = {_toml_string(persona.greeting)}",
        f"scenario = {_toml_string(persona.scenario)}",
        f"example_dialogue = {_toml_string(persona.example_dialogue)}",
        f"post_history = {_toml_string(persona.post_history)}",
        f"greetings = {_toml_list(persona.greetings)}",
    ]
    if persona.speech_voice is not None:
        lines.append(f"speech_voice = {_toml_string(persona.speech_voice)}")
    for example in persona.examples:  # tables come after every plain key
        lines += [
            "",
            "[[examples]]",
            f"user = {_toml_string(example.user)}",
            f"reply = {_toml_string(example.reply)}",
        ]
    for entry in persona.lorebook:
        lines += [
            "",
            "[[lorebook]]",
            f"keys = {_toml_list(entry.keys)}",
            f"content = {_toml_string(entry.content)}",
            f"constant = {str(entry.constant).lower()}",
            f"case_sensitive = {str(entry.case_sensitive).lower()}",
            f"order = {entry.order}",
        ]
    return "\n".join(lines) + "\n"
