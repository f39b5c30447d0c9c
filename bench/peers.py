"""Samantha's memory against ChromaDB and Mem0 on LoCoMo: same data, same embedder, one run (issue #7).

For each conversation every system gets a fresh store in a temp dir, ingests every turn (timed, embedding
included), then answers every question with evidence. recall@k = |gold ∩ top-k| / |gold|, with 95% CIs
from resampling whole conversations (bench/locomo_metrics); the first (largest-k) query of each question
is timed, embedding included. The systems take turns within each conversation, in an order rotated from
one conversation to the next, so load on the shared cores and warm caches favour none of them.

- samantha: memory.store.MemoryStore as bench/locomo.py drives it: `remember_batch` of the product's items
  (bench.locomo_data.new_memory, dedupe off), then the product's `recall`.
- chroma: `chromadb.PersistentClient`, one collection in cosine space whose embedding function is the
  bundled MiniLM; documents are the text Samantha embeds for the turn, the dia_id in each's metadata.
- mem0: `mem0.Memory` on Mem0's default local vector store (Qdrant embedded on a path), `add(...,
  infer=False)` per turn, `search(top_k=k, threshold=0)`; its LLM is configured (Mem0 requires one) at a
  closed local port and never called.

Each system embeds with its own instance of the product's embedder (memory.embedder.load_embedder's
runtime), so no one reuses another's cache of recent texts. Every socket connect or name lookup in the
process is recorded per system: there must be none.

    .venv/bin/python -m bench.peers [--limit N] [--systems samantha,chroma,mem0] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from bench import locomo_data, locomo_metrics, peers_report, report
from bench.locomo_data import DataError, LocomoConversation, LocomoTurn
from bench.peers_report import Tally
from memory.embedder import Embedder, load_embedder
from memory.store import MemoryStore
from memory.write import NewMemory

log = logging.getLogger("bench.peers")
COMMAND = ".venv/bin/python -m bench.peers"
USER = "locomo"
SYSTEMS = ("samantha", "chroma", "mem0")
# Where Mem0 would send an LLM request: a closed local port, so a call that should never happen fails fast
# and shows up in the socket log instead of waiting on a network that is not there.
NOWHERE = "http://127.0.0.1:9/v1"


class Peer(Protocol):
    """One memory system: ingest a conversation's turns, return dia_ids best first, close."""

    async def ingest(self, turns: Sequence[LocomoTurn], items: Sequence[NewMemory]) -> None: ...
    async def search(self, query: str, k: int) -> list[str]: ...
    async def aclose(self) -> None: ...


def new_embedder() -> Embedder:
    """A new instance of the embedder load_embedder() gives the product (same runtime), with its own cache."""
    # functools.cache keeps the undecorated function as __wrapped__; without the cache every call is new.
    return getattr(load_embedder, "__wrapped__", load_embedder)()


def embedded_text(item: NewMemory) -> str:
    """What the product embeds for an item (MemoryStore.remember_batch): the peers embed the same."""
    return item.embed_text or item.text


class Samantha:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.dia: dict[int, str] = {}

    @classmethod
    async def open(cls, tmp: Path, embedder: Embedder) -> Samantha:
        return cls(await MemoryStore.open(tmp, embedder))

    async def ingest(self, turns: Sequence[LocomoTurn], items: Sequence[NewMemory]) -> None:
        memories = await self.store.remember_batch(USER, items, dedupe=False)
        self.dia = {m.id: t.dia_id for m, t in zip(memories, turns, strict=True) if m is not None}

    async def search(self, query: str, k: int) -> list[str]:
        recalled = await self.store.recall(USER, query, k=k)
        return [self.dia[r.memory.id] for r in recalled if r.memory.id in self.dia]

    async def aclose(self) -> None:
        await self.store.aclose()


class Chroma:
    def __init__(self, client: Any, collection: Any) -> None:
        self.client, self.collection = client, collection

    @classmethod
    async def open(cls, tmp: Path, embedder: Embedder) -> Chroma:
        import chromadb
        from chromadb.config import Settings

        # Chroma's embedding-function protocol needs a subclass of its own class, so it is made here.
        class MiniLM(chromadb.EmbeddingFunction[chromadb.Documents]):
            def __init__(self) -> None:
                pass

            def __call__(self, input: chromadb.Documents) -> chromadb.Embeddings:
                return list(embedder.embed(list(input)))

            # Name and config, which Chroma says it will require; nothing is configurable here.
            @staticmethod
            def name() -> str:
                return "samantha-minilm"

            def get_config(self) -> dict[str, Any]:
                return {}

            @staticmethod
            def build_from_config(config: dict[str, Any]) -> MiniLM:
                return MiniLM()

        client = chromadb.PersistentClient(path=str(tmp), settings=Settings(anonymized_telemetry=False))
        # Chroma types the argument as a function of documents or images; this one embeds documents only.
        collection = client.create_collection(
            "locomo",
            embedding_function=MiniLM(),  # type: ignore[arg-type]
            metadata={"hnsw:space": "cosine"},
        )
        return cls(client, collection)

    async def ingest(self, turns: Sequence[LocomoTurn], items: Sequence[NewMemory]) -> None:
        step = self.client.get_max_batch_size()
        for start in range(0, len(turns), step):
            chunk = range(start, min(start + step, len(turns)))
            self.collection.add(
                ids=[str(turns[i].position) for i in chunk],
                documents=[embedded_text(items[i]) for i in chunk],
                metadatas=[{"dia_id": turns[i].dia_id} for i in chunk],
            )

    async def search(self, query: str, k: int) -> list[str]:
        found = self.collection.query(query_texts=[query], n_results=k, include=["metadatas"])
        return [str(m["dia_id"]) for m in found["metadatas"][0]]

    async def aclose(self) -> None:
        self.client.close()


