"""Recordings for the voice tests, made with her own voice (what a microphone would hear, minus the room)."""

from __future__ import annotations

import numpy as np

from app.voice.audio import Speech, wav_bytes
from app.voice.service import Voice


async def spoken_wav(voice: Voice, text: str, name: str | None = None) -> bytes:
    """A WAV file of her saying `text`."""
    speech: Speech = await voice.say_all(text, voice=name)
    return wav_bytes(speech)


def silence(seconds: float, level: float = 0.0) -> bytes:
    """A WAV file of silence, or of a hiss at `level` (a fraction of full scale)."""
    n = int(16_000 * seconds)
    pcm = np.random.default_rng(1).normal(0, level * 32767, n) if level else np.zeros(n)
    return wav_bytes(Speech(pcm.astype(np.int16), 16_000))
