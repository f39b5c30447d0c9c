"""`samantha memory list | forget | export | import`: look after the memory database from the terminal.

These open the data directory directly. Run them while the server is stopped (or use the HTTP API while it
runs): a running server would keep its own copy of the vector index until it restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.config import DataSettings, describe_errors
from memory.db import DatabaseError
from memory.models import KINDS, MemoryError_

if TYPE_CHECKING:  # the memory stack (numpy, faiss, torch) loads only when a command runs
    from memory.store_base import MemoryEngine


def add_memory_commands(commands: Any) -> None:
    """Register `samantha memory ...` on the top-level subparsers."""
    memory = commands.add_parser("memory", help="List, forget, export or import what she remembers.")
    memory.add_argument(
        "--data-dir", type=Path, help="Data directory [env SAMANTHA_DATA_DIR; default ./data]"
    )
    memory.add_argument("--user", help="Whose memories [env SAMANTHA_USER; default: me]")
    memory.add_argument(
        "--database",
        help="A Postgres database (postgresql://...) instead of the data folder [env SAMANTHA_DATABASE]",
    )
    actions = memory.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="List memories, newest first.")
    listing.add_argument("--kind", choices=KINDS, help="Only this kind.")
    listing.add_argument("--query", "-q", help="Only memories containing these words.")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    forget = actions.add_parser("forget", help="Forget a memory (and what was learned from it) for good.")
    forget.add_argument("id", type=int, help="The memory id (see `samantha memory list`).")
    forget.add_argument(
        "--turn", action="store_true", help="The id is a turn id: forget the turn and its memories."
    )
    export = actions.add_parser("export", help="Write everything stored for the user as JSON.")
    export.add_argument("file", nargs="?", type=Path, help="Output file (default: standard output).")
    actions.add_parser(
        "check", help="Check that the vector index agrees with the database (rebuilds it if not)."
    )
    importing = actions.add_parser("import", help="Read an export back in (memories are embedded again).")
    importing.add_argument("file", type=Path, help="A file written by `samantha memory export`.")
    migrate = actions.add_parser(
        "migrate",
        help="Copy the data folder into an empty Postgres database, then check the copy (row counts, and a "
        "sample of recalls asked of both).",
    )
    migrate.add_argument("--to", required=True, help="The Postgres database: postgresql://USER@HOST/NAME.")
    migrate.add_argument("--sample", type=int, default=10, help="Questions per user for the recall check.")
    actions.add_parser(
        "encrypt",
        help="Encrypt the data folder (SQLCipher) with a passphrase (SAMANTHA_PASSPHRASE, or asked for); "
        "stop the server first.",
    )


def _settings(args: argparse.Namespace) -> DataSettings:
    given: dict[str, Any] = {}
    if args.data_dir is not None:
        given["data_dir"] = args.data_dir
    if args.user is not None:
        given["user"] = args.user
    if args.database is not None:
        given["database"] = args.database
    return DataSettings(**given)


async def run_memory_command(args: argparse.Namespace) -> int:
    """Carry out one `samantha memory` action; 0 on success, 1 when nothing matched, 2 on bad input."""
    from app.engines import open_memory
    from app.unlock import encrypt_folder, passphrase_for
    from memory.embedder import load_embedder

    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"samantha memory: {describe_errors(exc)}", file=sys.stderr)
        return 2
    if args.action == "import":
        try:
            data = json.loads(args.file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("memories"), list):
                raise ValueError("it has no list of memories")
        except (OSError, ValueError) as exc:
            print(f"samantha memory import: cannot use {args.file}: {exc}", file=sys.stderr)
            return 2
    if args.action == "migrate":
        return await _migrate(settings, args)
    try:
        if args.action == "encrypt":
            passphrase = passphrase_for(settings.data_dir, encrypt=True)
            assert passphrase is not None
            encrypt_folder(settings.data_dir, passphrase)
            print(f"encrypted {settings.data_dir}; start the server with the same passphrase")
            return 0
        passphrase = None if settings.database else passphrase_for(settings.data_dir)
        store = await open_memory(
            settings, await asyncio.to_thread(load_embedder, None, settings.embedder), passphrase
        )
    except DatabaseError as exc:
        print(f"samantha memory: {exc}", file=sys.stderr)
        return 2
    try:
        match args.action:
            case "list":
                return await _list(store, settings.user, args)
            case "forget":
                return await _forget(store, settings.user, args)
            case "export":
                text = json.dumps(await store.export(settings.user), indent=2, ensure_ascii=False)
                if args.file:
                    args.file.write_text(text + "\n", encoding="utf-8")
                    print(f"exported to {args.file}", file=sys.stderr)
                else:
                    print(text)
                return 0
            case "import":
                return await _import(store, settings.user, data)
            case "check":
                report = await store.verify()
                print(json.dumps(report, indent=2))
                return 0 if all(r["consistent"] for r in report.values()) else 1
    finally:
        await store.aclose()
    return 2


async def _list(store: MemoryEngine, user: str, args: argparse.Namespace) -> int:
    memories = await store.memories(user, query=args.query, kind=args.kind, limit=args.limit)
    if args.json:
        print(json.dumps([vars(m) for m in memories], indent=2, ensure_ascii=False))
        return 0
    for m in memories:
        status = " (superseded)" if m.valid_to else ""
        print(f"{m.id:>6}  {m.kind:<10} {m.importance:.2f}  {m.text}{status}")
    if not memories:
        print("(no memories)", file=sys.stderr)
    return 0


async def _forget(store: MemoryEngine, user: str, args: argparse.Namespace) -> int:
    try:
        count = await (store.forget_turn(user, args.id) if args.turn else store.forget(user, args.id))
    except MemoryError_ as exc:
        print(f"samantha memory forget: {exc}", file=sys.stderr)
        return 2
    if count == 0 and not args.turn:
        print(f"samantha memory forget: {user} has no memory {args.id}", file=sys.stderr)
        return 1
    print(f"forgot {count} memor{'y' if count == 1 else 'ies'}")
    return 0


async def _import(store: MemoryEngine, user: str, data: dict[str, Any]) -> int:
    """Turns first (new ids), then memories with their sources mapped to the new turn ids."""
    from memory.write import NewMemory

    turn_ids: dict[int, int] = {}
    for turn in data.get("turns", []):
        try:
            new = await store.log_turn(
                user,
                str(turn["conversation"]),
                turn["role"],
                str(turn["text"]),
                status=turn.get("status", "complete"),
                learned=True,  # what was learned from it comes with the import
            )
        except (KeyError, TypeError) as exc:
            print(f"samantha memory import: skipping a malformed turn ({exc})", file=sys.stderr)
            continue
        turn_ids[int(turn["id"])] = new.id
    items = []
    for m in data["memories"]:
        if (
            not isinstance(m, dict)
            or m.get("kind") not in KINDS
            or m.get("kind") == "seed"
            or not m.get("text")
        ):
            continue
        if m.get("valid_to"):  # superseded history stays behind; what is current comes across
            continue
        text = str(m["text"])
        sources = tuple(turn_ids[t] for t in m.get("source_turns", []) if t in turn_ids)
        said = re.sub(r"^\[[^\]]*\]\s*user:\s*", "", text) if m["kind"] == "turn" else None
        items.append(
            NewMemory(
                text,
                m["kind"],
                float(m.get("importance", 0.5)),
                sources,
                created_at=m.get("created_at"),
                fact_key=m.get("fact_key"),
                embed_text=said,
            )
        )
    added = [m for m in await store.remember_batch(user, items) if m is not None]
    print(
        f"imported {len(turn_ids)} turns and {len(added)} memories ({len(items) - len(added)} already known)"
    )
    return 0


async def _migrate(settings: DataSettings, args: argparse.Namespace) -> int:
    """Copy and check: 0 when the counts are equal and the sampled recalls identical, 1 if not, 2 refused."""
    from app.unlock import passphrase_for
    from memory.embedder import load_embedder
    from memory.pg import migrate

    url = args.to
    if not url.startswith(("postgresql://", "postgres://")):
        print("samantha memory migrate: --to takes a postgresql:// URL", file=sys.stderr)
        return 2
    source = settings.data_dir / "samantha.db"
    if not source.is_file():
        print(
            f"samantha memory migrate: no embedded store in {settings.data_dir} (--data-dir)", file=sys.stderr
        )
        return 2
    try:
        passphrase = passphrase_for(settings.data_dir)
        copied = await asyncio.to_thread(migrate.copy, source, url, passphrase)
        print("copied " + ", ".join(f"{n} {table}" for table, n in copied.items()))
        embedder = await asyncio.to_thread(load_embedder, None, settings.embedder)
        report = await migrate.check(settings.data_dir, url, embedder, passphrase, per_user=args.sample)
    except DatabaseError as exc:
        print(f"samantha memory migrate: {exc}", file=sys.stderr)
        return 2
    for table, (rows_here, rows_there) in report.counts.items():
        verdict = "ok" if rows_here == rows_there else "DIFFERENT"
        print(f"{table:<16} {rows_here:>8} {rows_there:>8}  {verdict}")
    same = sum(1 for _, _, a, b in report.recalls if a == b)
    print(f"recalls identical: {same} of {len(report.recalls)}")
    for user, question, here, there in report.recalls:
        if here != there:
            print(f"  {user}: {question!r}: embedded {here}, Postgres {there}")
    return 0 if report.counts_equal and report.recalls_identical else 1
