"""Writing benchmark results: JSON files and marked sections of bench/RESULTS.md."""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def record_section(name: str, markdown: str, path: Path = RESULTS_MD) -> None:
    """Replace (or append) the section between `<!-- name:begin -->` and `<!-- name:end -->`.

    Benchmarks may finish at the same time: the read-modify-write holds a lock, and the file is replaced
    atomically, so no section is lost and no reader sees half a file.
    """
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    lock = (
        Path(tempfile.gettempdir())
        / f"samantha-results-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}.lock"
    )
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        text = path.read_text() if path.exists() else "# Benchmark results\n"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)


def commit() -> str:
    """HEAD, and whether the code measured (memory/, app/) differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        return head + (
            " + uncommitted changes" if git("status", "--porcelain", "--", "memory", "app") else ""
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
