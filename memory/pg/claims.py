"""What servers sharing one database must not do twice at once, settled in the database.

- A person's memory writes: one at a time, under the person's advisory lock (superseding a fact,
  de-duplicating and linking a turn to the one before it read what the person already has; two servers
  doing that at once would each miss the other's row).
- Finishing learning that a crash cut short: each turn by one server. One starting while another is still
  learning from a turn it just answered leaves that turn alone (LEARNING_GRACE); two starting together
  after a crash claim each turn, and only one claim can be made (her mood would otherwise move twice). A
  claim is a meta row that lapses after LEARNING_LEASE, so a claimer that died is replaced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from memory.models import Turn
from memory.pg.compat import Connection
from persona.clock import instant, iso

# A turn said this recently may still be being learned by the server that answered it.
LEARNING_GRACE = timedelta(minutes=2)
# A claim to finish a turn's learning lapses after this (the server that claimed it died meanwhile).
LEARNING_LEASE = timedelta(minutes=10)


def lock_user(conn: Connection, user: str) -> None:
    """Hold the user's advisory lock until the transaction ends: their memory writes apply one at a time."""
    conn.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", (user,))


def claim_learning(conn: Connection, said: Turn, now: datetime) -> bool:
    """Claim the unfinished learning of a turn for this server: True for exactly one claimer at a time,
    and for none while the turn is younger than LEARNING_GRACE."""
    if instant(said.created_at) > now - LEARNING_GRACE:
        return False
    cur = conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        " WHERE meta.value < ?",
        (f"learning:{said.id}", iso(now), iso(now - LEARNING_LEASE)),
    )
    return cur.rowcount == 1
