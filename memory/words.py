"""Words of a question and of a memory: content words, light stemming, coverage, safe FTS5 queries."""

from __future__ import annotations

import functools
import re

_STOPWORDS = frozenset(
    """a an and are as at be but by do does did for from had has have he her his how i if in into is it its
    me my of on or our she so that the their them then there they this to was we were what when where which
    who whom why will with you your yours am can could would should about just not no yes these those
    some any all been being very really here than too also now still ever never got get remember recall
    tell know think say said ask please hey hi hello""".split()
)

STOPWORDS = _STOPWORDS


def _stem(word: str) -> str:
    """A light suffix stripper: "dogs"/"dog", "lives"/"living"/"live", "moved"/"move" meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def terms(text: str) -> set[str]:
    """The content words of a text, stemmed."""
    return {_stem(w) for w in re.findall(r"\w+", text.lower()) if w not in _STOPWORDS and len(w) > 1}


def coverage(query_terms: set[str], text: str) -> float:
    """Share of the query's content words that the text contains (as `terms` would find them)."""
    if not query_terms:
        return 0.0
    # Stemming only strips endings, so a word stems to a term only if it starts with it: each term looks
    # at the words starting with it, and stops at the first that stems to it. One literal-prefixed pattern
    # per term is searched far faster than one alternation of all of them (recall checks ~100 long texts
    # per question: bench/RESULTS.md, "Recall latency").
    lower = text.lower()
    found = 0
    for term, pattern in _starting(frozenset(query_terms)):
        if term not in lower:  # most terms are in few texts: a substring test rules them out at C speed
            continue
        for match in pattern.finditer(lower):
            start = match.start()
            if start and _WORD_CHAR.match(lower, start - 1):  # inside a word, not at its start
                continue
            word = match.group()
            if word not in _STOPWORDS and len(word) > 1 and _stem(word) == term:
                found += 1
                break
    return found / len(query_terms)


_WORD_CHAR = re.compile(r"\w")


@functools.lru_cache(maxsize=256)
def _starting(query_terms: frozenset[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each term with a pattern for the words that start with it."""
    return tuple((t, re.compile(re.escape(t) + r"\w*")) for t in sorted(query_terms))


# How a question or a request to be reminded opens ("What did I...", "Do you remember...", "Remind me...").
_ASKING = re.compile(
    r"^\W*(?:what|when|where|who|whom|whose|which|why|how|do|does|did|is|are|was|were|can|could|will|"
    r"would|should|shall|remind|tell me|recall|remember|any idea)\b",
    re.IGNORECASE,
)


def asks(text: str) -> bool:
    """Whether the text asks something (a question, a request to be told) rather than shares a moment."""
    # A question mark anywhere counts ("I moved in March, remember?"); so does an interrogative opening
    # without one, as people type ("what was the name of that cafe").
    return "?" in text or any(_ASKING.match(part) for part in re.split(r"[.!\n]+", text) if part.strip())


def fts_query(text: str, *, any_word: bool = True) -> str:
    """An FTS5 query of the text's content words, each quoted so user text cannot inject syntax."""
    words = re.findall(r"\w+", text.lower())
    content = [w for w in words if w not in _STOPWORDS and len(w) > 1] or words
    return (" OR " if any_word else " AND ").join(f'"{w}"' for w in content)
