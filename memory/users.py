"""Accounts: a name and the hash of an access token (the token itself is shown once and never stored)."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass

from memory.models import SHARED, MemoryError_

NAME = re.compile(r"^[a-z0-9_.-]{1,32}$")


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


def add(conn: sqlite3.Connection, name: str, stamp: str) -> str:
    """Create the user, or give a revoked user a new token; returns the new token."""
    check_name(name)
    row = conn.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
    if row is not None and row["revoked_at"] is None:
        raise MemoryError_(f"user {name!r} already exists; revoke it first to issue a new token")
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


def listed(conn: sqlite3.Connection) -> list[User]:
    """Every account, oldest first."""
    rows = conn.execute("SELECT name, created_at, revoked_at FROM users ORDER BY created_at, name").fetchall()
    return [User(r["name"], r["created_at"], r["revoked_at"]) for r in rows]


def revoke(conn: sqlite3.Connection, name: str, stamp: str) -> bool:
    """Make the user's token stop working (their memories stay); False when there is no such user."""
    cur = conn.execute("UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (stamp, name))
    return cur.rowcount > 0


def for_token(conn: sqlite3.Connection, token: str) -> str | None:
    """The active user a token belongs to, if any."""
    row = conn.execute(
        "SELECT name FROM users WHERE token_hash = ? AND revoked_at IS NULL", (token_hash(token),)
    ).fetchone()
    return row["name"] if row else None


def active_count(conn: sqlite3.Connection) -> int:
    """How many users can log in."""
    return int(conn.execute("SELECT COUNT(*) FROM users WHERE revoked_at IS NULL").fetchone()[0])


def ever_existed(conn: sqlite3.Connection) -> bool:
    """Whether any account was ever created here (revoked and deleted ones count)."""
    marked = conn.execute("SELECT 1 FROM meta WHERE key = 'accounts_existed'").fetchone()
    return marked is not None or conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def delete_everything(conn: sqlite3.Connection, name: str) -> int:
    """Remove the account and all that is stored for it; returns how many memories went."""
    check_name(name)
    memories = conn.execute("DELETE FROM memories WHERE user = ?", (name,)).rowcount
    conn.execute("DELETE FROM turns WHERE user = ?", (name,))
    conn.execute("DELETE FROM conversations WHERE user = ?", (name,))
    conn.execute("DELETE FROM users WHERE name = ?", (name,))
    return int(memories)
