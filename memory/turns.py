"""The conversation log: turns and conversations (plain SQL over one connection; callers hold the lock),
and the memory a said turn becomes."""

from __future__ import annotations

import sqlite3
from typing import Any

from memory.extract import importance
from memory.models import Conversation, Role, Turn
from memory.passages import passages
from memory.write import NewMemory


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        row["id"],
        row["user"],
        row["conversation"],
        row["role"],
        row["text"],
        row["created_at"],
        row["status"],
    )


def insert(
    conn: sqlite3.Connection,
    user: str,
    conversation: str,
    role: Role,
    text: str,
    status: str,
    stamp: str,
    learned: bool | None = None,
) -> Turn:
    """Append a turn, creating its conversation on the first one (inside the caller's transaction)."""
    # A said turn is not learned yet unless `learned` says so (an import brings its memories along).
    conn.execute(
        "INSERT OR IGNORE INTO conversations (user, id, created_at) VALUES (?, ?, ?)",
        (user, conversation, stamp),
    )
    cur = conn.execute(
        "INSERT INTO turns (user, conversation, role, text, created_at, status, learned)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user, conversation, role, text, stamp, status, int(role != "user" if learned is None else learned)),
    )
    return Turn(int(cur.lastrowid or 0), user, conversation, role, text, stamp, status)


def recent(conn: sqlite3.Connection, user: str, conversation: str, limit: int) -> list[Turn]:
    """The last `limit` turns of a conversation, oldest first."""
    rows = conn.execute(
        "SELECT * FROM (SELECT * FROM turns WHERE user = ? AND conversation = ? ORDER BY id DESC LIMIT ?)"
        " AS latest ORDER BY id",  # (the alias: Postgres before 16 requires one)
        (user, conversation, limit),
    ).fetchall()
    return [_turn(r) for r in rows]


def unlearned(conn: sqlite3.Connection) -> list[Turn]:
    """Said turns stored but never learned from (the server stopped in between), oldest first."""
    rows = conn.execute("SELECT * FROM turns WHERE learned = 0 AND role = 'user' ORDER BY id").fetchall()
    return [_turn(r) for r in rows]


def reply_to(conn: sqlite3.Connection, said: Turn) -> Turn | None:
    """Her complete reply to `said` (the next turn of its conversation, if hers and not cut off), or None."""
    row = conn.execute(
        "SELECT * FROM turns WHERE user = ? AND conversation = ? AND id > ? ORDER BY id LIMIT 1",
        (said.user, said.conversation, said.id),
    ).fetchone()
    if row is None or row["role"] != "assistant" or row["status"] != "complete" or not row["text"].strip():
        return None
    return _turn(row)


def conversations(conn: sqlite3.Connection, user: str, limit: int) -> list[Conversation]:
    """A user's conversations, most recently active first, each titled by its first message."""
    rows = conn.execute(
        "SELECT c.id, c.created_at, COUNT(t.id) AS n,"
        " (SELECT text FROM turns f WHERE f.user = c.user AND f.conversation = c.id"
        " ORDER BY f.id LIMIT 1) AS first FROM conversations c"
        " LEFT JOIN turns t ON t.user = c.user AND t.conversation = c.id"
        " WHERE c.user = ? GROUP BY c.user, c.id ORDER BY MAX(COALESCE(t.id, 0)) DESC LIMIT ?",
        (user, limit),
    ).fetchall()
    return [Conversation(r["id"], (r["first"] or "")[:80], r["created_at"], r["n"]) for r in rows]


def all_turns(conn: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
    """Every turn of a user as plain data, oldest first (for export)."""
    return [dict(r) for r in conn.execute("SELECT * FROM turns WHERE user = ? ORDER BY id", (user,))]


def memory_text(turn: Turn, speaker: str | None = None) -> str:
    """How a said thing is stored: who said it and when (what the model reads)."""
    return f"[{turn.created_at[:10]}] {speaker or turn.role}: {' '.join(turn.text.split())}"


# Her replies run long (a recipe, a list of ideas); the vector carries their opening words, which say what
# the reply is about, and the full text stays in the lexical index. Embedding cost grows with length, and
# her long replies made ingest several times slower (bench/RESULTS.md, LongMemEval ingest).
HER_EMBEDDED_WORDS = 64


def embedded_text(text: str, speaker: str | None = None) -> str:
    """How a said thing is embedded: the words as said, after the speaker's name when one is given."""
    # Questions to her arrive in the first person from the person who said it, and match the bare words
    # best ("where do I work?" against "I work as a nurse ...": cosine 0.48, against "user said, ..." 0.25).
    # Where named people talk (a conversation between two people), questions name who said what: Caroline
    # said, "..." (the LoCoMo experiments in bench/RESULTS.md: embedding who said what).
    words = " ".join(text.split())
    return f'{speaker} said, "{words}"' if speaker else words


def turn_memory(turn: Turn, speaker: str | None = None, *, created_at: str | None = None) -> NewMemory:
    """The memory a said turn becomes, citing the turn as its source; `speaker` names who said it."""
    return turn_memories(turn, speaker, created_at=created_at, whole=True)[0]


def turn_memories(
    turn: Turn, speaker: str | None = None, *, created_at: str | None = None, whole: bool = False
) -> list[NewMemory]:
    """The memories a said turn becomes: a long message of the person's, one per passage (`whole`: one)."""
    # A long message often carries its news in passing ("...By the way, I went to my third wedding this
    # year"): one vector for all of it is mostly about the rest, and the model embeds only its first
    # MAX_TOKENS. Passages of whole sentences are each found by what they say (bench/RESULTS.md,
    # LongMemEval, "passages"). Her replies stay whole: their opening says what they are about.
    hers = turn.role == "assistant"
    parts = [turn.text] if hers or whole else passages(turn.text)
    out = []
    for part in parts:
        said = Turn(turn.id, turn.user, turn.conversation, turn.role, part, turn.created_at, turn.status)
        text = memory_text(said, speaker)
        embedded = " ".join(part.split()[:HER_EMBEDDED_WORDS]) if hers else part
        out.append(
            NewMemory(
                text,
                "turn",
                importance(text),
                (turn.id,) if turn.id else (),
                created_at=created_at,
                embed_text=embedded_text(embedded, speaker),
                hers=hers,
            )
        )
    return out
