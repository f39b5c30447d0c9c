"""`samantha models [list] | pull NAME`: which models she can run, where each is, and downloading more."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model_catalog import (
    CATALOGUE,
    DEFAULT_MODEL,
    ModelError,
    ModelSpec,
    bundled_file,
    cached_file,
    chunk_files,
    is_verified,
)


@dataclass(frozen=True)
class ModelStatus:
    """One line of `samantha models`."""

    spec: ModelSpec
    path: Path | None
    state: str  # "ready", "verified", "not prepared", "not downloaded", "missing packages", "unchecked"


def model_status(spec: ModelSpec) -> ModelStatus:
    """Where a catalogue model is and whether it is verified, without preparing or hashing anything."""
    if spec.source == "package":
        try:
            return ModelStatus(spec, bundled_file(spec), "ready (as its package ships it)")
        except ModelError:
            return ModelStatus(spec, None, "missing package")
    target = cached_file(spec)
    if target.is_file() and spec.sha256 and is_verified(target, spec.sha256):
        return ModelStatus(spec, target, "verified")
    if spec.source == "chunks":
        try:
            chunk_files(spec)
        except ModelError:
            return ModelStatus(spec, None, "missing packages")
        return ModelStatus(spec, None, "installed; prepared at first start")
    if target.is_file():
        return ModelStatus(spec, target, "unchecked (pull again to verify)")
    return ModelStatus(spec, None, "not downloaded")


def add_models_commands(commands: Any) -> None:
    """Register `samantha models ...` on the top-level subparsers."""
    models = commands.add_parser("models", help="List the models she can run, or pull a stronger one.")
    actions = models.add_subparsers(dest="action")
    actions.add_parser("list", help="Each model: where it is, its size, and whether it is verified.")
    pull = actions.add_parser("pull", help="Download a model from the catalogue (resumable, verified).")
    pull.add_argument("name", help=f"One of: {', '.join(n for n, s in CATALOGUE.items() if not s.bundled)}.")
    pull.add_argument(
        "--mirror",
        default=os.environ.get("SAMANTHA_MODELS_MIRROR"),
        help="Fetch from this base URL instead of the release's host (env SAMANTHA_MODELS_MIRROR).",
    )


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e9:.2f} GB" if nbytes else "-"


def run_models_command(args: argparse.Namespace) -> int:
    """Carry out one `samantha models` action: 0 done, 1 a failed pull, 2 a bad name."""
    if args.action == "pull":
        spec = CATALOGUE.get(args.name)
        if spec is None:
            print(
                f"samantha models: unknown model {args.name!r}; try: {', '.join(CATALOGUE)}", file=sys.stderr
            )
            return 2
        from app.model_pull import pull  # httpx loads only when pulling

        try:
            path = pull(spec, mirror=args.mirror, progress=sys.stderr.isatty())
        except ModelError as exc:
            print(f"samantha models: {exc}", file=sys.stderr)
            return 2 if spec.bundled else 1
        print(f"{spec.name}: verified, at {path}; start her with: samantha serve --model {spec.name}")
        return 0
    for spec in CATALOGUE.values():
        status = model_status(spec)
        default = " (default)" if spec.name == DEFAULT_MODEL else ""
        size = status.path.stat().st_size if status.path else spec.size
        print(f"{spec.name}{default}: {spec.title}")
        print(f"    {status.state}; {_size(size)}; licence {spec.licence}")
        if status.path:
            print(f"    {status.path}")
        elif not spec.bundled:
            print(f"    pull it: samantha models pull {spec.name}")
    print("Any other GGUF file: samantha serve --model PATH.gguf")
    return 0
