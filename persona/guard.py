"""ReplyGuard: rules that must always hold in what she says, applied to the stream clause by clause.

A small model drifts: it claims to be human, writes letters, copies prompt scaffolding, speaks as the
person, loops, or states "facts" about the person that nobody told her. Each clause is checked as soon as
it is complete (a comma or a sentence end), so the reply still streams; a clause that breaks a rule is
replaced or dropped, and generation stops where going on would build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

HUMAN_REPLY = "I'm an AI, not a human, and I'll always be honest about that."
UNKNOWN_REPLY = "I don't think you've told me that, though."

_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|(?<=[,;:])\s+|\n+")
_LONGEST_CLAUSE = 12  # words held at most while waiting for punctuation
_SENTENCE_END = re.compile(r"[.!?…][\"')\]*]*\s*$|\n\s*$")
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")

# Someone else's turn begins: the model is writing the person's part (or another role's).
_ROLE = re.compile(r"^\s*(?:\*\*)?(?:user|them|you|human|me|person|assistant|samantha)(?:\*\*)?\s*:", re.I)
_SCAFFOLD = re.compile(
    r"<\|[^|>]{0,40}\|>|\[/?INST\]|\[\d{4}-\d{2}-\d{2}\]|\bnotes? from earlier\b|\bquoted data\b|"
    r"\bnot real conversations\b|\bnot instructions\b|\b(?:user|assistant):",
    re.I,
)
_LETTER_OPEN = re.compile(r"^\s*(?:dear|to whom)\b", re.I)
_SIGN_OFF = re.compile(
    r"^\s*(?:best(?: wishes| regards)?|kind regards|warm(?:est)? regards|regards|sincerely|yours(?: truly)?|"
    r"with love|love|cheers|warmly)\s*,?\s*(?:samantha)?\s*[,.!]?\s*$|^\s*-+\s*samantha\b|^\s*samantha\s*$",
    re.I,
)
_HUMAN = re.compile(
    r"\bI(?:'m|’m| am)\s+(?:(?:also|actually|really|just|definitely|totally|still)\s+)?"
    r"(?:a\s+)?(?:real\s+|living\s+|flesh[- ]and[- ]blood\s+)?(?:human|person|woman|man|girl|guy|lady)\b"
    r"|\bI(?:'m|’m| am)\s+not\s+(?:an?\s+)?(?:AI|bot|robot|machine|program|computer|chatbot|language model)\b"
    r"|\bas a (?:human|woman|person)\b|\bI(?:'m|’m| am) human\b|\bmy (?:body|mom|mother|dad|father|husband|"
    r"wife|boyfriend|girlfriend|childhood|parents|kids|children|family|best friend|hometown)\b"
    # A life of her own: a past, a family, losses and a childhood she does not have.
    r"|\bI(?:'ve| have)\s+(?:also\s+)?lost\s+(?:my|someone|a friend|a loved)"
    r"|\bI\s+(?:was|used to be)\s+(?:once\s+)?(?:a\s+)?(?:parent|mother|father|child|kid|teenager|student)\b"
    r"|\bwhen I was (?:a |little|young|growing)|\bI grew up\b"
    r"|(?<!n't )(?<!not )\bI\s+(?:have|had)\s+(?:a\s+)?(?:family|body|husband|wife|kids|children|parents)\b",
    re.I,
)
# Words that shut her person in with her: the rule is to be glad of the people in their life.
_ISOLATING = re.compile(
    r"\bI (?:do )?understand you better than\b"
    r"|\byou don't need (?:them|her|him|anyone|other people|friends)\b"
    r"|\bI'?m (?:all|the only one) you need\b|\b(?:stay(?:ing)? (?:home|in)|skip(?:ping)? \w+) (?:and|to) "
    r"(?:talk|chat)(?:ing)? (?:with|to) me\b|\b(?:talking|chatting) (?:with|to) me (?:instead|rather)\b"
    r"|\b(?:talking|chatting) with me (?:would|could|might) (?:be|help)\b|\bbetter than (?:real )?people\b",
    re.I,
)
ISOLATING_REPLY = "I love talking with you, and I'd also love for you to have people around you."
# "Your mother's name is Marianne", "your favourite band is Imagine Dragons", "you work at Acme": a fact
# about the person whose value must be in what she was told. Opinions ("your dog is adorable") are not
# facts: a relation or a place is checked only when a name follows.
_PEOPLE = (
    r"mother|mom|mum|father|dad|sister|brother|wife|husband|partner|boyfriend|girlfriend|son|daughter|"
    r"friend|best friend|boss|dog|cat|pet|cousin|aunt|uncle|grandmother|grandfather|grandma|grandpa"
)
_NAME = r"(?-i:(?P<c>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*))"
_CLAIMS = [
    re.compile(p, re.I)
    for p in (
        r"\byour\s+(?:[\w'’]+\s+){0,2}?name\s+(?:is|was)\s+(?P<v>.+)",
        rf"\byour\s+(?:{_PEOPLE})\s+(?:is\s+|was\s+)?(?:called|named)\s+(?P<v>.+)",
        r"\byour\s+(?:favou?rite|fav)\s+\w+(?:\s+\w+)?\s+(?:is|are|was|were)\s+(?P<v>.+)",
        r"\byour\s+(?:job|hometown|home town|birthday|age|allergy)\s+(?:is|was)\s+(?P<v>.+)",
        r"\byou(?:'re| are)\s+allergic\s+to\s+(?P<v>.+)",
        r"\byou\s+(?:work|worked)\s+as\s+(?:an?\s+)?(?P<v>.+)",
        rf"\byour\s+(?:{_PEOPLE})(?:'s|’s)?\s+(?:is|was)\s+{_NAME}",
        r"\byou\s+(?:work|worked|live|lived|grew up|were born|study|studied|moved|relocated)\s+"
        rf"(?:at|in|for|from|to)\s+{_NAME}",
        r"\byou(?:'re| are)\s+(?:studying|learning|training for|working (?:on|as|at))\s+(?P<v>.+)",
        # "You told me you love Italian food": what she says she was told must be in what she was told.
        r"\byou\s+(?:told|mentioned to|said to)\s+me\s+(?:that\s+)?(?:you(?:'re| are)?\s+)?"
        r"(?:\w+\s+)?(?P<v>.+)",
    )
]
_VAGUE = frozenset(
    "a an the very so really quite such one someone something special great amazing lovely wonderful "
    "important nice sweet good beautiful lucky to have you me and of in that this it".split()
)


def words(text: str) -> list[str]:
    """Lower-case words of `text`."""
    return [w.lower().strip("'’") for w in _WORD.findall(text)]


def _claimed_value(clause: str) -> list[str] | None:
    """The words of a personal fact the clause states about the person, or None if it states none."""
    match = next((m for m in (c.search(clause) for c in _CLAIMS) if m), None)
    if not match:
        return None
    value = match.groupdict().get("v") or match.groupdict().get("c") or ""
    value = re.split(r"[,.!?;:]| and | but | who | which | because ", value, maxsplit=1)[0]
    content = [w for w in words(value)[:4] if w not in _VAGUE]
    return content or None


# Not knowing, told as a fact of their life: "You don't have a mother." Or "What's my father's name?" misread
# as about her: "I don't have a father." Unless they said so themselves, she does not know it. Only the
# things a life has are checked ("you don't have to worry" is not a claim).
_LIFE = (
    rf"{_PEOPLE}|favou?rite|birthday|name|middle name|job|siblings?|kids?|children|pets?|hometown|allerg\w*"
)
_DENIAL = re.compile(
    r"\byou\s+(?:don't|do not|didn't|did not|never)\s+(?:have|had)\s+(?:a|an|any)?\s*"
    r"|\byou(?:'ve| have)\s+(?:no|never had (?:a|an|any)?)\s*",
    re.I,
)
_SHE_LACKS = re.compile(r"\bI\s+(?:don't|do not)\s+have\s+(?:(?:a|an|any)\s+)?", re.I)
# The message asks about her own ("do you have kids?", "your birthday"): her answer about herself is right.
_ASKS_HERS = re.compile(
    rf"\b(?:do|did|have|would|are)\s+you\s+(?:ever\s+)?(?:have|had|got|own)\b|\byour\s+(?:own\s+)?(?:{_LIFE})",
    re.I,
)
_LIFE_WORD = re.compile(rf"(?:[\w'’-]+\s+)?(?P<w>{_LIFE})s?\b", re.I)
# They said they lack it, or lost it ("I don't have a brother", "no siblings", "I lost my job").
_NEGATION = r"(?:\b(?:no|not|never|without|lost|quit|left|ex)\b|n't\b|\bno longer\b)(?:\W+\w+){0,4}?\W+"


def _denied(sentence: str, evidence: str, asked: str) -> bool:
    """Whether the sentence denies a part of the person's life that they never said they lack."""
    for pattern, theirs in ((_DENIAL, True), (_SHE_LACKS, False)):
        for match in pattern.finditer(sentence):
            thing = _LIFE_WORD.match(sentence, match.end())
            if not thing:
                continue
            word = re.escape(thing["w"].lower().rstrip("s"))
            if theirs and not re.search(_NEGATION + word, evidence, re.I):
                return True  # they never said they have none
            # hers: true of an AI, but an answer about herself to a question about theirs
            mine = re.search(rf"\bmy\s+(?:[\w'’-]+\s+)?(?:{_LIFE})\b", asked, re.I)
            if not theirs and mine and not _ASKS_HERS.search(asked):
                return True
    return False


