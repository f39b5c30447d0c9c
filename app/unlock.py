"""The passphrase of an encrypted data folder: from SAMANTHA_PASSPHRASE, or asked for on the terminal.

It is never a command-line flag (other accounts can read a process's arguments) and never stored.
"""

from __future__ import annotations

import getpass
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from memory import vault
from memory.db import DatabaseError
from memory.store import DB_FILE

log = logging.getLogger(__name__)
PASSPHRASE_ENV = "SAMANTHA_PASSPHRASE"


def passphrase_for(
    data_dir: Path, *, encrypt: bool = False, ask: Callable[[str], str] | None = None
) -> str | None:
    """The passphrase to open `data_dir` with; None for a plain folder. DatabaseError when one is needed
    but cannot be had (no terminal to ask on), or when the two entries of a new one differ."""
    given = os.environ.get(PASSPHRASE_ENV)
    if given is not None:
        return given
    path = data_dir / DB_FILE
    exists = path.is_file() and path.stat().st_size > 0
    if not (encrypt or vault.is_encrypted(path)):
        return None
    if ask is None:
        if not sys.stdin.isatty():
            raise DatabaseError(f"{path} needs a passphrase: set {PASSPHRASE_ENV} (no terminal to ask on)")
        ask = getpass.getpass
    if exists:
        return ask(f"Passphrase for {path}: ")
    first = ask(f"Choose a passphrase for the new encrypted {path}: ")
    if ask("The same passphrase again: ") != first:
        raise DatabaseError("the two passphrases differ; nothing was created")
    return first


def encrypt_folder(data_dir: Path, passphrase: str) -> None:
    """Turn a plain data folder into an encrypted one (the server must be stopped)."""
    path = data_dir / DB_FILE
    if not path.is_file() or vault.is_encrypted(path):
        raise DatabaseError(f"{path} is not a plain Samantha database; nothing to encrypt")
    with sqlite3.connect(path) as conn:  # the write-ahead log goes into the file first
        if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
            raise DatabaseError(f"{path} is in use; stop the server first")
    conn.close()
    target = path.with_name(DB_FILE + ".encrypting")
    target.unlink(missing_ok=True)
    try:
        vault.encrypt_copy(path, target, passphrase)
    except vault.VaultError as exc:
        raise DatabaseError(str(exc)) from exc
    # The plain file is overwritten before it goes, so its pages do not linger in this file's blocks.
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(b"\0" * size)
        f.flush()
        os.fsync(f.fileno())
    target.replace(path)
    for leftover in (path.with_name(DB_FILE + "-wal"), path.with_name(DB_FILE + "-shm")):
        leftover.unlink(missing_ok=True)
    log.info("encrypted %s", path)
