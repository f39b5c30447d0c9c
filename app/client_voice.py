"""Push-to-talk and read-aloud for `samantha chat`: a microphone and a speaker, or audio files in their place.

The terminal records what the person says and sends it to the server's ears (a binary frame on the chat
socket, docs/PROTOCOL.md "Voice"); it plays what the server's voice sends back (`audio` frames). Audio
goes through PortAudio (`sounddevice`, Debian's libportaudio2, installed by `make voice`). A machine with
no microphone or speaker (a server, CI) can name audio files instead, as Chromium's
`--use-file-for-fake-audio-capture` does: `--mic FILE` is heard as if spoken into a microphone, and
`--speaker FILE` collects what she says into a WAV file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.voice.audio import LISTEN_RATE, AudioError, Speech, decode, read_wav, wav_bytes
from persona.errors import SamanthaError

log = logging.getLogger(__name__)

# The server takes up to 120 s of one recording (app/voice/link.py); stop a little before, on our side.
MAX_RECORDING_SECONDS = 115.0
NO_MIC_HINT = "(on a machine without one, `samantha chat --mic FILE` hears an audio file instead)"
NO_SPEAKER_HINT = "(`samantha chat --speaker FILE` writes her voice to a file instead)"


class AudioUnavailable(SamanthaError):
    """No microphone or speaker to use; the message says why and what to do, in words for the person."""


class Recording(Protocol):
    """A recording in progress."""

    def stop(self) -> bytes:
        """Stop and return what was heard, as a 16 kHz mono WAV file."""
        ...


class Microphone(Protocol):
    """Something that records."""

    def start(self) -> Recording:
        """Start recording now (AudioUnavailable when there is nothing to record from)."""
        ...


class Speaker(Protocol):
    """Something that plays her voice, sentence after sentence, in order."""

    def play(self, wav: bytes) -> None:
        """Queue one sentence (a WAV file) after the ones still playing."""
        ...

    def stop(self) -> None:
        """Be quiet now: drop what is queued and stop what is playing."""
        ...


def _sounddevice() -> Any:
    """The sounddevice module, or AudioUnavailable when PortAudio is not installed."""
    try:
        import sounddevice
    except OSError as exc:  # the wheel needs the system's PortAudio library
        raise AudioUnavailable(
            "no audio on this machine: the PortAudio library is missing "
            "(`make voice`, or `apt-get install libportaudio2`)"
        ) from exc
    return sounddevice


def _device(sd: Any, kind: str) -> None:
    """Check that a default input or output device exists (AudioUnavailable if not)."""
    try:
        sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError) as exc:
        what = (
            f"no microphone found {NO_MIC_HINT}" if kind == "input" else f"no speaker found {NO_SPEAKER_HINT}"
        )
        raise AudioUnavailable(what) from exc


def _clip(pcm: np.ndarray) -> bytes:
    return wav_bytes(Speech(pcm[: int(MAX_RECORDING_SECONDS * LISTEN_RATE)].astype(np.int16), LISTEN_RATE))


class _LiveRecording:
    """PortAudio calls back from its own thread with each block; the blocks are kept until stop()."""

    def __init__(self, sd: Any) -> None:
        self.blocks: list[np.ndarray] = []
        self.stream = sd.InputStream(samplerate=LISTEN_RATE, channels=1, dtype="int16", callback=self._block)
        self.stream.start()

    def _block(self, data: np.ndarray, frames: int, when: Any, status: Any) -> None:
        if status:
            log.debug("microphone: %s", status)
        self.blocks.append(data[:, 0].copy())

    def stop(self) -> bytes:
        self.stream.stop()
        self.stream.close()
        return _clip(np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.int16))


class SystemMicrophone:
    """The system's default microphone, through PortAudio."""

    def start(self) -> Recording:
        sd = _sounddevice()
        _device(sd, "input")
        try:
            return _LiveRecording(sd)
        except sd.PortAudioError as exc:
            raise AudioUnavailable(f"the microphone cannot be opened: {exc} {NO_MIC_HINT}") from exc


class _FileRecording:
    """What a microphone playing the file would have heard between start and stop."""

    def __init__(self, pcm: np.ndarray) -> None:
        self.pcm = pcm
        self.started = time.monotonic()

    def stop(self) -> bytes:
        heard = int((time.monotonic() - self.started) * LISTEN_RATE)
        pcm = self.pcm[:heard]
        pcm = np.concatenate([pcm, np.zeros(max(0, heard - len(pcm)), np.int16)])  # then silence
        return _clip(pcm)


class FileMicrophone:
    """An audio file as the microphone: each recording hears the file from its start, in real time, then
    silence (stop before it ends, and the recording ends there too)."""

    def __init__(self, path: Path) -> None:
        try:
            samples = decode(path.read_bytes(), max_seconds=MAX_RECORDING_SECONDS)
        except OSError as exc:
            raise AudioUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc
        except AudioError as exc:
            raise AudioUnavailable(f"{path}: {exc.message}") from exc
        self.pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)

    def start(self) -> Recording:
        return _FileRecording(self.pcm)


class SystemSpeaker:
    """The system's default speaker, through PortAudio; sentences play one after another on a thread."""

    def __init__(self) -> None:
        self.sd = _sounddevice()
        _device(self.sd, "output")
        self.queue: queue.Queue[Speech] = queue.Queue()
        threading.Thread(target=self._play, name="samantha-speaker", daemon=True).start()

    def play(self, wav: bytes) -> None:
        self.queue.put(read_wav(wav))

    def stop(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.sd.stop()

    def _play(self) -> None:
        while True:
            speech = self.queue.get()
            try:
                self.sd.play(speech.pcm, speech.sample_rate, blocking=True)
            except Exception as exc:  # a speaker unplugged mid-sentence: say it once in the log, go on
                log.warning("could not play her voice: %r", exc)


class FileSpeaker:
    """A WAV file in place of a speaker: what she says is added to it, sentence after sentence."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.said: list[np.ndarray] = []
        self.rate: int | None = None
        self._lock = threading.Lock()
        self._write()  # fail now, at the start, if the file cannot be written

    def play(self, wav: bytes) -> None:
        speech = read_wav(wav)
        with self._lock:
            self.rate = self.rate or speech.sample_rate
            self.said.append(speech.pcm)
            self._write()

    def stop(self) -> None:
        """Nothing is queued: every sentence was written as it came."""

    def _write(self) -> None:
        pcm = np.concatenate(self.said) if self.said else np.zeros(0, np.int16)
        try:
            self.path.write_bytes(wav_bytes(Speech(pcm, self.rate or LISTEN_RATE)))
        except OSError as exc:
            raise AudioUnavailable(f"cannot write {self.path}: {exc.strerror or exc}") from exc
