"""Configuration: defaults run offline, env vars and flags work, wrong values name the field and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.cli import build_parser, settings_from
from app.config import Settings, describe_errors
from app.model_catalog import DEFAULT_MODEL, resolve_model


def test_defaults_use_the_bundled_local_model() -> None:
    settings = Settings()
    assert settings.backend == "llamacpp"
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.model is None  # the default model, prepared at start
    assert resolve_model(settings.model).name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert DEFAULT_MODEL == "qwen2.5-coder-1.5b"


def test_env_vars_and_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAMANTHA_PORT", "9100")
    monkeypatch.setenv("SAMANTHA_BACKEND", "echo")
    args = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), "--recall-k", "3"])
    settings = settings_from(args)
    assert settings.port == 9100  # from the environment
    assert settings.recall_k == 3 and settings.data_dir == tmp_path  # from flags
    args = build_parser().parse_args(["serve", "--port", "9200"])
    assert settings_from(args).port == 9200  # a flag beats the environment


@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        ({"port": 70000}, "port", "--port"),
        ({"backend": "openai"}, "base_url", "--base-url"),
        ({"backend": "llamacpp", "model": "gpt-17"}, "model", "--model"),
        ({"temperature": 5}, "temperature", "--temperature"),
        ({"backend": "gpt"}, "backend", "--backend"),
    ],
)
def test_wrong_values_name_the_field_and_the_fix(kwargs: dict[str, object], field: str, hint: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**kwargs)  # type: ignore[arg-type]
    message = describe_errors(info.value)
    assert field in message and hint in message


def test_serve_refuses_a_bad_setting_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "port (--port / SAMANTHA_PORT)" in result.stderr
    assert "Traceback" not in result.stderr
