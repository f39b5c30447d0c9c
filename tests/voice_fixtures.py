"""Her voice and ears for the voice tests: one Voice per test session, so each model loads once.

The models are the real ones (Piper joe through onnxruntime, Whisper tiny.en through faster-whisper), one
thread each as on a small machine. Test modules load this with `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.voice.service import Voice


@pytest.fixture(scope="session")
def voice() -> Iterator[Voice]:
    """Her voice (joe) and ears, loaded on first use and shared by every test that borrows them."""
    shared = Voice(voice="joe", listen=True, threads=1)
    yield shared
    shared.close()
