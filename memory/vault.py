"""The database file itself: private to its owner, and encrypted with SQLCipher when given a passphrase.

An encrypted database is read through `sqlcipher3` (SQLCipher 4 with FTS5 built in: AES-256 pages, the
key derived from the passphrase with PBKDF2). Everything SQLite writes, the write-ahead log included, is
then encrypted; the vector index is kept in memory only (rebuilt from the decrypted store at start).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, cast

from persona.errors import SamanthaError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"


class VaultError(SamanthaError):
    """The database cannot be opened as asked; the message says why and what to do."""


def private_dir(directory: Path) -> None:
    """Create a directory only its owner can enter (0700), tightening an existing one that is looser."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        log.info("making %s private to its owner (0700)", directory)
        directory.chmod(0o700)


def private_file(path: Path) -> None:
    """Create a file only its owner can read (0600), or tighten an existing one."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)


def is_encrypted(path: Path) -> bool:
    """Whether the file holds data that is not a plain SQLite database (an encrypted one, here)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return False
    return bool(head) and head != SQLITE_HEADER


def _sqlcipher() -> Any:
    try:
        from sqlcipher3 import dbapi2
    except ImportError as exc:
        raise VaultError("an encrypted data folder needs SQLCipher: pip install sqlcipher3") from exc
    return dbapi2


def open_file(path: Path, passphrase: str | None) -> tuple[sqlite3.Connection, tuple[type[Exception], ...]]:
    """A connection to `path` (made private first), and the exception types its driver raises."""
    # What people tell her is for their eyes only: no other account on the machine may read it.
    private_dir(path.parent)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file == path or file.exists():
            private_file(file)  # SQLite gives the -wal and -shm files it creates the database's mode
    encrypted = is_encrypted(path)
    if passphrase is None:
        if encrypted:
            raise VaultError(
                f"{path} is not a plain SQLite database: if it is encrypted, give its passphrase in "
                "SAMANTHA_PASSPHRASE (or start with --encrypt to be asked for it); if it is damaged, "
                "restore it from a backup"
            )
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn, (sqlite3.DatabaseError,)
    if path.stat().st_size > 0 and not encrypted:
        raise VaultError(
            f"{path} is not encrypted, so a passphrase cannot open it; to encrypt it, run "
            "`samantha memory encrypt` once (or unset SAMANTHA_PASSPHRASE to open it as it is)"
        )
    if not passphrase:
        raise VaultError("the passphrase is empty; choose one you will remember")
    dbapi2 = _sqlcipher()
    raw = dbapi2.connect(str(path), check_same_thread=False, isolation_level=None)
    raw.row_factory = dbapi2.Row
    raw.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is reported here, not logged to stderr
    raw.execute("PRAGMA key = " + quote(passphrase))
    try:
        raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi2.DatabaseError:
        raw.close()
        raise VaultError(f"wrong passphrase for {path}") from None
    return cast(sqlite3.Connection, raw), (sqlite3.DatabaseError, dbapi2.DatabaseError)


def quote(text: str) -> str:
    """A string literal for a PRAGMA, which takes no bound parameters."""
    return "'" + text.replace("'", "''") + "'"


def encrypt_copy(plain: Path, target: Path, passphrase: str) -> None:
    """Write an encrypted copy of a plain database (SQLCipher's own `sqlcipher_export`)."""
    dbapi2 = _sqlcipher()
    private_file(target)
    conn = dbapi2.connect(str(plain), isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"ATTACH DATABASE {quote(str(target))} AS encrypted KEY {quote(passphrase)}")
        conn.execute("SELECT sqlcipher_export('encrypted')")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        conn.execute("DETACH DATABASE encrypted")
    finally:
        conn.close()
