"""simonw's `llm` CLI, run as a real process against a real server, configured the documented way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.backends.scripted import EchoBackend

LLM = Path(sys.executable).parent / "llm"


async def run_llm(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`llm ARGS` with its config in `home` (in a thread: the server runs on this test's event loop)."""
    env = {**os.environ, "LLM_USER_PATH": str(home)}
    return await asyncio.to_thread(
        subprocess.run, [str(LLM), *args], input=stdin, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def llm_home(tmp_path: Path) -> Any:
    if not LLM.exists():
        pytest.fail(f"{LLM} is missing: the dev extra installs llm (`make setup`)")

    def configure(url: str) -> Path:
        home = tmp_path / "llm"
        home.mkdir(exist_ok=True)
        (home / "extra-openai-models.yaml").write_text(
            f'- model_id: samantha\n  model_name: samantha\n  api_base: "{url}/v1"\n'
            "  headers:\n    X-Samantha-Conversation: llm\n",
            encoding="utf-8",
        )
        return home

    return configure


async def test_llm_prompts_streams_and_keeps_a_system_prompt(make_server: Any, llm_home: Any) -> None:
    backend = EchoBackend()
    server = await make_server(backend)
    home = llm_home(server.url)
    told = await run_llm(home, "-m", "samantha", "My dog is called Biscuit")
    assert told.returncode == 0, told.stderr
    assert told.stdout.startswith('You said: "My dog is called Biscuit"')
    asked = await run_llm(home, "-m", "samantha", "-s", "Answer in French.", "What is my dog's name?")
    assert asked.returncode == 0, asked.stderr
    assert "dog is called Biscuit" in asked.stdout.split("I recall:", 1)[1]  # her memory, across prompts
    assert "Answer in French." in backend.prompts[-1][0]["content"]
    whole = await run_llm(home, "-m", "samantha", "--no-stream", "Hello")
    assert whole.returncode == 0 and whole.stdout.startswith('You said: "Hello"')
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get("/api/conversations/llm/turns")).json()
    assert [t["text"] for t in turns if t["role"] == "user"] == [
        "My dog is called Biscuit",
        "What is my dog's name?",
        "Hello",
    ]


async def test_llm_chat_carries_the_conversation(make_server: Any, llm_home: Any) -> None:
    server = await make_server()
    home = llm_home(server.url)
    chat = await run_llm(
        home, "chat", "-m", "samantha", stdin="I'm planning a trip.\nLisbon, in May.\nquit\n"
    )
    assert chat.returncode == 0, chat.stderr
    assert "(0 earlier messages in view.)" in chat.stdout and "(2 earlier messages in view.)" in chat.stdout
