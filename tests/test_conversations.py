"""The scripted conversations in tests/conversations/ run as tests, and `samantha script` as a command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.backends import create_backend
from app.config import Settings
from app.script import ScriptError, load_script, run_script
from memory.embedder import Embedder
from tests.engines import ENGINES

CONVERSATIONS = sorted((Path(__file__).parent / "conversations").glob("*.yaml"))


def test_the_required_conversations_are_there() -> None:
    names = {p.stem for p in CONVERSATIONS}
    assert {"first_meeting", "fact_across_conversations", "fact_across_restart", "film_question"} <= names


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", CONVERSATIONS, ids=lambda p: p.stem)
async def test_conversation(
    path: Path, engine: str, tmp_path: Path, embedder: Embedder, request: pytest.FixtureRequest
) -> None:
    """Each conversation on each memory engine (Postgres: a fresh database, as `--database` gives)."""
    script = load_script(path)
    database = request.getfixturevalue("postgres_url") if engine == "postgres" else None
    settings = Settings(backend=script.backend or "echo", data_dir=tmp_path / "data", database=database)
    result = await run_script(script, settings, backend=create_backend(settings), embedder=embedder)
    assert result.checks, "a conversation without expectations proves nothing"
    assert result.passed, "\n".join(result.lines)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "script", *args], capture_output=True, text=True, timeout=300
    )


def test_script_command_passes_fails_and_refuses(tmp_path: Path) -> None:
    failing = tmp_path / "failing.yaml"
    failing.write_text(
        "name: expects a memory that was never told\nbackend: echo\nturns:\n"
        "  - user: What is my cat called?\n    expect:\n      recalled: Pickle\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: no turns\nturns: []\n")
    passing = run_cli(str(CONVERSATIONS[0].parent / "fact_across_conversations.yaml"), "--seeds-dir", "")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "verdict: PASS" in passing.stdout and "you: What is my dog's name?" in passing.stdout

    result = run_cli(str(failing), "--seeds-dir", "")
    assert result.returncode == 1 and "FAIL recalled a memory matching /Pickle/" in result.stdout

    result = run_cli(str(broken))
    assert result.returncode == 2 and "turns" in result.stderr and "Traceback" not in result.stderr


def test_script_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nturns:\n  - user: hi\n    expect:\n      recall: typo\n")
    with pytest.raises(ScriptError, match=r"turns\.0\.expect\.recall"):
        load_script(bad)
