"""The vector index: exact below its limit, approximate (IVF) above, and correct in both for what matters:
a removed id is never returned, a saved index comes back the same, a damaged file is refused."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from memory import candidates
from memory.index import IndexConfig, IndexFiles, VectorIndex
from memory.recall import RecallConfig
from memory.store import MemoryStore
from memory.write import NewMemory

DIM = 32
LIMIT = 400  # small, so the switch happens with a few hundred vectors
SMALL = IndexConfig(exact_limit=LIMIT)


def clustered(n: int, seed: int = 0, centres: int = 40) -> np.ndarray:
    """Normalised vectors around random centres: structured like sentence embeddings, unlike pure noise."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((centres, DIM)).astype(np.float32)
    vectors = base[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def filled(n: int, *, limit: int = LIMIT, seed: int = 0) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    vectors = clustered(n, seed)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    index = VectorIndex(DIM, IndexConfig(exact_limit=limit))
    index.add(ids, vectors)
    return index, ids, vectors


def exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in ids[np.argsort(-(vectors @ query))[:k]]]


def test_exact_at_the_limit_and_approximate_past_it() -> None:
    index, ids, _ = filled(LIMIT)
    assert not index.approximate and len(index) == LIMIT
    extra = clustered(1, seed=9)
    index.add(np.array([5], dtype=np.int64), extra)
    assert index.approximate and len(index) == LIMIT + 1
    assert sorted(index.ids().tolist()) == sorted([*ids.tolist(), 5])
    assert index.search(extra[0], 1)[0][0] == 5  # the vector just added is found


def test_adding_one_by_one_switches_too() -> None:
    index = VectorIndex(DIM, SMALL)
    vectors = clustered(LIMIT + 5)
    for i, vector in enumerate(vectors):
        index.add(np.array([i + 1], dtype=np.int64), vector.reshape(1, -1))
    assert index.approximate
    assert sorted(index.ids().tolist()) == list(range(1, LIMIT + 6))


def test_approximate_search_finds_what_exact_search_finds() -> None:
    index, ids, vectors = filled(4000)
    assert index.approximate
    queries = clustered(50, seed=1)
    found = [
        len({i for i, _ in index.search(q, 10)} & set(exact_top(vectors, ids, q, 10))) / 10 for q in queries
    ]
    assert float(np.mean(found)) >= 0.9
    scores = [s for _, s in index.search(queries[0], 10)]
    assert scores == sorted(scores, reverse=True)  # best first, cosines
    assert all(-1.0 - 1e-5 <= s <= 1.0 + 1e-5 for s in scores)


def test_the_cells_are_retrained_as_the_index_grows() -> None:
    index, _, _ = filled(LIMIT + 1)
    first = index.trained_for
    more = clustered(SMALL.regrow * LIMIT, seed=3)
    index.add(np.arange(1, len(more) + 1, dtype=np.int64), more)
    assert index.trained_for > first
    assert len(index) == LIMIT + 1 + len(more)


@pytest.mark.parametrize("n", [50, 2000], ids=["exact", "approximate"])
def test_a_removed_id_is_never_returned(n: int) -> None:
    index, ids, vectors = filled(n)
    gone = [int(i) for i in ids[::3]]
    index.remove(gone)
    assert len(index) == n - len(gone)
    assert not set(gone) & set(index.ids().tolist())
    for row in range(0, n, 3):  # query with the removed vectors themselves
        assert not {i for i, _ in index.search(vectors[row], 20)} & set(gone)
    index.remove([123456789])  # unknown ids are ignored
    assert len(index) == n - len(gone)


