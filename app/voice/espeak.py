"""espeak-ng as a separate program: phonemes for Piper voices, and a voice of its own.

espeak-ng is GPL-3.0; the server never links it, it runs the `espeak-ng` program and reads its output
(docs/VOICE.md says why that matters for an MIT project).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

from app.voice.audio import AudioError, Speech, read_wav

# A clause ends at punctuation followed by white space (so "3.5" stays one number).
_CLAUSE = re.compile(r"(?<=[.,;:!?…])\s+")
# The punctuation Piper's voices were trained with at the end of a clause.
_PIPER_PUNCTUATION = ".,;:!?"
TIMEOUT_S = 20.0


class EspeakMissing(RuntimeError):
    """The espeak-ng program is not installed."""


def program() -> str:
    """The espeak-ng program's path."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise EspeakMissing("espeak-ng is not installed (Debian: apt-get install espeak-ng; `make` does it)")
    return found


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    """Start espeak-ng; its text comes on standard input (never as an argument: text is not an option)."""
    return subprocess.Popen(
        [program(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _output(process: subprocess.Popen[bytes], text: str) -> bytes:
    """Give a started espeak-ng its text; what it wrote, or an error that says what went wrong."""
    try:
        out, err = process.communicate(text.encode("utf-8"), timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.communicate()
        raise AudioError("voice_failed", "espeak-ng took too long") from exc
    if process.returncode != 0:
        raise AudioError("voice_failed", f"espeak-ng failed: {err.decode(errors='replace').strip()[:200]}")
    return out


def phonemize(text: str, voice: str) -> str:
    """IPA phonemes of a sentence as Piper expects them: clause by clause, each with its punctuation.

    The espeak-ng program drops punctuation from its IPA output, and Piper's voices need it (a comma is a
    pause, a question mark a rise), so each clause is phonemized on its own, all of them at once.
    """
    clauses = [c.strip() for c in _CLAUSE.split(" ".join(text.split())) if c.strip()]
    started = [_start(["-q", "--ipa", "-v", voice]) for _ in clauses]
    parts = []
    for clause, process in zip(clauses, started, strict=True):
        ipa = " ".join(_output(process, clause).decode("utf-8").split())
        mark = clause[-1] if clause[-1] in _PIPER_PUNCTUATION else ("." if clause.endswith("…") else "")
        if ipa or mark:
            parts.append(ipa + mark)
    # Piper's phoneme ids are per code point of the decomposed form (as piper-phonemize gives them).
    return unicodedata.normalize("NFD", " ".join(parts))


def speak(text: str, voice: str, *, words_per_minute: int = 165) -> Speech:
    """espeak-ng's own synthetic voice (formant synthesis: robotic, but tiny and instant)."""
    process = _start(["--stdout", "-v", voice, "-s", str(words_per_minute)])
    return read_wav(_output(process, text))
