"""Her voice and ears on a running server: loaded on first use, each on a thread of its own."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from app.voice.audio import AudioError, Speech, decode
from app.voice.stt import SpeechToText, Transcript, load_ears
from app.voice.text import sentences, spoken
from app.voice.tts import (
    DEFAULT_VOICE,
    VOICES,
    TextToSpeech,
    UnknownVoice,
    check_voice_choice,
    load_voice,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# What one request may ask of her: OpenAI's own limit on text to say; minutes of audio to transcribe.
MAX_SPEECH_CHARS = 4096
MAX_LISTEN_SECONDS = 600.0
PAUSE_S = 0.25  # between sentences said in one piece


class Voice:
    """Text to speech and speech to text for one server.

    Each has a single worker thread: her voice and her ears never wait for each other or for the
    language model, and each model uses only its own `threads` (one core by default) so llama.cpp keeps
    the rest. A model loads on that thread the first time it is needed (or when `warm` is called).
    """

    def __init__(self, *, voice: str | None, listen: bool, threads: int = 1) -> None:
        self.voice = voice  # None: she has no voice (--voice off)
        self.listen = listen
        self.threads = threads
        self._voices: dict[str, TextToSpeech] = {}  # touched only on the voice thread
        self._ears: SpeechToText | None = None  # touched only on the ears thread
        self._voice_thread = ThreadPoolExecutor(1, thread_name_prefix="samantha-voice")
        self._ears_thread = ThreadPoolExecutor(1, thread_name_prefix="samantha-ears")

    # -- what a client may choose ------------------------------------------------------------------

    def choices(self) -> list[str]:
        """The voices she can speak with here (none when her voice is off)."""
        if self.voice is None:
            return []
        return list(dict.fromkeys([self.voice, *VOICES]))

    def pick(self, name: str | None) -> str:
        """The voice to use for a request: the one named, or hers."""
        if self.voice is None:
            raise AudioError("voice_off", "her voice is off on this server (samantha serve --voice off)")
        if name is None or name == self.voice:
            return self.voice
        try:
            check_voice_choice(name)
        except UnknownVoice as exc:
            raise AudioError("unknown_voice", str(exc)) from exc
        if name == "off" or name not in self.choices():
            known = ", ".join(self.choices())
            raise AudioError("unknown_voice", f"unknown voice {name!r}; choose one of {known}")
        return name

    # -- speaking ----------------------------------------------------------------------------------

    async def _on(self, pool: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    def _load_voice(self, name: str) -> TextToSpeech:
        if name not in self._voices:
            started = time.perf_counter()
            self._voices[name] = load_voice(name, threads=self.threads)
            log.info("voice %s loaded in %.1f s", name, time.perf_counter() - started)
        return self._voices[name]

    def _say(self, name: str, text: str, speed: float) -> Speech:
        return self._load_voice(name).synthesize(text, speed=speed)

    async def say(self, text: str, *, voice: str | None = None, speed: float = 1.0) -> Speech:
        """Say one sentence (or a short text) in her voice, or the one named."""
        name = self.pick(voice)
        words = spoken(text)
        if not words:
            raise AudioError("empty_text", "there is nothing to say")
        try:
            speech: Speech = await self._on(self._voice_thread, self._say, name, words, speed)
        except AudioError:
            raise
        except Exception as exc:  # a missing program or package, a broken voice file
            log.error("voice %s failed: %r", name, exc)
            raise AudioError("voice_failed", f"her voice {name!r} could not speak: {exc}") from exc
        return speech

    async def say_all(self, text: str, *, voice: str | None = None, speed: float = 1.0) -> Speech:
        """Say a whole text, sentence by sentence (a long text at once is slow and unsteady)."""
        if len(text) > MAX_SPEECH_CHARS:
            raise AudioError("text_too_long", f"the text is over {MAX_SPEECH_CHARS} characters; send less")
        parts = [await self.say(s, voice=voice, speed=speed) for s in sentences(spoken(text))]
        parts = [p for p in parts if len(p.pcm)]
        if not parts:
            raise AudioError("empty_text", "there is nothing to say")
        rate = parts[0].sample_rate
        pause = np.zeros(int(PAUSE_S * rate), np.int16)
        joined = [x for p in parts for x in (p.pcm, pause)][:-1]
        return Speech(np.concatenate(joined), rate)

    # -- listening ---------------------------------------------------------------------------------

    def _hear(self, data: bytes, max_seconds: float, prompt: str | None) -> Transcript:
        samples = decode(data, max_seconds=max_seconds)
        if self._ears is None:
            started = time.perf_counter()
            self._ears = load_ears(threads=self.threads)
            log.info("speech recognition loaded in %.1f s", time.perf_counter() - started)
        return self._ears.transcribe(samples, prompt=prompt)

    async def hear(
        self, data: bytes, *, max_seconds: float = MAX_LISTEN_SECONDS, prompt: str | None = None
    ) -> Transcript:
        """What was said in an audio file (any common format)."""
        if not self.listen:
            raise AudioError("listen_off", "speech recognition is off on this server (--listen off)")
        try:
            transcript: Transcript = await self._on(self._ears_thread, self._hear, data, max_seconds, prompt)
        except AudioError:
            raise
        except Exception as exc:
            log.error("speech recognition failed: %r", exc)
            raise AudioError("listen_failed", f"speech recognition failed: {exc}") from exc
        return transcript

    # -- life --------------------------------------------------------------------------------------

    def _load_ears(self) -> None:
        if self._ears is None:
            self._ears = load_ears(threads=self.threads)

    async def warm(self, *, voice: str | None = None, ears: bool = False) -> None:
        """Load a voice (and the ears) now, so the first reply read aloud does not wait for it."""
        try:
            if self.voice is not None:
                await self._on(self._voice_thread, self._load_voice, self.pick(voice))
            if ears and self.listen:
                await self._on(self._ears_thread, self._load_ears)
        except Exception as exc:  # warming is a courtesy; the real use reports the error
            log.warning("could not load the voice ahead of use: %r", exc)

    def status(self) -> dict[str, Any]:
        """What a client needs to know to offer voice controls."""
        return {"voice": self.voice, "voices": self.choices(), "listen": self.listen}

    def close(self) -> None:
        """Stop the worker threads (a synthesis in progress finishes first); blocking."""
        for pool in (self._voice_thread, self._ears_thread):
            pool.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        """Stop the worker threads without blocking the event loop."""
        await asyncio.to_thread(self.close)


def voice_for(setting: str | None, persona_choice: str | None, *, listen: bool, threads: int) -> Voice:
    """The server's Voice: `--voice` if given, else the persona file's choice, else the default voice."""
    name = setting
    if name is None and persona_choice is not None:
        try:
            name = check_voice_choice(persona_choice)
        except UnknownVoice as exc:
            log.warning("the persona's speech_voice is not usable (%s); using %s", exc, DEFAULT_VOICE)
    return Voice(voice=None if name == "off" else name or DEFAULT_VOICE, listen=listen, threads=threads)
