"""Audio in and out: reading what a client sent (any common format) and writing what she says."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Literal

import numpy as np

# Whisper listens at 16 kHz, mono; everything a client sends is resampled to that.
LISTEN_RATE = 16_000
# OpenAI's `pcm` format is raw 16-bit little-endian mono at 24 kHz; clients assume that rate.
PCM_RATE = 24_000
# A sample this quiet everywhere is silence (or a muted microphone), whatever the VAD would say.
SILENCE_PEAK = 1e-3

AudioFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
# PyAV (FFmpeg) muxer and codec per format; `opus` is Ogg/Opus, as OpenAI sends it.
_ENCODERS: dict[str, tuple[str, str, int | None]] = {
    "mp3": ("mp3", "libmp3lame", None),
    "opus": ("ogg", "libopus", 48_000),
    "aac": ("adts", "aac", None),
    "flac": ("flac", "flac", None),
}


class AudioError(ValueError):
    """Audio (or text to say) that cannot be used; `code` is for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Speech:
    """Mono 16-bit audio and its sample rate."""

    pcm: np.ndarray  # int16
    sample_rate: int

    @property
    def seconds(self) -> float:
        """How long it lasts."""
        return len(self.pcm) / self.sample_rate


def wav_bytes(speech: Speech) -> bytes:
    """A WAV file of the speech (browsers and every player read it)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(speech.sample_rate)
        w.writeframes(speech.pcm.astype("<i2").tobytes())
    return out.getvalue()


def read_wav(data: bytes) -> Speech:
    """A 16-bit mono WAV file (what espeak-ng writes) as Speech."""
    with wave.open(io.BytesIO(data), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise AudioError("bad_audio", "expected 16-bit mono WAV")
        frames = w.readframes(w.getnframes())
        return Speech(np.frombuffer(frames, dtype="<i2").astype(np.int16), w.getframerate())


def resample(speech: Speech, rate: int) -> Speech:
    """The speech at another sample rate (linear interpolation: enough for a voice)."""
    if speech.sample_rate == rate or len(speech.pcm) == 0:
        return speech
    n = round(len(speech.pcm) * rate / speech.sample_rate)
    at = np.linspace(0, len(speech.pcm) - 1, n)
    pcm = np.interp(at, np.arange(len(speech.pcm)), speech.pcm.astype(np.float32))
    return Speech(np.clip(np.round(pcm), -32768, 32767).astype(np.int16), rate)


def encode(speech: Speech, fmt: AudioFormat) -> bytes:
    """The speech in one of OpenAI's response formats."""
    if fmt == "wav":
        return wav_bytes(speech)
    if fmt == "pcm":
        return resample(speech, PCM_RATE).pcm.astype("<i2").tobytes()
    import av  # PyAV comes with faster-whisper; loaded only when a compressed format is asked for

    container_name, codec, rate = _ENCODERS[fmt]
    if rate is not None:
        speech = resample(speech, rate)
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_name) as container:
        stream = container.add_stream(codec, rate=speech.sample_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(speech.pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = speech.sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def decode(data: bytes, *, max_seconds: float) -> np.ndarray:
    """Any common audio file (WAV, MP3, Ogg/Opus, WebM, FLAC, M4A...) as 16 kHz mono float32 samples.

    Decoding stops as soon as the audio runs past `max_seconds`, so a small file of a very long silence
    cannot fill the memory.
    """
    if not data:
        raise AudioError("empty_audio", "the audio is empty")
    import av  # FFmpeg through PyAV, as faster-whisper reads audio

    resampler = av.AudioResampler(format="s16", layout="mono", rate=LISTEN_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * LISTEN_RATE)
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("bad_audio", "the file holds no audio track")
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limit:
                    raise AudioError(
                        "audio_too_long", f"the audio is longer than {max_seconds:g} seconds; send less"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise AudioError(
            "bad_audio",
            "this is not audio I can read; send WAV, MP3, Ogg/Opus, WebM, FLAC or M4A "
            f"({exc.__class__.__name__})",
        ) from exc
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise AudioError("empty_audio", "the audio holds no sound")
    return samples
