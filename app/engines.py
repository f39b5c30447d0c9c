"""Which memory engine a configuration names: the embedded store in the data folder, or Postgres.

One function for every door that opens memory (the server's start-up, `samantha memory`, `samantha user`),
so `--database` / SAMANTHA_DATABASE means the same everywhere.
"""

from __future__ import annotations

import asyncio

from app.config import DataSettings
from memory import db
from memory.accounts import AccountStore
from memory.embedder import Embedder
from memory.store import DB_FILE, MemoryStore
from memory.store_base import MemoryEngine
from persona.clock import Clock


async def check_database(settings: DataSettings, passphrase: str | None) -> None:
    """Refuse a bad database (or passphrase), or one that cannot be reached, at once: before the
    embedder's seconds of loading."""
    if settings.database is None:
        await asyncio.to_thread(lambda: db.connect(settings.data_dir / DB_FILE, passphrase).close())
        return
    from memory.pg.pool import connect

    url = settings.database
    await asyncio.to_thread(lambda: connect(url).close())


async def open_memory(
    settings: DataSettings, embedder: Embedder, passphrase: str | None = None, clock: Clock | None = None
) -> MemoryEngine:
    """The memory engine the settings name: Postgres for `database`, else the embedded store."""
    if settings.database is None:
        return await MemoryStore.open(settings.data_dir, embedder, passphrase, clock=clock)
    from memory.pg.store import PgMemoryStore  # psycopg loads only for a Postgres database

    return await PgMemoryStore.open(settings.database, embedder, clock=clock)


async def open_accounts(settings: DataSettings, passphrase: str | None = None) -> AccountStore:
    """Accounts beside the memories: in the data folder's database, or in the Postgres one."""
    return await AccountStore.open(settings.data_dir, passphrase, database=settings.database)
