"""`samantha user add | list | revoke | delete`: accounts, their access tokens, and deleting everything."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from memory.db import DatabaseError
from memory.models import MemoryError_

if TYPE_CHECKING:
    from app.config import DataSettings


def add_user_commands(commands: Any) -> None:
    """Register `samantha user ...` on the top-level subparsers."""
    user = commands.add_parser(
        "user", help="Create users and their access tokens, revoke them, delete a user."
    )
    user.add_argument("--data-dir", type=Path, default=None, help="Data directory [default ./data or env].")
    user.add_argument(
        "--database", default=None, help="A Postgres database (postgresql://...) [env SAMANTHA_DATABASE]."
    )
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="Create a user and print their access token (shown only once).")
    add.add_argument("name", help="1-32 of a-z, 0-9, '_', '.', '-'")
    actions.add_parser("list", help="List users.")
    revoke = actions.add_parser("revoke", help="Make a user's token stop working (their memories stay).")
    revoke.add_argument("name")
    delete = actions.add_parser("delete", help="Delete a user and ALL their memories and conversations.")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")


def _settings(args: argparse.Namespace) -> DataSettings:
    from app.config import DataSettings

    given: dict[str, Any] = {}
    if args.data_dir is not None:
        given["data_dir"] = Path(args.data_dir)
    if args.database is not None:
        given["database"] = args.database
    return DataSettings(**given)


async def run_user_command(args: argparse.Namespace) -> int:
    """Carry out one `samantha user` action; 0 on success, 1 when there is no such user, 2 on bad input."""
    from app.engines import open_accounts
    from app.unlock import passphrase_for

    confirmed = args.action != "delete" or args.yes
    if not confirmed and sys.stdin.isatty():
        confirmed = input(f"Delete {args.name} and everything stored for them? [y/N] ").strip() == "y"
    if not confirmed:
        print("nothing deleted (pass --yes to confirm)", file=sys.stderr)
        return 1
    try:
        settings = _settings(args)
        passphrase = None if settings.database else passphrase_for(settings.data_dir)
        # Accounts alone: adding, listing and revoking need no embedder (seconds to load).
        accounts = await open_accounts(settings, passphrase)
    except (DatabaseError, ValidationError) as exc:
        print(f"samantha user: {exc}", file=sys.stderr)
        return 2
    try:
        match args.action:
            case "add":
                token = await accounts.add(args.name)
                print(f"created {args.name}; their access token (shown only this once):\n{token}")
            case "list":
                for user in await accounts.listed():
                    state = f"revoked {user.revoked_at}" if user.revoked_at else "active"
                    print(f"{user.name:<32} {state:<36} created {user.created_at}")
            case "revoke":
                if not await accounts.revoke(args.name):
                    print(f"samantha user revoke: no active user {args.name!r}", file=sys.stderr)
                    return 1
                print(f"revoked {args.name}'s token; their memories are kept")
            case "delete":
                count = await _forget_user(settings, passphrase, args.name)
                await accounts.delete(args.name)  # last: a delete cut short can be run again
                print(f"deleted {args.name}: the account, {count} memories, and every conversation")
    except (MemoryError_, DatabaseError) as exc:
        print(f"samantha user: {exc}", file=sys.stderr)
        return 2
    finally:
        await accounts.aclose()
    return 0


async def _forget_user(settings: DataSettings, passphrase: str | None, name: str) -> int:
    """Forget everything memory holds for `name` (the store needs the embedder to open its indexes)."""
    from app.engines import open_memory
    from memory.accounts import check_name
    from memory.embedder import load_embedder

    check_name(name)
    embedder = await asyncio.to_thread(load_embedder, None, settings.embedder)
    store = await open_memory(settings, embedder, passphrase)
    try:
        return await store.forget_user(name)
    finally:
        await store.aclose()
