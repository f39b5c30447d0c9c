"""Facts about the user from what they said, and how much a memory matters.

The deterministic extractor for first-person statements (a small local model cannot be trusted to produce
JSON); asking a capable model instead is the app's business (app/fact_model.py), which falls back to this.
A fact has a `key` (what it is about); a newer fact with the same key supersedes the older one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    """One thing learned about the user: `text` as the model reads it, `said` as the user would say it.

    Questions come in the first person ("what's my dog called?"), and MiniLM matches them far better
    against "My dog is called Biscuit." than against "The user's dog is called Biscuit.", so `said` is
    what gets embedded.
    """

    key: str
    text: str
    said: str


def third_person(sentence: str) -> str:
    """ "My dog is called Rex." -> "The user's dog is called Rex."; "I live in X" -> "The user lives in X"."""
    if sentence.startswith("My "):
        return "The user's " + sentence[3:]
    for first, third in (
        ("I am ", "The user is "),
        ("I have ", "The user has "),
        ("I can't ", "The user can't "),
    ):
        if sentence.startswith(first):
            return third + sentence[len(first) :]
    match = re.match(r"I (\w+) ", sentence)
    if match:
        verb = match[1]
        if not verb.endswith("ed"):  # "I started" stays past tense
            verb += "es" if verb.endswith(("ch", "sh", "s", "x")) else "s"
        return f"The user {verb} " + sentence[match.end() :]
    return sentence


_VALUE = r"(?P<v>[A-Za-z][\w'’ -]{0,40}?)"
# A value ends at punctuation or at a word that starts a new clause or a time phrase.
_END = (
    r"(?=\s*(?:[.,;!?]|$|\b(?:and|but|because|now|who|which|since|last|next|this|yesterday|today|"
    r"tomorrow|ago|at|for|in|on|with|so)\b))"
)
# Names are capitalised even when the rest of the pattern ignores case.
_NAME = r"(?P<v>(?-i:[A-Z][\w'-]{1,30}(?: [A-Z][\w'-]{1,30})?))"
_RELATIONS = (
    r"(?P<r>mother|mom|mum|father|dad|sister|brother|wife|husband|partner|boyfriend|girlfriend|son|daughter|"
    r"friend|best friend|grandmother|grandfather|grandma|grandpa|aunt|uncle|cousin|colleague|boss|"
    r"dog|cat|puppy|kitten)"
)
# Relations a person usually has several of; the others (a partner, a boss, the dog) are replaced.
_MANY = frozenset(
    "sister brother friend son daughter aunt uncle cousin colleague "
    "grandmother grandfather grandma grandpa".split()
)
_PRONOUNS = frozenset("it that this them you him her me us there".split())
# Words that follow "I'm" but are not names ("I'm Tired" in a shouted message, "I'm Also").
_NOT_NAMES = frozenset("a an the so very really just also not here back fine ok okay sorry glad".split())

# (pattern, key template, text template). Groups: v = value, r = relation/thing.
_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\bmy name is (?P<v>[A-Za-z][\w'-]{1,30})", re.I), "name", "My name is {v}."),
    (re.compile(r"\bcall me " + _NAME, re.I), "name", "My name is {v}."),
    (
        re.compile(r"\bmy " + _RELATIONS + " " + _NAME + r"\b", re.I),
        "{r} name",
        "My {r} is called {v}.",
    ),
    (
        re.compile(r"(?:^|[.!?,]\s*|\b(?:hi|hello|hey)[,!]?\s+)i'?m " + _NAME + r"\b(?![\w'])", re.I),
        "name",
        "",
    ),
    (
        re.compile(r"\bmy (?P<r>[a-z][a-z' -]{1,25}?)(?:'s name)? is (?:called |named )?" + _NAME, re.I),
        "{r} name",
        "My {r} is called {v}.",
    ),
    (
        re.compile(r"\bi have an? (?P<r>[a-z][a-z -]{1,25}?) (?:called|named) " + _NAME, re.I),
        "{r} name",
        "I have a {r} called {v}.",
    ),
    (
        re.compile(r"\bi(?:'ve| have)? (?:just |recently )?moved (?:back )?to " + _VALUE + _END, re.I),
        "home",
        "I live in {v}.",
    ),
    (
        re.compile(r"\bi(?: now|'m| am)? (?:still )?(?:live|living) in " + _VALUE + _END, re.I),
        "home",
        "I live in {v}.",
    ),
    (re.compile(r"\bi (?:now )?work as an? " + _VALUE + _END, re.I), "job", "I work as a {v}."),
    (
        re.compile(r"\bi (?:just |recently )?started (?:a new job|working) as an? " + _VALUE + _END, re.I),
        "job",
        "I started working as a {v}.",
    ),
    (
        re.compile(r"\bi (?:now )?work (?:at|for) " + _VALUE + _END, re.I),
        "workplace",
        "I work at {v}.",
    ),
    (
        re.compile(
            r"\bi (?:just |recently )?started (?:a new job|working) (?:at|for) " + _VALUE + _END, re.I
        ),
        "workplace",
        "I started a new job at {v}.",
    ),
    (
        re.compile(r"\bmy favou?rite (?P<r>[a-z][a-z ]{1,20}?) is " + _VALUE + _END, re.I),
        "favourite {r}",
        "My favourite {r} is {v}.",
    ),
    (re.compile(r"\bi(?:'m| am) (?P<v>\d{1,3}) years old", re.I), "age", "I am {v} years old."),
    (
        re.compile(r"\bmy birthday is (?:on )?" + _VALUE + _END, re.I),
        "birthday",
        "My birthday is {v}.",
    ),
    (
        re.compile(r"\bi (?:really )?(?P<r>love|like|enjoy|hate|dislike|can't stand) " + _VALUE + _END, re.I),
        "feeling about {v}",
        "I {r} {v}.",
    ),
]


def _clean(value: str) -> str:
    value = " ".join(value.split()).strip(" '’-")
    return re.sub(r"^(?:the|a|an) ", "", value, flags=re.I) if len(value.split()) > 1 else value


def extract_facts(text: str) -> list[Fact]:
    """Deterministic facts from first-person statements ("my dog is called Biscuit", "I moved to Oslo")."""
    facts: dict[str, Fact] = {}
    for pattern, key_template, text_template in _RULES:
        for match in pattern.finditer(text):
            groups = {k: _clean(v) for k, v in match.groupdict().items() if v}
            value = groups.get("v", "")
            if not value or value.lower() in _NOT_NAMES or value.lower() in _PRONOUNS:
                continue
            if key_template == "name" or key_template == "{r} name":
                value = value[0].upper() + value[1:]
            if key_template == "name" and not text_template:  # "I'm Theo": only a capitalised single word
                if not value[0].isupper() or " " in value:
                    continue
                text_template = "My name is {v}."
            if "{r}" in key_template and groups.get("r", "").lower().startswith(("name", "favourite")):
                continue
            relation = groups.get("r", "").lower()
            sentence = text_template.format(v=value, r=relation)
            key = key_template.format(v=value.lower(), r=relation)
            if relation in _MANY:  # people have several sisters and friends: each is a fact of its own
                key = f"{key} {value.lower()}"
            facts[key] = Fact(key=key, text=third_person(sentence), said=sentence)
    return list(facts.values())


_PEOPLE = re.compile(
    r"\b(mother|mom|mum|father|dad|sister|brother|wife|husband|partner|boyfriend|girlfriend|son|daughter|"
    r"friend|grand\w+|aunt|uncle|cousin|colleague|boss|baby|kids?|children)\b",
    re.I,
)
_FEELINGS = re.compile(
    r"\b(feel\w*|sad|happy|lonely|anxious|scared|afraid|angry|upset|excited|worried|depressed|"
    r"love|miss|grief|cry\w*|hurt|proud|stressed)\b",
    re.I,
)
_PLANS = re.compile(
    r"\b(tomorrow|tonight|next (?:week|month|year)|going to|plan\w*|will|soon|"
    r"on (?:mon|tue|wed|thu|fri|sat|sun)\w*)\b",
    re.I,
)


def importance(text: str, *, is_fact: bool = False) -> float:
    """How much a memory matters, in [0, 1]: names, people, feelings and plans count; small talk does not."""
    body = re.sub(r"^\[[^\]]*\]\s*(?:\w+:\s*)?", "", text)  # without "[date] speaker:"
    if len(re.findall(r"\w+", body)) < 4 and not is_fact:
        return 0.2
    score = 0.4 + (0.2 if is_fact else 0.0)
    if re.search(r"(?<=[a-z,;] )[A-Z][a-z]{2,}", body):
        score += 0.15  # a name or a place (a capital inside a sentence)
    for kind, weight in ((_PEOPLE, 0.15), (_FEELINGS, 0.15), (_PLANS, 0.1)):
        if kind.search(body):
            score += weight
    return round(min(1.0, score), 2)
