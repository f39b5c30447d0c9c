"""Facts about the person, asked of a model that answers in JSON; else the rules of memory/extract.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from app.backends.base import Backend, BackendError
from memory.extract import Fact, extract_facts
from persona.messages import GenParams, Message

log = logging.getLogger(__name__)

_PROMPT = (
    "Extract lasting facts about the user from their message. Answer with JSON only: a list of objects "
    '{"key": short topic such as "dog name" or "home city", "fact": one sentence starting "The user"}. '
    "Answer [] when there is no lasting fact."
)


async def extract_with_model(backend: Backend, text: str) -> list[Fact]:
    """Ask a capable model for facts as JSON; fall back to the deterministic extractor on any trouble."""
    messages: Sequence[Message] = [
        {"role": "system", "content": _PROMPT},
        {"role": "user", "content": text},
    ]
    try:
        reply = "".join(
            [
                d
                async for d in backend.generate(
                    messages, GenParams(max_tokens=200, temperature=0, store=False)
                )
            ]
        )
        start, end = reply.find("["), reply.rfind("]")
        if start == -1 or end < start:
            raise ValueError(f"no JSON list in the reply {reply[:80]!r}")
        items = json.loads(reply[start : end + 1])
        facts = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("key") and item.get("fact"):
                fact = " ".join(str(item["fact"]).split())[:300]
                facts.append(Fact(key=" ".join(str(item["key"]).lower().split())[:60], text=fact, said=fact))
    except (BackendError, ValueError, TypeError) as exc:
        log.info("model fact extraction failed (%s); using the rule-based extractor", exc)
        return extract_facts(text)
    return facts
