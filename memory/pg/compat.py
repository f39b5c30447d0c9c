"""The part of sqlite3's connection that memory's SQL modules use, on a psycopg connection.

Memory's SQL (memory/write.py, turns.py, forget.py, rows.py, context.py and the inner-life modules) is
written once, in the subset both engines speak, so the Postgres engine keeps the embedded one's semantics
by running the very same statements. What differs is small and mechanical, and translated here once per
statement text (cached): `?` placeholders become `%s`; the column `user`, a reserved word in Postgres, is
quoted; `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `INSERT OR REPLACE INTO meta` an upsert of its
key; and an INSERT into a table with a generated id returns it, for `lastrowid`. Anything specific to one
engine's search (FTS5 against tsvector, FAISS against pgvector) is not translated: each engine has its own
module for it (memory/candidates.py, memory/pg/search.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg

# Tables whose `id` Postgres generates: an INSERT into them returns it (sqlite3's `lastrowid`).
_GENERATED_IDS = frozenset({"turns", "memories", "moods", "self_notes"})
# The key of each table that `INSERT OR REPLACE` may replace a row of.
_REPLACE_KEYS = {"meta": ("key", "value")}
_STRING = re.compile(r"('(?:[^']|'')*')")
_USER = re.compile(r'(?<!["\w])user(?!["\w])')
_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)", re.IGNORECASE)


class UnsupportedSQL(ValueError):
    """A statement uses SQLite syntax this translation does not cover (a bug of ours, named at once)."""


class Row(tuple[Any, ...]):
    """A row readable by position and by column name, like sqlite3.Row (and `dict(row)` works)."""

    _names: tuple[str, ...]

    def __new__(cls, values: Iterable[Any], names: tuple[str, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def row_factory(cursor: Any) -> Any:
    """psycopg row factory making `Row`s."""
    names = tuple(c.name for c in cursor.description or ())
    return lambda values: Row(values, names)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, bool]:
    """SQLite's statement as Postgres reads it, and whether it now returns the generated id."""
    # psycopg reads `%` everywhere, string literals included; the rest only outside them (odd indexes).
    parts = _STRING.split(sql.replace("%", "%%"))
    for i in range(0, len(parts), 2):
        parts[i] = _USER.sub('"user"', parts[i].replace("?", "%s"))
    out = "".join(parts).strip().rstrip(";")
    if "julianday(" in out or "json_each(" in out or "PRAGMA" in out:
        raise UnsupportedSQL(f"SQLite-only SQL reached Postgres: {sql.strip()[:80]}")
    insert = _INSERT.match(out)
    if insert is None:
        return out, False
    mode, table = (insert.group(1) or "").upper(), insert.group(2)
    out = _INSERT.sub(f"INSERT INTO {table}", out, count=1)
    if mode == "IGNORE":
        out += " ON CONFLICT DO NOTHING"
    elif mode == "REPLACE":
        if table not in _REPLACE_KEYS:
            raise UnsupportedSQL(f"INSERT OR REPLACE INTO {table}: no key known to replace on")
        key, value = _REPLACE_KEYS[table]
        out += f" ON CONFLICT ({key}) DO UPDATE SET {value} = EXCLUDED.{value}"
    returns = table in _GENERATED_IDS and "RETURNING" not in out.upper()
    return (out + " RETURNING id", True) if returns else (out, False)


class Cursor:
    """What a statement left: rows to fetch, `rowcount`, and `lastrowid` after an INSERT."""

    def __init__(self, cursor: psycopg.Cursor[Any], returned_id: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        if returned_id:
            row = cursor.fetchone()
            self.lastrowid = int(row[0]) if row is not None else None

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class Connection:
    """A psycopg connection that runs memory's SQLite-dialect statements (inside the caller's transaction)."""

    dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn  # Postgres-only SQL (memory/pg/) goes straight to it

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with `?` placeholders."""
        text, returns = translate(sql)
        cursor = self.raw.cursor()
        cursor.execute(text, tuple(params))
        return Cursor(cursor, returns)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each set of parameters."""
        text, _ = translate(sql)
        with self.raw.cursor() as cursor:
            cursor.executemany(text, [tuple(p) for p in seq])
