"""Push-to-talk and read-aloud in `samantha chat`: real speech into the real client, a real server's ears
and voice. The machine has no microphone or speaker, so the client hears an audio file (`--mic`, her own
voice saying a sentence) and writes what she says to another (`--speaker`), which is then transcribed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.voice.audio import LISTEN_RATE, decode
from app.voice.service import Voice
from bench.wer import word_error_rate
from tests.terminal import ROOT
from tests.voice_audio import silence, spoken_wav

pytest_plugins = ["tests.voice_fixtures"]

SENTENCE = "My sister lives in Lisbon and she plays the cello."


async def heard_at_the_prompt(tty: Any) -> str:
    """What the transcript put at the prompt, once readline has drawn it."""
    await tty.expect(r"heard you: edit it if you like", timeout=60)
    await tty.expect(r"you> \S")
    await asyncio.sleep(0.5)  # readline draws the line in pieces
    return tty.screen.rsplit("you> ", 1)[1].strip()


async def record(tty: Any, seconds: float) -> None:
    """Let the microphone hear `seconds` of audio, then press Enter to stop."""
    await tty.expect(r"listening… press Enter to stop, Ctrl\+C to drop it")
    await asyncio.sleep(seconds)
    tty.type("\r")


async def test_speech_becomes_an_editable_message_and_her_reply_is_spoken(
    make_server: Any, terminal: Any, voice: Voice, tmp_path: Path
) -> None:
    mic, speaker = tmp_path / "mic.wav", tmp_path / "speaker.wav"
    mic.write_bytes(await spoken_wav(voice, SENTENCE))
    seconds = len(decode(mic.read_bytes(), max_seconds=60)) / LISTEN_RATE + 0.5
    server = await make_server(shared_voice=voice)
    tty = await terminal("--url", server.running.ws_url, "--mic", str(mic), "--speaker", str(speaker))
    await tty.say("/read on")
    await tty.expect(r"\(reading her replies aloud, in the voice joe\)")

    await tty.say("/talk")
    await record(tty, seconds)
    transcript = await heard_at_the_prompt(tty)
    assert word_error_rate(SENTENCE, transcript) <= 0.2, transcript
    tty.type(" Really?\r")  # edited before sending: the words typed go after what was heard
    shown = await tty.expect(r'Samantha: (You said: "(.*?)"\. .*\(\d+ earlier messages in view\.\))')
    reply, said = shown.groups()
    assert said == f"{transcript} Really?"

    # Her reply was read aloud, sentence by sentence, into the speaker file: it says what the screen says.
    spoken = ""
    for _ in range(120):
        await asyncio.sleep(0.5)
        if speaker.stat().st_size > 44 and (heard := await voice.hear(speaker.read_bytes(), max_seconds=120)):
            spoken = heard.text
            if word_error_rate(reply, spoken) <= 0.35:
                break
    assert word_error_rate(reply, spoken) <= 0.35, (reply, spoken)

    # Ctrl+T while typing: what was typed stays in front of what is said; cut short, the recording
    # holds only the start of the sentence.
    await tty.expect(r"you> $")
    tty.type("Guess what,")
    await tty.expect(r"Guess what,$")
    await asyncio.sleep(0.5)
    tty.type("\x14")  # Ctrl+T
    await record(tty, 1.2)
    draft = await heard_at_the_prompt(tty)
    assert draft.startswith("Guess what, ") and "cello" not in draft.lower(), draft
    tty.type("\x15\r")  # Ctrl+U: the person thinks better of it and clears the line
    await tty.say("/talk")
    await tty.expect(r"listening…")
    tty.type("\x03")  # Ctrl+C drops a recording
    await tty.expect(r"\(dropped\)")
    await tty.say("/quit")
    assert await tty.exit_status() == 0
    assert "Traceback" not in tty.screen


async def test_no_microphone_and_a_server_without_voice_are_said_plainly(
    make_server: Any, terminal: Any, tmp_path: Path
) -> None:
    sounddevice = pytest.importorskip("sounddevice")
    try:
        sounddevice.query_devices(kind="input")
        pytest.skip("this machine has a microphone")
    except sounddevice.PortAudioError:
        pass
    server = await make_server()
    tty = await terminal("--url", server.running.ws_url)
    await tty.say("/talk")
    await tty.expect(r"! no microphone found \(on a machine without one, `samantha chat --mic FILE`")
    await tty.say("/read on")
    await tty.expect(
        r"! no speaker found \(`samantha chat --speaker FILE` writes her voice to a file instead\)"
    )
    quiet = await make_server(voice="off", listen="off")
    tty = await terminal("--url", quiet.running.ws_url, "--speaker", str(tmp_path / "out.wav"))
    await tty.expect(r"you> $")
    tty.type("Typed first")
    await tty.expect(r"Typed first$")
    await asyncio.sleep(0.5)
    tty.type("\x14")  # Ctrl+T
    await tty.expect(r"! this server does not listen to speech \(it runs with --listen off\)")
    await tty.expect(r"you> Typed first")  # what was typed is not lost
    tty.type("\x15/read on\r")  # Ctrl+U clears it
    await tty.expect(r"! her voice is off on this server \(samantha serve --voice off\) \[voice_off\]")
    await tty.say("/read loud")
    await tty.expect(r"Usage: /read on\|off \(reading her replies aloud is off\)")
    await tty.say("/quit")
    assert await tty.exit_status() == 0
    assert "Traceback" not in tty.screen


async def test_silence_is_said_plainly_and_nothing_is_sent(
    make_server: Any, terminal: Any, voice: Voice, tmp_path: Path
) -> None:
    mic = tmp_path / "muted.wav"
    mic.write_bytes(silence(3.0))
    server = await make_server(shared_voice=voice)
    tty = await terminal("--url", server.running.ws_url, "--mic", str(mic))
    await tty.say("/talk")
    await record(tty, 1.5)
    await tty.expect(r"! .* \[no_speech\]", timeout=60)
    assert (await tty.prompt()).strip() == ""  # an empty prompt: nothing heard, nothing to send
    await tty.say("/quit")
    assert await tty.exit_status() == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/conversations")).json() == []


def test_a_microphone_file_that_is_not_audio_is_refused_at_the_start(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a recording")
    for path, why in ((notes, "this is not audio I can read"), (tmp_path / "missing.wav", "cannot read")):
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "chat", "--mic", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert result.returncode == 2, result.stderr
        assert re.search(re.escape(why), result.stderr), result.stderr
        assert "Traceback" not in result.stderr
