"""SQLite schema and ordered migrations; WAL; one connection per store."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from memory import vault
from persona.clock import Clock, SystemClock, iso
from persona.errors import SamanthaError

log = logging.getLogger(__name__)


class DatabaseError(SamanthaError):
    """The database file cannot be used; the message names the file and what to do."""


# Ordered migrations: index i takes the schema from version i to i + 1. Never edit one that shipped.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE conversations (
        user TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (user, id));
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY, user TEXT NOT NULL, conversation TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), text TEXT NOT NULL,
        created_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'complete');
    CREATE INDEX turns_by_conversation ON turns (user, conversation, id);
    CREATE TABLE memories (
        id INTEGER PRIMARY KEY, user TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
        created_at TEXT NOT NULL, importance REAL NOT NULL DEFAULT 0.5, content_hash TEXT NOT NULL,
        valid_to TEXT, recall_count INTEGER NOT NULL DEFAULT 0, last_recalled TEXT,
        embedding BLOB NOT NULL);
    CREATE UNIQUE INDEX memories_by_hash ON memories (user, kind, content_hash);
    CREATE INDEX memories_by_user ON memories (user, kind, id);
    CREATE TABLE memory_sources (
        memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        turn_id INTEGER NOT NULL, PRIMARY KEY (memory_id, turn_id));
    CREATE INDEX memory_sources_by_turn ON memory_sources (turn_id);
    CREATE VIRTUAL TABLE memories_fts USING fts5 (
        text, content='memories', content_rowid='id', tokenize='porter unicode61');
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts (rowid, text) VALUES (new.id, new.text); END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
    CREATE TRIGGER memories_au AFTER UPDATE OF text ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO memories_fts (rowid, text) VALUES (new.id, new.text); END;
    """,
    # 2: facts carry the key of what they are about; a newer fact of the same key supersedes the old one.
    """
    ALTER TABLE memories ADD COLUMN fact_key TEXT;
    CREATE INDEX memories_by_fact ON memories (user, fact_key) WHERE fact_key IS NOT NULL;
    """,
    # 3: accounts; only a hash of each access token is kept.
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT);
    """,
    # 4: a remembered turn knows the one said just before it in the same sitting (memory/context.py), and
    # lexical recall ranks each memory in its context: with the turns said just before and after it.
    # Existing turns are linked the same way; the triggers come last so the backfill does not fire them.
    """
    ALTER TABLE memories ADD COLUMN thread_prev INTEGER;
    UPDATE memories SET thread_prev = (
        SELECT p.id FROM memories p WHERE p.user = memories.user AND p.kind = 'turn' AND p.id < memories.id
        ORDER BY p.id DESC LIMIT 1)
      WHERE kind = 'turn';
    UPDATE memories SET thread_prev = NULL WHERE thread_prev IS NOT NULL AND 86400 * abs(julianday(created_at)
        - julianday((SELECT p.created_at FROM memories p WHERE p.id = memories.thread_prev))) > 3600;
    CREATE INDEX memories_by_thread ON memories (thread_prev) WHERE thread_prev IS NOT NULL;
    CREATE VIEW memory_context (id, text) AS
      SELECT m.id, coalesce((SELECT p.text FROM memories p WHERE p.id = m.thread_prev) || ' ', '') || m.text
        || coalesce(' ' || (
          SELECT n.text FROM memories n WHERE n.thread_prev = m.id ORDER BY n.id LIMIT 1), '')
      FROM memories m;
    CREATE VIRTUAL TABLE context_fts USING fts5 (text, tokenize='porter unicode61');
    INSERT INTO context_fts (rowid, text) SELECT id, text FROM memory_context;
    CREATE TRIGGER context_ai AFTER INSERT ON memories BEGIN
        INSERT INTO context_fts (rowid, text) SELECT id, text FROM memory_context WHERE id = new.id;
        DELETE FROM context_fts WHERE rowid = new.thread_prev;
        INSERT INTO context_fts (rowid, text) SELECT id, text FROM memory_context WHERE id = new.thread_prev;
    END;
    CREATE TRIGGER context_ad AFTER DELETE ON memories BEGIN
        DELETE FROM context_fts WHERE rowid = old.id;
        UPDATE memories SET thread_prev = old.thread_prev WHERE thread_prev = old.id;
        DELETE FROM context_fts WHERE rowid = old.thread_prev;
        INSERT INTO context_fts (rowid, text) SELECT id, text FROM memory_context WHERE id = old.thread_prev;
    END;
    CREATE TRIGGER context_au AFTER UPDATE OF thread_prev ON memories BEGIN
        DELETE FROM context_fts WHERE rowid IN (new.id, old.thread_prev, new.thread_prev);
        INSERT INTO context_fts (rowid, text)
          SELECT id, text FROM memory_context WHERE id IN (new.id, old.thread_prev, new.thread_prev);
    END;
    """,
    # 5: a said turn is marked learned in the transaction that stores what was learned from it, so one cut
    # short by a crash is learned at the next start. Turns already stored count as learned.
    """
    ALTER TABLE turns ADD COLUMN learned INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX turns_unlearned ON turns (id) WHERE learned = 0;
    """,
    # 6: a plan (kind 'plan') has a day it is due; after it she asks its follow_up once (then followed_up is
    # set), unless the person said not to ask (hushed). memory/plans.py.
    """
    ALTER TABLE memories ADD COLUMN due TEXT;
    ALTER TABLE memories ADD COLUMN followed_up TEXT;
    ALTER TABLE memories ADD COLUMN hushed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE memories ADD COLUMN follow_up TEXT;
    CREATE INDEX memories_due ON memories (user, due) WHERE due IS NOT NULL;
    """,
    # 7: her mood: each change with its cause and the turn that caused it (memory/mood.py); it fades with
    # time when read, so nothing needs to rewrite it.
    """
    CREATE TABLE moods (
        id INTEGER PRIMARY KEY, user TEXT NOT NULL, at TEXT NOT NULL, valence REAL NOT NULL,
        energy REAL NOT NULL, cause TEXT NOT NULL, turn_id INTEGER);
    CREATE INDEX moods_by_user ON moods (user, id);
    """,
    # 8: her self-model: things she has come to like, think or wonder, proposed from her journal and kept
    # or undone by the person; every row stays, as the history of who she became (memory/selfmodel.py).
    """
    CREATE TABLE self_notes (
        id INTEGER PRIMARY KEY, user TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('like', 'think', 'wonder')),
        text TEXT NOT NULL, narration TEXT NOT NULL, theme TEXT NOT NULL, sources TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'kept', 'undone')),
        created_at TEXT NOT NULL, decided_at TEXT);
    CREATE UNIQUE INDEX self_notes_by_theme ON self_notes (user, theme);
    """,
    # 9: her own words as memories (what she told the person): recalled, but weighed below what they said.
    """
    ALTER TABLE memories ADD COLUMN hers INTEGER NOT NULL DEFAULT 0;
    """,
]


def connect(path: Path, passphrase: str | None = None) -> sqlite3.Connection:
    """Open (or create) the database at `path`, migrate it, and refuse clearly if it is not ours."""
    # With a passphrase the database is encrypted (memory/vault.py); a wrong one is refused.
    try:
        conn, errors = vault.open_file(path, passphrase)
    except vault.VaultError as exc:
        raise DatabaseError(str(exc)) from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten with zeros, not left in free pages: forgetting must be real.
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    except errors as exc:
        conn.close()
        raise DatabaseError(
            f"{path} is not a readable Samantha database ({exc}); move it aside to start fresh, "
            "or restore it from a backup"
        ) from exc
    if check != "ok":
        conn.close()
        raise DatabaseError(f"{path} failed SQLite's integrity check ({check}); restore it from a backup")
    if version > len(MIGRATIONS):
        conn.close()
        raise DatabaseError(f"{path} was written by a newer Samantha (schema {version}); upgrade to read it")
    for number in range(version, len(MIGRATIONS)):
        log.info("migrating %s to schema %d", path, number + 1)
        conn.executescript(f"BEGIN;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
    return conn


# The database's file name in a data folder: the memory store and the accounts store both open it.
DB_FILE = "samantha.db"


def now_iso(clock: Clock | None = None) -> str:
    """The clock's time (the machine's by default) as the database stores times: ISO 8601 with offset."""
    return iso((clock or SystemClock()).now())
