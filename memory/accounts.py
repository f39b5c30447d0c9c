"""Accounts: a name and the hash of an access token (the token itself is shown once and never stored).

Their own small store: `samantha user add` and the token check need no embedder and no memory. The table
lives in the same database as the memories (so an encrypted folder keeps both, under one passphrase), on a
connection of its own; on Postgres (`database`), in the shared database, so every replica knows every
account and a revocation reaches them all at the next message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from memory import db, forget
from memory.models import SHARED, MemoryError_

if TYPE_CHECKING:
    from memory.pg.pool import PgConnections

NAME = re.compile(r"^[a-z0-9_.-]{1,32}$")
T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """An account as listed (no secrets)."""

    name: str
    created_at: str
    revoked_at: str | None


def token_hash(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so a fast hash is enough to make a leak useless."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> None:
    """Refuse names that could not be a user (or that would reach the shared scope)."""
    if name == SHARED or not NAME.match(name):
        raise MemoryError_(f"invalid user name {name!r}: use 1-32 of a-z, 0-9, '_', '.', '-'")


class AccountStore:
    """Users and their token hashes in the data folder's database (or the shared Postgres `database`)."""

    def __init__(self, data_dir: Path, passphrase: str | None = None, *, database: str | None = None) -> None:
        self._pg: PgConnections | None = None
        self._conn: sqlite3.Connection | None = None
        if database is not None:
            from memory.pg.pool import PgConnections  # psycopg loads only for a Postgres database

            self._pg = PgConnections(database, None, max_size=2)
        else:
            self._conn = db.connect(data_dir / db.DB_FILE, passphrase)
        self._lock = threading.Lock()  # one connection: a few quick statements, one at a time

    @classmethod
    async def open(
        cls, data_dir: Path, passphrase: str | None = None, *, database: str | None = None
    ) -> AccountStore:
        """Open (and create or migrate) the database without blocking the event loop."""
        return await asyncio.to_thread(cls, data_dir, passphrase, database=database)

    async def _run(self, query: Callable[..., T], *args: Any, write: bool = False) -> T:
        if self._pg is not None:
            return await asyncio.to_thread(self._pg.write if write else self._pg.read, query, *args)
        conn = self._conn
        assert conn is not None

        def run() -> T:
            with self._lock:
                if not write:
                    return query(conn, *args)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = query(conn, *args)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result

        return await asyncio.to_thread(run)

    async def add(self, name: str) -> str:
        """Create a user (or re-enable a revoked one); returns the new access token, shown only once."""
        check_name(name)
        return await self._run(_add, name, db.now_iso(), write=True)

    async def listed(self) -> list[User]:
        """Every account, oldest first."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT name, created_at, revoked_at FROM users ORDER BY created_at, name"
            ).fetchall()
        )
        return [User(r["name"], r["created_at"], r["revoked_at"]) for r in rows]

    async def revoke(self, name: str) -> bool:
        """Make the user's token stop working (their memories stay); False when there is no such user."""
        sql = "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"
        return await self._run(lambda c: c.execute(sql, (db.now_iso(), name)).rowcount > 0, write=True)

    async def delete(self, name: str) -> bool:
        """Remove the account (memory.forget_user removes what is stored for it); False when there is none."""
        check_name(name)
        sql = "DELETE FROM users WHERE name = ?"
        deleted = await self._run(lambda c: c.execute(sql, (name,)).rowcount > 0, write=True)
        # The name and token hash leave the file too: the write-ahead log (where the delete is) goes into
        # the database, whose old page secure_delete overwrites, and is emptied.
        await self._run(forget.checkpoint)
        return deleted

    async def user_for_token(self, token: str) -> str | None:
        """The active user a token belongs to, if any."""
        sql = "SELECT name FROM users WHERE token_hash = ? AND revoked_at IS NULL"
        row = await self._run(lambda c: c.execute(sql, (token_hash(token),)).fetchone())
        return row["name"] if row else None

    async def ever_existed(self) -> bool:
        """Whether tokens are needed: true as soon as any account was ever created here, for good."""
        return await self._run(_ever_existed)

    async def active_count(self) -> int:
        """How many users can log in (0: the single local user mode)."""
        sql = "SELECT COUNT(*) FROM users WHERE revoked_at IS NULL"
        return int(await self._run(lambda c: c.execute(sql).fetchone()[0]))

    async def aclose(self) -> None:
        """Close the connection (or the pool)."""
        await asyncio.to_thread(self._pg.close if self._pg is not None else self._conn.close)  # type: ignore[union-attr]


def _add(conn: sqlite3.Connection, name: str, stamp: str) -> str:
    row = conn.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
    if row is not None and row["revoked_at"] is None:
        raise MemoryError_(f"user {name!r} already exists; revoke it first to issue a new token")
    token = secrets.token_urlsafe(32)
    while token.startswith("-"):  # `samantha chat --token -x...` would read it as an option (1 in 64)
        token = secrets.token_urlsafe(32)
    # Remembered for good: once an account existed, tokens stay required even if every one is revoked or
    # deleted (app/auth.py); otherwise revoking the last user would open every door.
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('accounts_existed', '1')")
    conn.execute(
        "INSERT INTO users (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
        " token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL",
        (name, token_hash(token), stamp),
    )
    return token


def _ever_existed(conn: sqlite3.Connection) -> bool:
    marked = conn.execute("SELECT 1 FROM meta WHERE key = 'accounts_existed'").fetchone()
    return marked is not None or conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
