"""Connections to one Postgres database: a pool, reads in one snapshot, writes in retried transactions.

Postgres, not a writer thread, keeps concurrent writes apart here: any number of servers write to the same
database. A write that lost a race (two replicas storing the same words, a deadlock, a serialization
failure) is run again from the start, a few times, before it fails; so a `change` must be a plain function
of its connection, as memory's SQL modules are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors
from psycopg_pool import ConnectionPool

from memory.db import DatabaseError
from memory.pg import schema
from memory.pg.compat import Connection, row_factory

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 5
_RACES = (errors.UniqueViolation, errors.DeadlockDetected, errors.SerializationFailure)


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the database URL"
    host, port = info.get("host") or "localhost", info.get("port") or 5432
    return f"postgresql://{info.get('user') or ''}@{host}:{port}/{info.get('dbname') or ''}"


def connect(url: str) -> psycopg.Connection[Any]:
    """One connection, or a DatabaseError saying which database could not be reached and why."""
    try:
        return psycopg.connect(url, connect_timeout=10)
    except (psycopg.Error, ValueError) as exc:
        raise DatabaseError(f"cannot connect to {safe_url(url)}: {str(exc).strip()}") from exc


class PgConnections:
    """A pool of connections to a migrated database; `read` and `write` run a function on one (blocking)."""

    def __init__(self, url: str, dim: int | None, *, max_size: int = 8) -> None:
        self.url = url
        with connect(url) as first:  # reachable, and ours: migrated first, before the pool opens
            schema.migrate(first, dim)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            configure=self._configure,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not used
            open=True,
            name="samantha",
        )

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        register_vector(conn)  # the extension exists: migration 1 made it
        conn.row_factory = row_factory
        conn.commit()

    def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`query(conn, *args)` in a read-only transaction that sees one snapshot throughout."""
        with self._pool.connection() as raw:
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return query(Connection(raw), *args, **kwargs)

    def write(self, change: Callable[..., T], *args: Any) -> T:
        """`change(conn, *args)` in one transaction, committed on return; run again if it lost a race."""
        for attempt in range(1, RETRIES + 1):
            try:
                with self._pool.connection() as raw:
                    return change(Connection(raw), *args)
            except _RACES as exc:
                if attempt == RETRIES:
                    raise
                log.info("a write lost a race (%s); running it again", type(exc).__name__)
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def autocommit(self, statement: str) -> None:
        """Run a statement outside any transaction (VACUUM)."""
        with self._pool.connection() as raw:
            raw.autocommit = True
            try:
                raw.execute(statement)
            finally:
                raw.autocommit = False

    def close(self) -> None:
        """Close every connection."""
        self._pool.close()
