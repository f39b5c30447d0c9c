"""Character cards as people have them: V1, V2 and V3, every field kept or named, lorebooks that work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from app.backends.scripted import EchoBackend
from app.config import DEFAULT_PERSONA
from persona.cards import card_to_persona, persona_to_card, persona_to_toml, read_card, unused
from persona.lorebook import LORE_HEADER
from persona.persona import load_persona
from persona.prompt import build_messages
from tests.cardfiles import png_with_cards, v2_of, v3_card

BOOK = {
    "name": "Harbour",
    "entries": [
        {"keys": ["Gull Rock"], "content": "Gull Rock is where the old wreck lies.", "enabled": True,
         "insertion_order": 10},
        {"keys": ["storm"], "content": "Storms here come from the north-west.", "enabled": True,
         "secondary_keys": ["winter"], "insertion_order": 20},
        {"keys": ["lamp"], "content": "The lamp was lit first in 1871.", "enabled": False},
        {"keys": [], "content": "The nearest town is Porthleven.", "constant": True, "enabled": True},
    ],
}  # fmt: skip
FULL = v3_card(
    "Ava",
    system_prompt="Write {{char}}'s next reply.",
    description="{{char}} keeps the lighthouse.",
    personality="patient",
    scenario="A stormy night at the lighthouse.",
    first_mes="Come in out of the rain.",
    mes_example="<START>\n{{user}}: Cold out?\n{{char}}: Colder in here without you.",
    post_history_instructions="Stay in the scene.",
    alternate_greetings=["Back again?", "The kettle's on."],
    character_book=BOOK,
    tags=["cozy"],
    creator="someone",
    extensions={"depth_prompt": {"prompt": "x", "depth": 4}, "talkativeness": "0.5"},
    creator_notes="A quiet companion.\nBest with short replies.",
)


def write(tmp_path: Path, name: str, content: bytes | dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def test_v1_v2_and_v3_cards_are_all_read(tmp_path: Path) -> None:
    v1 = {"name": "Ava", "description": "{{char}} keeps the lighthouse.", "first_mes": "Hello.",
          "personality": "patient", "scenario": "Night.", "mes_example": ""}  # fmt: skip
    for name, content in [
        ("v1.json", v1),
        ("v2.json", v2_of(FULL)),
        ("v3.json", FULL),
        ("v3.png", png_with_cards(chara=v2_of(v3_card("Old Ava")), ccv3=FULL)),  # ccv3 wins over chara
    ]:
        persona = card_to_persona(read_card(write(tmp_path, name, content)))
        assert persona.name == "Ava", name
        assert persona.system.endswith("Ava keeps the lighthouse."), name


def test_no_field_is_dropped_without_a_word(tmp_path: Path) -> None:
    card = read_card(write(tmp_path, "ava.json", FULL))
    persona = card_to_persona(card)
    # The system prompt does not push out the description or the scenario.
    assert persona.system == "Write Ava's next reply.\n\nAva keeps the lighthouse."
    assert persona.scenario == "A stormy night at the lighthouse."
    assert persona.example_dialogue == "<START>\nthe user: Cold out?\nAva: Colder in here without you."
    assert persona.post_history == "Stay in the scene."
    assert persona.greetings == ["Back again?", "The kettle's on."]
    assert [e.content for e in persona.lorebook] == [
        "Gull Rock is where the old wreck lies.",
        "Storms here come from the north-west.",
        "The nearest town is Porthleven.",
    ]
    text = persona.system_text()
    for kept in (
        "Ava keeps the lighthouse.",
        "patient",
        "A stormy night",
        "Colder in here",
        "Stay in the scene.",
    ):
        assert kept in text
    assert text.rstrip().endswith("Stay in the scene.")  # post-history instructions come last
    toml = tmp_path / "ava.toml"
    toml.write_text(persona_to_toml(persona))
    assert load_persona(toml) == persona  # everything survives the persona file
    told = "\n".join(unused(card))
    for named in ("tags", "creator (", "extensions", "depth_prompt", "creator_notes after its first line",
                  "1 disabled or empty lorebook entries", "secondary_keys"):  # fmt: skip
        assert named in told, named


def test_lorebook_entries_join_the_prompt_when_their_words_are_said(tmp_path: Path) -> None:
    persona = card_to_persona(read_card(write(tmp_path, "ava.json", FULL)))

    def system(said: str) -> str:
        messages = build_messages(persona, [], [], said, budget=1500, today="2026-11-28")
        return "\n".join(m["content"] for m in messages if m["role"] == "system")

    quiet = system("How are you tonight?")
    assert LORE_HEADER in quiet and "Porthleven" in quiet  # the constant entry is always there
    assert "Gull Rock is where" not in quiet and "north-west" not in quiet
    asked = system("Tell me about gull rock.")  # keys match whole words, in any case
    assert "Gull Rock is where the old wreck lies." in asked and "north-west" not in asked
    assert "1871" not in system("Is the lamp lit?")  # a disabled entry never fires
    tight = build_messages(persona, [], [], "gull rock and a storm", budget=120, today="2026-11-28")
    assert "north-west" not in tight[-2]["content"]  # lore gets a quarter of the budget at most


async def test_an_imported_lorebook_reaches_the_model(tmp_path: Path, make_server: Any) -> None:
    out = tmp_path / "ava.toml"
    out.write_text(persona_to_toml(card_to_persona(read_card(write(tmp_path, "ava.json", FULL)))))
    backend = EchoBackend()
    server = await make_server(backend, persona_file=out)
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"messages": [{"role": "user", "content": "Shall we walk to Gull Rock?"}]}
        assert (await http.post("/v1/chat/completions", json=body)).status_code == 200
    # With the notes, after the cached persona and history: they change from turn to turn.
    assert "Gull Rock is where the old wreck lies." in backend.prompts[-1][-2]["content"]


def test_her_exported_card_says_each_thing_once() -> None:
    samantha = load_persona(DEFAULT_PERSONA)
    data = persona_to_card(samantha)["data"]
    assert data["system_prompt"] == ""  # SillyTavern sends description and personality itself
    assert data["description"] == samantha.system.strip() and data["personality"] == samantha.voice.strip()
    texts = [v for v in data.values() if isinstance(v, str) and len(v) > 20]
    for text in texts:
        assert sum(text in other for other in texts) == 1, text
    assert data["post_history_instructions"] == "\n".join(samantha.boundaries)


def test_import_without_out_writes_to_the_working_directory(tmp_path: Path) -> None:
    card = write(tmp_path, "ava.png", png_with_cards(chara=v2_of(FULL), ccv3=FULL))
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "persona", "import", str(card)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert load_persona(work / "ava.toml").lorebook  # here, not in the install's own folder
    assert not (DEFAULT_PERSONA.parent / "ava.toml").exists()
    assert "not kept: tags (labels only)" in done.stderr


def test_her_persona_file_survives_the_round_trip(tmp_path: Path) -> None:
    samantha = load_persona(DEFAULT_PERSONA)
    written = tmp_path / "samantha.toml"
    written.write_text(persona_to_toml(samantha))
    assert load_persona(written) == samantha  # worked examples and boundaries included
    card = write(tmp_path, "samantha.json", persona_to_card(samantha))
    back = card_to_persona(read_card(card))
    assert all(e.reply in back.example_dialogue for e in samantha.examples)
