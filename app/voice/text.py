"""Text for a voice: what to say of a written reply, and where its sentences end while it streams."""

from __future__ import annotations

import re

# Words whose full stop does not end a sentence.
_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr prof vs etc e.g i.e a.m p.m approx no fig mt ft".split())
# A sentence ends at . ! ? … (and any quotes or brackets closing after them), then white space.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n+")
# A sentence this long is cut at a clause (a comma, a dash) so the first audio does not wait for all of it.
LONG_SENTENCE = 220
_CLAUSE = re.compile(r"[,;:—–]\s")


def spoken(text: str) -> str:
    """The words of a written reply, without the marks a voice should not read (emphasis, bullets)."""
    text = re.sub(r"`{1,3}", "", text)
    text = re.sub(r"(\*\*|__|\*|_)(\S.*?\S|\S)\1", r"\2", text)
    text = re.sub(r"^\s*(?:[-•*]|#+|\d+[.)])\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"https?://\S+", "a link", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _ends_abbreviation(text: str, end: int) -> bool:
    """Whether the full stop before `end` closes an abbreviation or an initial ("Dr.", "J.")."""
    word = re.search(r"(\S+)\.$", text[:end])
    if word is None:
        return False
    token = word.group(1).lower().lstrip("(\"'“")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


class SentenceSplitter:
    """Feed streamed text in; get each sentence back as soon as it is complete.

    With `first_clause` (characters), the reply's first piece may end at a comma once it is that long:
    her first words are heard while the model is still writing the rest of her first sentence.
    """

    def __init__(self, *, first_clause: int | None = None) -> None:
        self._buffer = ""
        self._first_clause = first_clause

    def push(self, text: str) -> list[str]:
        """Add a piece of the reply; return the sentences it completed, in order."""
        self._buffer += text
        done: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            if match.group().startswith(".") and _ends_abbreviation(self._buffer, match.end()):
                continue
            sentence = self._buffer[start : match.end()].strip()
            if sentence:
                done.append(sentence)
            start = match.end()
        self._buffer = self._buffer[start:]
        if self._first_clause is not None:
            if done:
                self._first_clause = None
            elif cut := next((c.end() for c in _CLAUSE.finditer(self._buffer, self._first_clause)), 0):
                done.append(self._buffer[:cut].strip())
                self._buffer = self._buffer[cut:]
                self._first_clause = None
        while len(self._buffer) > LONG_SENTENCE:
            # At the last clause within reach, else the last space, else anywhere: a voice model's time
            # and memory grow faster than the length of what it is given at once.
            cuts = [c.end() for c in _CLAUSE.finditer(self._buffer, 0, LONG_SENTENCE)]
            cut = cuts[-1] if cuts else self._buffer.rfind(" ", 0, LONG_SENTENCE) + 1 or LONG_SENTENCE
            done.append(self._buffer[:cut].strip())
            self._buffer = self._buffer[cut:]
        return done

    def flush(self) -> list[str]:
        """Whatever is left (the end of the reply, without a final full stop)."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


def sentences(text: str) -> list[str]:
    """A whole text cut into sentences."""
    splitter = SentenceSplitter()
    return splitter.push(text) + splitter.flush()
