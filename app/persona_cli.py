"""`samantha persona import CARD | export`: bring characters people already have, and share hers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.config import DEFAULT_PERSONA
from persona.cards import card_to_persona, persona_to_card, persona_to_toml, read_card, unused
from persona.persona import PersonaError, load_persona


def add_persona_commands(commands: Any) -> None:
    """Register `samantha persona ...` on the top-level subparsers."""
    persona = commands.add_parser("persona", help="Import a character card as a persona, or export hers.")
    actions = persona.add_subparsers(dest="action", required=True)
    importing = actions.add_parser(
        "import", help="Turn a V1/V2/V3 character card (JSON or PNG) into a persona."
    )
    importing.add_argument("card", type=Path, help="The card (.json, or a .png with the card inside).")
    importing.add_argument("--out", type=Path, help="Persona file to write (default: ./<name>.toml).")
    importing.add_argument("--force", action="store_true", help="Overwrite an existing persona file.")
    export = actions.add_parser("export", help="Write a persona as a Character Card V2 (JSON).")
    export.add_argument("--persona-file", type=Path, default=DEFAULT_PERSONA, help="The persona to export.")
    export.add_argument("--out", type=Path, help="Card file to write (default: standard output).")


def run_persona_command(args: argparse.Namespace) -> int:
    """Carry out one `samantha persona` action; 0 on success, 2 on a bad file."""
    try:
        if args.action == "import":
            card = read_card(args.card)
            persona = card_to_persona(card)
            slug = "".join(c if c.isalnum() else "_" for c in persona.name.lower()).strip("_") or "persona"
            # The working directory, never the install's own folder (site-packages on a pip install).
            out: Path = args.out or Path.cwd() / f"{slug}.toml"
            if out.exists() and not args.force:
                print(f"samantha persona import: {out} exists; pass --force to replace it", file=sys.stderr)
                return 2
            out.write_text(persona_to_toml(persona), encoding="utf-8")
            load_persona(out)  # what we wrote must read back
            for line in unused(card):
                print(f"samantha persona import: not kept: {line}", file=sys.stderr)
            print(f"wrote {out}; start her with: samantha serve --persona-file {out}")
            return 0
        exported = json.dumps(persona_to_card(load_persona(args.persona_file)), indent=2, ensure_ascii=False)
        if args.out:
            args.out.write_text(exported + "\n", encoding="utf-8")
            print(f"wrote {args.out}", file=sys.stderr)
        else:
            print(exported)
        return 0
    except PersonaError as exc:
        print(f"samantha persona: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"samantha persona: cannot write: {exc}", file=sys.stderr)
        return 2