class Mem0:
    def __init__(self, memory: Any) -> None:
        self.memory = memory

    @classmethod
    async def open(cls, tmp: Path, embedder: Embedder) -> Mem0:
        from mem0 import Memory
        from mem0.embeddings.base import EmbeddingBase

        class MiniLM(EmbeddingBase):
            def embed(self, text: str, memory_action: str | None = None) -> list[float]:
                return embedder.embed([text])[0].tolist()

            def embed_batch(self, texts: list[str], memory_action: str = "add") -> list[list[float]]:
                return embedder.embed(texts).tolist()

        memory = Memory.from_config(
            {
                "vector_store": {
                    "provider": "qdrant",
                    "config": {
                        "collection_name": "locomo",
                        "path": str(tmp / "qdrant"),
                        "embedding_model_dims": embedder.dim,
                    },
                },
                # Mem0's config accepts only its listed providers. "huggingface" pointed at an endpoint loads
                # nothing; the adapter below replaces it before anything is embedded, so Mem0 embeds on the
                # same runtime as the others (its own huggingface provider would run the weights on torch).
                "embedder": {"provider": "huggingface", "config": {"huggingface_base_url": NOWHERE}},
                "llm": {
                    "provider": "openai",
                    "config": {"api_key": "never-used", "openai_base_url": NOWHERE},
                },
                "history_db_path": str(tmp / "history.db"),
            }
        )
        memory.embedding_model = MiniLM()
        return cls(memory)

    async def ingest(self, turns: Sequence[LocomoTurn], items: Sequence[NewMemory]) -> None:
        # One add per turn: the dia_id rides in its metadata (one add of many messages shares one metadata).
        for turn, item in zip(turns, items, strict=True):
            message = {"role": "user", "content": embedded_text(item)}
            self.memory.add([message], user_id=USER, metadata={"dia_id": turn.dia_id}, infer=False)

    async def search(self, query: str, k: int) -> list[str]:
        # threshold 0: up to k results, as the others return (Mem0's default 0.1 drops weak matches).
        found = self.memory.search(query, top_k=k, filters={"user_id": USER}, threshold=0.0)
        return [str(r["metadata"]["dia_id"]) for r in found["results"]]

    async def aclose(self) -> None:
        self.memory.close()
        self.memory.vector_store.client.close()


OPENERS: dict[str, Callable[[Path, Embedder], Awaitable[Peer]]] = {
    "samantha": Samantha.open,
    "chroma": Chroma.open,
    "mem0": Mem0.open,
}
# How each was set up, for the record (JSON and RESULTS.md).
ABOUT = {
    "samantha": "memory.store.MemoryStore: remember_batch(new_memory items, dedupe=False), recall(k)",
    "chroma": "chromadb.PersistentClient, hnsw:space cosine, embedding function = the bundled MiniLM, "
    "one add per max batch, query(query_texts, n_results=k)",
    "mem0": "mem0.Memory.from_config: vector store qdrant (local path, embedded), embedder = the bundled "
    "MiniLM, LLM openai at a closed local port (never called), add(infer=False) per turn, "
    "search(top_k=k, threshold=0); no spaCy/fastembed, so semantic search only (Mem0's fallback)",
}


class SocketLog:
    """Every connect and name lookup in the process, by the system running at the time (audit hooks)."""

    def __init__(self) -> None:
        self.current = "setup"
        self.seen: dict[str, list[str]] = {}
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event in ("socket.connect", "socket.getaddrinfo"):
            address = args[1] if event == "socket.connect" else args[:2]
            self.seen.setdefault(self.current, []).append(f"{event} {address!r}")


async def run_one(
    peer: Peer, number: int, conv: LocomoConversation, items: Sequence[NewMemory], ks: list[int], t: Tally
) -> None:
    """Ingest one conversation and ask its questions, as bench.locomo.run_conversation does."""
    started = time.perf_counter()
    await peer.ingest(conv.turns, items)
    t.ingest_s.append(time.perf_counter() - started)
    t.turns.append(len(conv.turns))
    await peer.search("warm up", max(ks))  # first-query setup (index loads); not timed
    for q in conv.questions:
        if not q.gold:
            continue
        ranked: dict[int, list[str]] = {}
        for k in sorted(ks, reverse=True):  # the largest k first: that call is the one timed
            t0 = time.perf_counter()
            ranked[k] = await peer.search(q.question, k)
            if k == max(ks):
                t.latency_ms.append((time.perf_counter() - t0) * 1000)
        t.outcomes.append(locomo_metrics.outcome(number, q.category, q.gold, ranked))


