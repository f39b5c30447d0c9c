"""Memories as the model reads them: her own notes, addressed to her person, with dates people say.

A small model copies what it reads. Given `[2026-11-20] user: my sister is Anna` it answered as the person
("My sister is Anna"), and copied the bracketed stamp into replies. So each note is written the way she
would say it back: "Last Friday (20 November 2026) you told me: your sister is Anna."
"""

from __future__ import annotations

import re
from datetime import date

_STAMPED = re.compile(r"^\[(\d{4}-\d{2}-\d{2})\]\s*(.*)$", re.S)
_SAID = re.compile(r"^(?P<who>[^:\n]{1,40}):\s(?P<words>.*)$", re.S)

# Her person's words turned around: what they said of themselves becomes "you", what they said to her "I".
_SWAP = {
    "i am": "you are", "i was": "you were", "you are": "I am", "you were": "I was",
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll",
    "you": "me", "your": "my", "yours": "mine", "yourself": "myself",
    "you're": "I'm", "you've": "I've", "you'd": "I'd", "you'll": "I'll",
}  # fmt: skip
_SWAPPABLE = re.compile(
    r"\b(?:"
    + "|".join(sorted((re.escape(k).replace(r"\ ", r"\s+") for k in _SWAP), key=len, reverse=True))
    + r")\b",
    re.I,
)
# "you" is "I" where it starts a clause ("you said" -> "I said"), "me" elsewhere ("I love you" -> "...me").
_CLAUSE_START = re.compile(r"(?:^|[.!?,;:]\s*|\b(?:and|but|because|if|when|that|so)\s+)$", re.I)

# Facts are stored in the third person ("The user's sister is Anna."); she reads them in the second.
_FACT_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^The user's\b"), "Your"),
    (re.compile(r"^The user is\b"), "You are"),
    (re.compile(r"^The user was\b"), "You were"),
    (re.compile(r"^The user has\b"), "You have"),
    (re.compile(r"^The user can't\b"), "You can't"),
    (re.compile(r"^The user doesn't\b"), "You don't"),
]
_FACT_VERB = re.compile(r"^The user (\w+s)\b")


def swap_person(text: str) -> str:
    """Turn what the person said into what she would say back ("my dog" -> "your dog", "you" -> "me")."""

    def turn(match: re.Match[str]) -> str:
        word = match[0]
        lower = " ".join(word.lower().split())
        if lower == "you":
            swapped = "I" if _CLAUSE_START.search(text[: match.start()]) else "me"
        else:
            swapped = _SWAP[lower]
        pronoun_i = lower == "i" or lower.startswith(("i ", "i'"))  # always capital: says nothing
        starts = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?"
        if word[0].isupper() and (starts or not pronoun_i) and not swapped.startswith("I"):
            swapped = swapped[0].upper() + swapped[1:]
        return swapped

    return _SWAPPABLE.sub(turn, text)


def second_person_fact(text: str) -> str:
    """ "The user's dog is Rex." -> "Your dog is Rex."; "The user lives in Oslo." -> "You live in Oslo." """
    for pattern, replacement in _FACT_FORMS:
        if pattern.search(text):
            return pattern.sub(replacement, text, count=1)
    verb = _FACT_VERB.match(text)
    if verb:
        word = verb[1]
        if word.endswith("ies"):
            base = word[:-3] + "y"
        elif word.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
            base = word[:-2]
        else:
            base = word.removesuffix("s")
        return f"You {base}" + text[verb.end() :]
    return text


def when(day: str, today: str) -> str:
    """A date as people say it, with how long ago: "yesterday (27 November 2026)"."""
    try:
        then, now = date.fromisoformat(day), date.fromisoformat(today)
    except ValueError:
        return day
    spoken = f"{then.day} {then:%B %Y}"
    days = (now - then).days
    if days <= 0:
        return f"earlier today ({spoken})"
    if days == 1:
        return f"yesterday ({spoken})"
    if days < 7:
        return f"on {then:%A} ({spoken}, {days} days ago)"
    if days < 14:
        return f"last {then:%A} ({spoken})"
    if days < 60:
        return f"{days // 7} weeks ago ({spoken})"
    return f"on {spoken}"


def render_note(text: str, kind: str, today: str) -> str:
    """One memory as a line of her notes: when, who said it, and the words in her person's terms."""
    flat = " ".join(text.split())
    stamped = _STAMPED.match(flat)
    if not stamped:  # a film passage or anything without a date: as it is
        return flat
    day, rest = stamped[1], stamped[2]
    said_when = when(day, today)
    if kind == "fact":
        return f"{said_when[0].upper()}{said_when[1:]} you told me: {second_person_fact(rest)}"
    said = _SAID.match(rest)
    if not said:
        return f"{said_when[0].upper()}{said_when[1:]}: {rest}"
    who, words = said["who"].strip(), said["words"].strip()
    if who == "user":
        return f"{said_when[0].upper()}{said_when[1:]} you told me: {swap_person(words)}"
    if who == "assistant":
        return f"{said_when[0].upper()}{said_when[1:]} I told you: {words}"
    return f"{said_when[0].upper()}{said_when[1:]} {who} said: {words}"
