"""A long message in passages of whole sentences, each short enough to be embedded whole and found alone."""

from __future__ import annotations

import re

# About 80 word pieces: under the embedder's MAX_TOKENS (memory/embed_base.py), and a few sentences long.
# Passages of 30 words found more evidence in long chats with an assistant and less between friends, whose
# 40-80-word turns lost their context: not adopted (bench/RESULTS.md, LongMemEval, "passage size").
PASSAGE_WORDS = 60
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def _pieces(sentence: list[str], words: int) -> list[list[str]]:
    """A sentence longer than a passage, cut every `words` words (some people never use a full stop)."""
    return [sentence[i : i + words] for i in range(0, len(sentence), words)]


def passages(text: str, words: int = PASSAGE_WORDS) -> list[str]:
    """The text as passages of at most about `words` words; a text of up to a third more is one passage."""
    flat = text.split()
    if len(flat) <= words + words // 3:
        return [" ".join(flat)]
    out: list[list[str]] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        for piece in _pieces(sentence.split(), words):
            if current and len(current) + len(piece) > words:
                out.append(current)
                current = []
            current = current + piece
    if current:
        # A short tail joins the passage before it rather than standing alone as a fragment.
        if out and len(current) < words // 4:
            out[-1] = out[-1] + current
        else:
            out.append(current)
    return [" ".join(p) for p in out]