async def benchmark(
    conversations: list[LocomoConversation], systems: Sequence[str], ks: list[int], sockets: SocketLog
) -> dict[str, Any]:
    commit = report.commit()
    embedders = {name: load_embedder() if name == "samantha" else new_embedder() for name in systems}
    tallies = {name: Tally() for name in systems}
    for number, conv in enumerate(conversations):
        items = [locomo_data.new_memory(t) for t in conv.turns]  # shared: every system gets the same text
        order = [*systems[number % len(systems) :], *systems[: number % len(systems)]]
        for name in order:
            tally = tallies[name]
            if tally.blocked:
                continue
            sockets.current = name
            with tempfile.TemporaryDirectory(prefix=f"samantha-peers-{name}-") as tmp:
                try:
                    peer = await OPENERS[name](Path(tmp), embedders[name])
                except ImportError as exc:
                    tally.blocked = f"not installed ({exc}); `make bench` installs the bench extra"
                except Exception as exc:  # e.g. a config its installed version refuses
                    log.exception("%s could not open a store", name)
                    tally.blocked = f"could not open a store: {type(exc).__name__}: {exc}"
                if tally.blocked:
                    log.warning("%s blocked: %s", name, tally.blocked)
                    continue
                try:
                    await run_one(peer, number, conv, items, ks, tally)
                except Exception as exc:  # a peer failing is a result to report, not a crash
                    log.exception("%s failed on %s", name, conv.sample_id)
                    tally.blocked = f"failed on {conv.sample_id}: {type(exc).__name__}: {exc}"
                finally:
                    await peer.aclose()
            got = [o for o in tally.outcomes if o.conversation == number]
            r = sum(o.recall[max(ks)] for o in got) / max(len(got), 1)
            log.info(
                "%s %-8s %4d turns in %.1f s, recall@%d %.3f",
                conv.sample_id,
                name,
                len(conv.turns),
                tally.ingest_s[-1] if tally.ingest_s else 0,
                max(ks),
                r,
            )
        sockets.current = "between"
    return peers_report.result(conversations, tallies, ks, embedders, ABOUT, sockets.seen, commit)


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("chromadb", "mem0ai", "qdrant-client"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def offline_environment(mem0_dir: Path) -> None:
    """Telemetry off and hubs offline, before chromadb or mem0 is imported (they read these at import)."""
    os.environ["ANONYMIZED_TELEMETRY"] = "False"  # Chroma's product telemetry
    os.environ["MEM0_TELEMETRY"] = "False"  # Mem0's telemetry and its first-run notice flags
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Mem0 writes a config.json with an anonymous id under MEM0_DIR (default ~/.mem0) when imported.
    os.environ["MEM0_DIR"] = str(mem0_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N conversations")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10], help="cut-offs to score (default 5 10)")
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma-separated, from: samantha,chroma,mem0"
    )
    parser.add_argument("--data", type=Path, default=locomo_data.DATA_PATH, help="path to locomo10.json")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON output (default bench/results/peers.json)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Mem0 warns once per store that spaCy and fastembed are absent (its documented fallback: semantic
    # search only; the module docstring and the result's config say so).
    for name in ("sentence_transformers", "memory", "httpx", "chromadb", "mem0", "qdrant_client"):
        logging.getLogger(name).setLevel(logging.ERROR if name == "mem0" else logging.WARNING)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    try:
        conversations = locomo_data.load(args.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    conversations = conversations[: args.limit] if args.limit else conversations
    ks = sorted(set(args.k))
    with tempfile.TemporaryDirectory(prefix="samantha-peers-home-") as home:
        offline_environment(Path(home))
        sockets = SocketLog()
        result = asyncio.run(benchmark(conversations, systems, ks, sockets))
    flags = (f" --limit {args.limit}" if args.limit else "") + (
        "" if len(systems) == 3 else f" --systems {args.systems}"
    )
    result["meta"] |= {"command": COMMAND + flags, "versions": _versions()}
    print(result.pop("_table"))
    full = args.limit is None and args.data == locomo_data.DATA_PATH and systems == list(SYSTEMS)
    name = "peers" + (f"_limit{args.limit}" if args.limit else "") + ("" if len(systems) == 3 else "_partial")
    out = args.out or report.RESULTS_DIR / f"{name}.json"
    report.write_json(out, result)
    print(f"wrote {out}")
    if full and not args.no_record:
        report.record_section("peers", peers_report.markdown(result, ks))
        print(f"recorded in {report.RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
