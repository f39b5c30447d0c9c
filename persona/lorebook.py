"""A character's lorebook (a card's character_book): entries keyed by words, used when the words come up."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

LORE_HEADER = "What you know about this world (use it when it fits):"
# SillyTavern gives world info a quarter of the context by default; the rest stays for memories and history.
LORE_SHARE = 4
# The person's message and the two messages before it: SillyTavern's default scan depth is two.
SCAN_DEPTH = 3


class LoreEntry(BaseModel):
    """One lorebook entry: its text goes into the prompt when one of its keys is said (or always)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[str] = Field(default_factory=list)
    content: str = Field(min_length=1)
    constant: bool = False  # always included, keys or not
    case_sensitive: bool = False
    order: int = 100  # lower comes first, and is kept first when the budget is short


def _said(key: str, text: str, case_sensitive: bool) -> bool:
    # Whole words only: a key "cat" must not fire on "category".
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.search(rf"(?<!\w){re.escape(key.strip())}(?!\w)", text, flags) is not None


def matching(entries: Iterable[LoreEntry], texts: Sequence[str]) -> list[LoreEntry]:
    """The entries that apply to these recent messages, in their order."""
    recent = "\n".join(texts[:SCAN_DEPTH])
    hits = [
        e
        for e in entries
        if e.constant or any(k.strip() and _said(k, recent, e.case_sensitive) for k in e.keys)
    ]
    return sorted(hits, key=lambda e: e.order)


def lore_block(
    entries: Sequence[LoreEntry], texts: Sequence[str], *, budget: int, count_tokens: Callable[[str], int]
) -> str:
    """The matching entries as one block within `budget` tokens ("" when none applies or none fits)."""
    if not entries:
        return ""
    lines: list[str] = []
    used = count_tokens(LORE_HEADER)
    for entry in matching(entries, texts):
        cost = count_tokens(entry.content) + 1
        if used + cost > budget:
            continue  # a shorter entry further on may still fit
        lines.append(entry.content.strip())
        used += cost
    return "\n".join([LORE_HEADER, *lines]) if lines else ""