def test_removing_most_of_an_approximate_index_makes_it_exact_again() -> None:
    index, ids, _ = filled(LIMIT + 100)
    assert index.approximate
    index.remove([int(i) for i in ids[: LIMIT // 2 + 101]])
    assert not index.approximate
    assert sorted(index.ids().tolist()) == [int(i) for i in ids[LIMIT // 2 + 101 :]]


@pytest.mark.parametrize("n", [50, 2000], ids=["exact", "approximate"])
def test_save_and_load_round_trip(tmp_path: Path, n: int) -> None:
    index, _, vectors = filled(n)
    path = tmp_path / "scope.faiss"
    index.save(path)
    assert not index.dirty and not path.with_suffix(".tmp").exists()
    loaded = VectorIndex.load(path, DIM, SMALL)
    assert loaded is not None
    assert loaded.approximate == index.approximate
    assert np.array_equal(np.sort(loaded.ids()), np.sort(index.ids()))
    for q in vectors[:20]:
        assert loaded.search(q, 5) == index.search(q, 5)


def test_a_damaged_or_foreign_file_is_refused(tmp_path: Path) -> None:
    index, _, _ = filled(2000)
    path = tmp_path / "scope.faiss"
    index.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut short
    assert VectorIndex.load(path, DIM) is None
    path.write_bytes(b"not an index at all")
    assert VectorIndex.load(path, DIM) is None
    index.save(path)
    assert VectorIndex.load(path, DIM + 1) is None  # another embedder's dimension
    assert VectorIndex.load(tmp_path / "missing.faiss", DIM) is None


class HashEmbedder:
    """A deterministic stand-in for MiniLM: words hashed into a normalised bag-of-words vector."""

    name = "hash-bow"
    dim = DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int.from_bytes(word.encode()[:8].ljust(8, b"_"), "little") % DIM] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-6)
        return out


async def test_a_store_past_the_limit_forgets_for_real_and_reloads(tmp_path: Path) -> None:
    store = await MemoryStore.open(tmp_path / "data", HashEmbedder(), index_config=SMALL)
    items = [NewMemory(f"note number {i} about topic {i % 37}", "turn") for i in range(LIMIT + 50)]
    stored = await store.remember_batch("ana", items, vectors=clustered(len(items)), dedupe=False)
    assert store.index("ana").approximate
    target = stored[7]
    assert target is not None
    assert await store.forget("ana", target.id) == 1
    recalled = await store.recall("ana", target.text, k=10)
    assert target.id not in {r.memory.id for r in recalled}
    await store.aclose()

    reopened = await MemoryStore.open(tmp_path / "data", HashEmbedder(), index_config=SMALL)
    assert reopened.index("ana").approximate  # loaded from its file, not rebuilt as exact
    left = len(items) - 1
    assert (await reopened.verify())["ana"] == {"rows": left, "vectors": left, "consistent": True}
    assert IndexFiles(tmp_path / "data" / "index", "hash-bow", DIM).matches_embedder()
    await reopened.aclose()


async def test_lexical_recall_stays_bounded_and_per_user(tmp_path: Path) -> None:
    """Words matching more memories than recall ranks are left out; a rare word still finds its memory, even
    when another user holds many better matches for it."""
    config = RecallConfig(ranked_matches=30)
    store = await MemoryStore.open(tmp_path / "data", HashEmbedder(), recall_config=config)
    common = [NewMemory(f"went to the market again day {i}", "turn") for i in range(60)]
    await store.remember_batch("ana", common, vectors=clustered(len(common), seed=5), dedupe=False)
    others = [NewMemory(f"zanzibar zanzibar trip plan {i}", "turn") for i in range(20)]
    await store.remember_batch("bob", others, vectors=clustered(len(others), seed=6), dedupe=False)
    # Said in another sitting, so it is not the context of the last market turn.
    postcard = NewMemory("a postcard from zanzibar", "turn", created_at="2020-01-01T12:00:00+00:00")
    [mine] = await store.remember_batch("ana", [postcard], dedupe=False)
    assert mine is not None
    # "market" (60 matches) is left out; bob's 20 better "zanzibar" matches fill the first ranking of 4 * 4
    # rows, so the search runs again over every match.
    lexical = store._db.read(candidates.lexical, ["ana"], "the market in zanzibar", 4, config.ranked_matches)
    assert list(lexical) == [mine.id]
    await store.aclose()
