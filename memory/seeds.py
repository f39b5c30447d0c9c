"""The film reviews in seeds/: split into passages and ingested once (by content hash)."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from tqdm import tqdm

from memory.store_base import MemoryEngine
from memory.write import NewMemory

log = logging.getLogger(__name__)

# MiniLM reads at most 256 word pieces; about 70 words keeps a passage whole and on one topic.
PASSAGE_WORDS = 70
PREFIX = "[film review of Her] "


def passages(text: str, max_words: int = PASSAGE_WORDS) -> list[str]:
    """Whole sentences grouped into passages of about `max_words` words."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    out: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in sentences:
        words = len(sentence.split())
        if current and count + words > max_words:
            out.append(" ".join(current))
            current, count = [], 0
        current.append(sentence)
        count += words
    if current:
        out.append(" ".join(current))
    return [p for p in out if p.strip()]


async def ingest_seeds(store: MemoryEngine, seeds_dir: Path, *, progress: bool = True) -> int:
    """Ingest every new or changed review; returns how many passages were added."""
    files = sorted(seeds_dir.glob("*.txt"))
    todo: list[tuple[str, str, list[str]]] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if await store.seed_digest(path.name) != digest:
            todo.append((path.name, digest, [PREFIX + p for p in passages(text)]))
    if not todo:
        return 0
    added = 0
    total = sum(len(chunks) for _, _, chunks in todo)
    with tqdm(total=total, desc="Reading the film reviews", unit="passage", disable=not progress) as bar:
        for name, digest, chunks in todo:
            items = [NewMemory(chunk, "seed", importance=0.3) for chunk in chunks]
            added += await store.add_seed(name, digest, items)  # the passages and the digest together
            bar.update(len(chunks))
    await store.save_indexes()
    log.info("ingested %d passages from %d reviews", added, len(todo))
    return added
