"""One writer and a pool of readers over one SQLite file (WAL), so a write never makes a read wait.

Every write runs on one thread with its own connection, in a transaction, in the order it was asked for
(as datasette does): SQLite allows one writer at a time anyway, and a queue keeps writes in order. Reads
take a connection of their own from a pool; under WAL each sees the last committed state and never waits
for the writer. So background learning (or a forget rewriting the full-text indexes) does not hold up the
next turn's recall.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from memory import db, vault

log = logging.getLogger(__name__)
T = TypeVar("T")


class Connections:
    """The writer (a thread and its connection) and the readers of one database file."""

    def __init__(self, path: Path, passphrase: str | None, on_rollback: Callable[[], None]) -> None:
        self._path, self._passphrase = path, passphrase
        self._writer = db.connect(path, passphrase)  # migrates and checks the file first
        self._on_rollback = on_rollback  # derived state changed by a rolled-back transaction is stale
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="memory-writer")
        self._writer_ident = self._thread.submit(threading.get_ident).result()
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._idle.put(self._open_reader())  # one now, so a first recall does not pay for opening it

    # -- writing ---------------------------------------------------------------------------------

    def write(self, change: Callable[..., T], *args: Any) -> Future[T]:
        """Run `change(conn, *args)` in one transaction on the writer thread; its result, once committed."""
        return self._submit(self._transaction, change, *args)

    def after_write(self, job: Callable[..., T], *args: Any) -> Future[T]:
        """Run `job(conn, *args)` on the writer thread outside a transaction (checkpoints, saving files)."""
        return self._submit(job, self._writer, *args)

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if threading.get_ident() == self._writer_ident:  # already on the writer: queueing would deadlock
            done: Future[T] = Future()
            try:
                done.set_result(fn(*args))
            except BaseException as exc:
                done.set_exception(exc)
            return done
        return self._thread.submit(fn, *args)

    def _transaction(self, change: Callable[..., T], *args: Any) -> T:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = change(conn, *args)
        except BaseException:
            conn.execute("ROLLBACK")
            self._on_rollback()
            raise
        conn.execute("COMMIT")
        return result

    # -- reading ---------------------------------------------------------------------------------

    def _open_reader(self) -> sqlite3.Connection:
        try:
            conn, _ = vault.open_file(self._path, self._passphrase)
        except vault.VaultError as exc:
            raise db.DatabaseError(str(exc)) from exc
        conn.execute("PRAGMA query_only=ON")  # readers never write: every write goes through the writer
        conn.execute("PRAGMA busy_timeout=5000")
        with self._opened_lock:
            self._opened.append(conn)
        return conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A reader connection for the block, which sees one snapshot (a read transaction) throughout."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open_reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:  # a statement left unfinished by an error: this connection goes
                log.warning("closing a reader connection left in a bad state", exc_info=True)
                self._discard(conn)
            else:
                self._idle.put(conn)

    def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`query(conn, *args, **kwargs)` on a reader connection (blocking)."""
        with self.reading() as conn:
            return query(conn, *args, **kwargs)

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._opened_lock:
            self._opened.remove(conn)
        conn.close()

    def close(self) -> None:
        """Finish every queued write, then close all connections."""
        self._thread.shutdown(wait=True)
        self._writer.close()
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
