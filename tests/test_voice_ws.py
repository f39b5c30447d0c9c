"""Voice on the chat socket: her reply read aloud sentence by sentence while it is still being written,
push-to-talk transcripts, and Stop (or barge-in) silencing her at once."""

from __future__ import annotations

import base64
import io
import time
import wave
from typing import Any

import pytest

from app.backends.scripted import ScriptedBackend
from app.voice.service import Voice
from bench.wer import word_error_rate
from tests.voice_audio import silence, spoken_wav

pytest_plugins = ["tests.voice_fixtures"]

REPLY = (
    "That sounds like a lovely idea. I would walk by the river first, where it is quiet. "
    "Then we could sit on a bench and watch the boats go past. Tell me how it goes tomorrow."
)


async def read_aloud(chat: Any, on: bool = True, voice: str | None = None) -> dict[str, Any]:
    await chat.send({"type": "voice", "read_aloud": on, "voice": voice})
    state: dict[str, Any] = await chat.recv()
    return state


async def until(chat: Any, kind: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every frame up to and including the first of `kind`."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not frames or frames[-1]["type"] != kind:
        assert time.monotonic() < deadline, [f["type"] for f in frames]
        frames.append(await chat.recv())
    return frames


async def test_her_reply_is_read_aloud_while_she_is_still_writing_it(make_server: Any, voice: Voice) -> None:
    # 40 words at 0.12 s each: the reply takes ~5 s to write, and her first sentence is ready long before.
    server = await make_server(ScriptedBackend([REPLY], delay=0.12), shared_voice=voice)
    chat = await server.chat()
    state = await read_aloud(chat)
    assert state == {"type": "voice_state", "read_aloud": True, "voice": "joe", "voices": ["joe", "espeak"],
                     "listen": True}  # fmt: skip
    await voice.warm(voice="joe")
    await chat.send({"type": "user", "text": "Shall we go for a walk?"})
    frames = await until(chat, "audio_end")
    kinds = [f["type"] for f in frames]
    assert kinds.index("audio") < kinds.index("done"), kinds  # she spoke before she finished writing
    audio = [f for f in frames if f["type"] == "audio"]
    assert [a["index"] for a in audio] == list(range(len(audio))) == list(range(frames[-1]["chunks"]))
    assert " ".join(a["text"] for a in audio) == REPLY  # every sentence, in order, nothing else
    assert audio[0]["text"] == "That sounds like a lovely idea."
    first = base64.b64decode(audio[0]["data"])
    with wave.open(io.BytesIO(first)) as w:
        assert w.getframerate() == audio[0]["sample_rate"] == 22_050
        assert abs(w.getnframes() / w.getframerate() - audio[0]["seconds"]) < 0.01
    heard = await voice.hear(first)
    assert word_error_rate(audio[0]["text"], heard.text) <= 0.2, heard.text
    assert frames[-1]["interrupted"] is False


async def test_stop_silences_her_at_once(make_server: Any, voice: Voice) -> None:
    server = await make_server(ScriptedBackend([REPLY, "Okay."], delay=0.12), shared_voice=voice)
    chat = await server.chat()
    await read_aloud(chat)
    await chat.send({"type": "user", "text": "Tell me about the walk"})
    await until(chat, "audio")  # she has started speaking
    await chat.send({"type": "cancel"})  # what the page sends on Stop, and when the person starts talking
    frames = await until(chat, "done")
    assert frames[-1]["interrupted"] is True
    # Nothing more is said about the old reply: the next frames belong to the next turn.
    await chat.send({"type": "user", "text": "Never mind"})
    after = await until(chat, "audio_end")
    assert [f["text"] for f in after if f["type"] == "audio"] == ["Okay."]


async def test_read_aloud_can_be_turned_off(make_server: Any, voice: Voice) -> None:
    server = await make_server(ScriptedBackend(["Hello there. How are you?"]), shared_voice=voice)
    chat = await server.chat()
    assert (await read_aloud(chat, on=False))["read_aloud"] is False
    assert "audio" not in [f["type"] for f in await chat.turn("hi")]
    await chat.send({"type": "ping"})
    assert (await chat.recv())["type"] == "pong"  # no audio frame came in between


async def test_push_to_talk_gives_back_what_was_said(make_server: Any, voice: Voice) -> None:
    server = await make_server(shared_voice=voice)
    chat = await server.chat()
    said = "Could you remind me to call my sister tonight?"
    await chat.ws.send(await spoken_wav(voice, said))
    heard = await chat.recv()
    assert heard["type"] == "transcript", heard
    assert word_error_rate(said, heard["text"]) <= 0.15, heard["text"]
    assert 2.0 < heard["seconds"] < 6.0 and heard["ms"] > 0


@pytest.mark.parametrize(
    ("audio", "code"),
    [(b"not audio" * 50, "bad_audio"), (silence(1.5), "no_speech"), (b"", "empty_audio")],
)
async def test_bad_recordings_get_an_error_and_the_socket_stays(
    make_server: Any, voice: Voice, audio: bytes, code: str
) -> None:
    server = await make_server(shared_voice=voice)
    chat = await server.chat()
    await chat.ws.send(audio)
    error = await chat.recv()
    assert (error["type"], error["code"]) == ("error", code) and error["message"]
    assert (await chat.turn("still there?"))[-1]["type"] == "done"


async def test_unknown_voice_and_a_server_without_voice(make_server: Any, voice: Voice) -> None:
    chat = await (await make_server(shared_voice=voice)).chat()
    await chat.send({"type": "voice", "read_aloud": True, "voice": "darth"})
    error = await chat.recv()
    assert error["code"] == "unknown_voice" and "joe" in error["message"]
    mute = await (await make_server(voice="off", listen="off")).chat()
    refused = await read_aloud(mute)
    assert refused["code"] == "voice_off" and "--voice off" in refused["message"]
    await mute.ws.send(silence(1.0))
    assert (await mute.recv())["code"] == "listen_off"
