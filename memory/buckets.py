"""Token buckets kept in the database (meta), for servers that share one: each turn takes a token.

A bucket is the meta row `rate:<user>` = "<tokens> <unix seconds>". Taking a token reads it, refills it
for the time gone by, and writes it back only if no other server changed it meanwhile (compare and swap,
in both engines' SQL); a server that lost that race reads again. Wall-clock time, since the servers'
monotonic clocks are not comparable.
"""

from __future__ import annotations

import sqlite3

_KEY = "rate:"  # meta key prefix per user
ATTEMPTS = 5  # reads again after losing a race to another server, this many times at most


def take(conn: sqlite3.Connection, user: str, now: float, rate: float, burst: float) -> float:
    """0 when the user may go ahead now (a token taken), else the seconds until they may."""
    key = _KEY + user
    for _ in range(ATTEMPTS):
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        old = row["value"] if row is not None else None
        tokens, last = (float(x) for x in old.split()) if old else (burst, now)
        tokens = min(burst, tokens + max(0.0, now - last) * rate)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
        new = f"{tokens - 1.0 if wait == 0.0 else tokens:.6f} {now:.6f}"
        if old is None:
            cur = conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, new))
        else:
            cur = conn.execute("UPDATE meta SET value = ? WHERE key = ? AND value = ?", (new, key, old))
        if cur.rowcount == 1:
            return wait
    return 1.0 / rate  # the bucket is that contended: ask this one to wait for the next token
