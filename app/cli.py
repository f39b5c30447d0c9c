"""`samantha serve | script`: the command line (its own output goes to the terminal, logs to stderr)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.config import Settings, describe_errors
from app.memory_cli import add_memory_commands, run_memory_command
from app.models_cli import add_models_commands, run_models_command
from app.persona_cli import add_persona_commands, run_persona_command
from app.user_cli import add_user_commands, run_user_command

log = logging.getLogger("samantha")


def _flag_type(annotation: Any) -> Any:
    """The argparse type for a Settings field (Optional[X] -> X, Literal -> str)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        annotation = args[0]
    if annotation in (int, float):
        return annotation
    return str


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings field, its description as help; unset flags leave env vars in charge."""
    for name, field in Settings.model_fields.items():
        choices = None
        if typing.get_origin(field.annotation) is typing.Literal:
            choices = list(typing.get_args(field.annotation))
        default = field.default
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=_flag_type(field.annotation),
            choices=choices,
            default=argparse.SUPPRESS,
            help=f"{field.description} [env SAMANTHA_{name.upper()}; default: {default}]",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from env vars overridden by the flags that were given."""
    given = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    return Settings(**given)


def build_parser() -> argparse.ArgumentParser:
    """The `samantha` command and its subcommands."""
    parser = argparse.ArgumentParser(prog="samantha", description="Samantha, a companion who remembers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log debug detail.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="Start the server (websocket /ws and the page at /).")
    add_settings_flags(serve)

    script = commands.add_parser("script", help="Run a scripted conversation (YAML) and check expectations.")
    script.add_argument("file", type=Path, help="The conversation file.")
    script.add_argument("--keep-data", action="store_true", help="Keep the temporary data directory.")
    add_settings_flags(script)
    add_memory_commands(commands)
    add_models_commands(commands)
    add_persona_commands(commands)
    add_user_commands(commands)
    from app.client import add_chat_command  # stdlib only; the websocket client loads when `chat` runs

    add_chat_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `samantha` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Library chatter that says nothing a user can act on.
    for noisy in ("faiss.loader", "sentence_transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "memory":
            return asyncio.run(run_memory_command(args))
        if args.command == "models":
            return run_models_command(args)
        if args.command == "persona":
            return run_persona_command(args)
        if args.command == "user":
            return asyncio.run(run_user_command(args))
        if args.command == "chat":
            from app.client import run_chat

            return run_chat(args)
        settings = settings_from(args)
    except ValidationError as exc:
        print(describe_errors(exc), file=sys.stderr)
        return 2
    try:
        match args.command:
            case "serve":
                from app.server import serve

                return asyncio.run(serve(settings))
            case "script":
                from app.script import run_script_file

                return asyncio.run(run_script_file(args.file, settings, keep_data=args.keep_data))
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