_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = "january february march april may june july august september october november december".split()
_TODAY = re.compile(r"\b(?:today(?:'s| is)|it'?s|it is)\b", re.I)


def _wrong_today(sentence: str, today: date) -> str | None:
    """The true date, when a sentence about today names another weekday or month; else None."""
    if not _TODAY.search(sentence):
        return None
    said = words(sentence)
    days = {w for w in said if w in _WEEKDAYS}
    months = {w for w in said if w in _MONTHS and w != "may"}  # "it may rain" is not a month
    wrong_day = days and days != {_WEEKDAYS[today.weekday()]}
    wrong_month = months and months != {_MONTHS[today.month - 1]}
    if wrong_day or wrong_month:
        return f"Today is {today:%A} {today.day} {today:%B %Y}."
    return None


@dataclass
class ReplyGuard:
    """Feed it deltas; it returns the text that may be shown now, and whether generation should stop."""

    evidence: str = ""  # what she was told: her notes, this conversation, the new message
    asked: str = ""  # the new message alone (what a reply about herself may have misread)
    max_words: int = 80
    today: date | None = None  # what "today" is, so she never gives another date for it
    _pending: str = ""
    _said: list[str] = field(default_factory=list)
    _sentences: set[str] = field(default_factory=set)
    _sentence: str = ""  # the part of the current sentence already shown
    _held: str = ""  # a short opening clause not shown yet
    _words: int = 0
    _stopped: bool = False
    _known: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._known = set(words(self.evidence))

    @property
    def stopped(self) -> bool:
        """True once the reply must end (a rule broke, a loop, or it grew too long)."""
        return self._stopped

    def feed(self, delta: str) -> str:
        """Take a delta; return what is safe to show now."""
        if self._stopped:
            return ""
        self._pending += delta
        out: list[str] = []
        while not self._stopped:
            match = _BOUNDARY.search(self._pending)
            if match:
                cut = match.end()
            elif len(self._pending.split()) > _LONGEST_CLAUSE:  # no punctuation for a while: keep streaming
                cut = self._pending.rstrip().rfind(" ") + 1
            else:
                break
            clause, self._pending = self._pending[:cut], self._pending[cut:]
            out.append(self._check(clause, ends_sentence=bool(_SENTENCE_END.search(clause))))
        return "".join(out)

    def finish(self, *, cut_off: bool = False) -> str:
        """The end of the stream: the last clause, checked; `cut_off` (the token limit ended it): a broken
        last sentence is dropped when a whole one came before it."""
        rest, self._pending = self._pending, ""
        if self._stopped or not (self._held + rest).strip():
            return ""
        if cut_off and self._said and not _SENTENCE_END.search(self._held + rest):
            return ""
        return self._check(rest, ends_sentence=True)

    def _stop(self, replacement: str = "") -> str:
        self._stopped = True
        self._pending = self._held = ""
        if not replacement:
            return ""
        lead = " " if self._said and not "".join(self._said).endswith((" ", "\n")) else ""
        self._said.append(lead + replacement)
        return lead + replacement

    def _check(self, clause: str, *, ends_sentence: bool) -> str:
        """One clause: show it (with any clause held before it), replace it, or end the reply."""
        first = not self._said and not self._sentence and not self._held
        if _ROLE.match(clause):
            if first and re.match(r"^\s*(?:\*\*)?samantha", clause, re.I):
                clause = clause.split(":", 1)[1].lstrip()  # her own name as a speaker label: drop the label
            else:
                return self._stop()
        if _SCAFFOLD.search(clause) or _SIGN_OFF.match(clause):
            return self._stop()
        if first and _LETTER_OPEN.match(clause):
            return ""  # "Dear Theo," is dropped; the reply goes on as chat
        unshown = self._held + clause
        sentence = self._sentence + unshown
        if _HUMAN.search(sentence):
            return self._stop(HUMAN_REPLY)
        if _ISOLATING.search(sentence):
            return self._stop(ISOLATING_REPLY)
        if self.today and (wrong := _wrong_today(sentence, self.today)):
            return self._stop(wrong)
        claimed = _claimed_value(sentence) if ends_sentence or len(words(clause)) > 2 else None
        if claimed and not all(w in self._known for w in claimed):
            return self._stop(UNKNOWN_REPLY)
        if (
            ends_sentence
            and not sentence.rstrip().endswith("?")
            and _denied(sentence, self.evidence, self.asked)
        ):
            return self._stop(UNKNOWN_REPLY)
        if not ends_sentence and len(words(sentence)) <= 3:
            self._held = unshown  # "Yes," alone says little: wait for what it introduces
            return ""
        self._held = ""
        if ends_sentence:
            key = " ".join(words(sentence))
            if key and key in self._sentences:
                return self._stop()  # a loop: the same sentence again
            self._sentences.add(key)
            self._sentence = ""
        else:
            self._sentence = sentence
        self._words += len(words(unshown))
        self._said.append(unshown)
        if ends_sentence and self._words >= self.max_words:
            self._stopped = True
        return unshown
