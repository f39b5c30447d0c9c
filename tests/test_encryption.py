"""The data folder encrypted at rest: no stored word in any file, a wrong passphrase refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from memory.embedder import Embedder
from memory.store import DB_FILE, MemoryStore
from tests.process import free_port, run_cli

pytest.importorskip("sqlcipher3")

PASSPHRASE = "correct horse battery staple"
WORDS = ("cardamom", "Wolverhampton", "Pickle", "lonely")


def files_holding(data_dir: Path, word: str) -> list[str]:
    """Files under the data dir whose bytes contain the word (in any letter case)."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes().lower()
            if word.lower().encode() in data:
                found.append(str(path.relative_to(data_dir)))
    return found


async def test_nothing_she_was_told_is_readable_in_the_data_folder(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMANTHA_PASSPHRASE", PASSPHRASE)
    server = await make_server(encrypt=True)
    chat = await server.chat("c1")
    await chat.turn("My grandmother's secret recipe uses cardamom.")
    await chat.turn("I grew up in Wolverhampton and my cat is called Pickle.")
    await chat.turn("I feel lonely on Sundays.")
    await server.restart()  # the vectors come back from the decrypted store
    chat = await server.chat("c2")
    frames = await chat.turn("What is my cat called?")
    assert any("Pickle" in m["text"] for m in frames[0]["memories"])
    async with httpx.AsyncClient(base_url=server.url) as http:
        export = (await http.get("/api/export")).text
        assert all(word in export for word in WORDS)  # export works, in the clear, to its owner
        found = (await http.get("/api/memories", params={"q": "lonely"})).json()
        lonely = next(m for m in found if "user:" in m["text"])  # what they said, not her reply
        assert (await http.delete(f"/api/memories/{lonely['id']}")).status_code == 200
        assert "lonely" not in (await http.get("/api/export")).text  # forgetting works too
    data_dir = server.settings.data_dir
    for word in WORDS:
        assert files_holding(data_dir, word) == [], word  # while she runs (the WAL is encrypted too)
    await server.stop()
    for word in WORDS:
        assert files_holding(data_dir, word) == [], word
    assert not (data_dir / "index").exists()  # no vector index on disk


async def test_a_wrong_or_missing_passphrase_is_refused_in_one_line(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    store = await MemoryStore.open(data, embedder, PASSPHRASE)
    await store.remember("me", "[2026-11-21] user: my cat is called Pickle", kind="turn")
    await store.aclose()
    serve = (
        "serve",
        "--backend",
        "echo",
        "--data-dir",
        str(data),
        "--seeds-dir",
        "",
        "--port",
        str(free_port()),
    )
    monkeypatch.setenv("SAMANTHA_PASSPHRASE", "not the passphrase")
    wrong = run_cli(*serve)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert [line for line in wrong.stderr.splitlines() if line] == [
        f"samantha: wrong passphrase for {data / DB_FILE}"
    ]
    monkeypatch.delenv("SAMANTHA_PASSPHRASE")
    missing = run_cli(*serve)  # no terminal to ask on
    assert (
        missing.returncode == 2
        and "SAMANTHA_PASSPHRASE" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    store = await MemoryStore.open(data, embedder, PASSPHRASE)  # nothing was damaged
    assert [m.text for m in await store.memories("me")] == ["[2026-11-21] user: my cat is called Pickle"]
    await store.aclose()


async def test_a_plain_folder_can_be_encrypted(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    store = await MemoryStore.open(data, embedder)
    await store.remember("me", "[2026-11-21] user: I grew up in Wolverhampton", kind="turn")
    await store.aclose()
    assert files_holding(data, "Wolverhampton")
    monkeypatch.setenv("SAMANTHA_PASSPHRASE", PASSPHRASE)
    serve = (
        "serve",
        "--backend",
        "echo",
        "--data-dir",
        str(data),
        "--seeds-dir",
        "",
        "--port",
        str(free_port()),
    )
    refused = run_cli(*serve)  # a passphrase does not silently open (or replace) a plain folder
    assert refused.returncode == 2 and "samantha memory encrypt" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run_cli("memory", "--data-dir", str(data), "encrypt")
    assert done.returncode == 0, done.stderr
    assert files_holding(data, "Wolverhampton") == []
    store = await MemoryStore.open(data, embedder, PASSPHRASE)
    recalled = await store.recall("me", "Where did I grow up?", k=3, shared=False)
    assert recalled and "Wolverhampton" in recalled[0].memory.text
    await store.aclose()
