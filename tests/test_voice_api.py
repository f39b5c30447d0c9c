"""/v1/audio through the official openai SDK, as Open WebUI or any OpenAI client would use her voice."""

from __future__ import annotations

import io
import wave
from typing import Any

import httpx
import openai
import pytest

from app.voice.service import Voice
from bench.wer import word_error_rate
from tests.voice_audio import silence, spoken_wav

pytest_plugins = ["tests.voice_fixtures"]

SENTENCE = "It is lovely to hear your voice this morning."


@pytest.fixture
async def server(make_server: Any, voice: Voice) -> Any:
    return await make_server(shared_voice=voice)


def client(server: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0)


async def test_speech_then_transcription_round_trip(server: Any) -> None:
    api = client(server)
    spoken = await api.audio.speech.create(
        model="tts-1", voice="alloy", input=SENTENCE, response_format="wav"
    )
    audio = spoken.content
    with wave.open(io.BytesIO(audio)) as w:
        assert w.getframerate() == 22_050 and w.getnchannels() == 1
        assert 1.5 < w.getnframes() / w.getframerate() < 6
    heard = await api.audio.transcriptions.create(model="whisper-1", file=("hello.wav", audio, "audio/wav"))
    assert word_error_rate(SENTENCE, heard.text) <= 0.1, heard.text


async def test_mp3_by_default_and_every_openai_format(server: Any) -> None:
    api = client(server)
    default = await api.audio.speech.create(model="tts-1", voice="nova", input="Hello there.")
    assert default.response.headers["content-type"] == "audio/mpeg"
    assert default.content[:3] == b"ID3" or default.content[0] == 0xFF  # an MP3 header or frame
    heard = await api.audio.transcriptions.create(model="whisper-1", file=("hi.mp3", default.content))
    assert word_error_rate("Hello there.", heard.text) <= 0.5, heard.text
    pcm = await api.audio.speech.create(model="tts-1", voice="nova", input="Hello.", response_format="pcm")
    assert len(pcm.content) % 2 == 0 and len(pcm.content) > 24_000 * 2 * 0.3  # 24 kHz 16-bit, >0.3 s
    for fmt, magic in (("opus", b"OggS"), ("flac", b"fLaC")):
        out = await api.audio.speech.create(model="tts-1", voice="nova", input="Hi.", response_format=fmt)  # type: ignore[arg-type]
        assert out.content.startswith(magic), fmt


async def test_her_own_voices_can_be_chosen_by_name(server: Any) -> None:
    api = client(server)
    joe = await api.audio.speech.create(model="tts-1", voice="joe", input="Hi.", response_format="wav")
    robot = await api.audio.speech.create(model="tts-1", voice="espeak", input="Hi.", response_format="wav")
    assert joe.content != robot.content
    with pytest.raises(openai.BadRequestError) as caught:
        await api.audio.speech.create(model="tts-1", voice="darth", input="Hi.")
    assert "unknown voice 'darth'" in caught.value.message and "joe" in caught.value.message


async def test_transcription_formats(server: Any, voice: Voice) -> None:
    api = client(server)
    audio = await spoken_wav(voice, SENTENCE)
    text = await api.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", audio), response_format="text"
    )
    assert word_error_rate(SENTENCE, str(text)) <= 0.1
    verbose = await api.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", audio), response_format="verbose_json"
    )
    assert verbose.duration and 1.5 < verbose.duration < 6 and verbose.segments
    srt = await api.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", audio), response_format="srt"
    )
    assert str(srt).startswith("1\n00:00:0") and " --> " in str(srt)


async def error_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(openai.APIStatusError) as caught:
        await call
    body = caught.value.body
    assert isinstance(body, dict) and body.get("message"), body
    return caught.value.status_code, body


@pytest.mark.parametrize(
    ("audio", "code"),
    [
        (b"", "empty_audio"),
        (b"<html>not audio at all</html>" * 10, "bad_audio"),
        (silence(2.0), "no_speech"),
    ],
)
async def test_bad_uploads_get_a_clear_400(server: Any, audio: bytes, code: str) -> None:
    api = client(server)
    status, error = await error_of(api.audio.transcriptions.create(model="whisper-1", file=("x.wav", audio)))
    assert (status, error["code"]) == (400, code)


async def test_a_huge_upload_is_refused_with_the_setting_to_raise(make_server: Any, voice: Voice) -> None:
    server = await make_server(shared_voice=voice, max_audio_bytes=64_000)
    big = silence(3.0)  # 96 kB
    status, error = await error_of(
        client(server).audio.transcriptions.create(model="whisper-1", file=("x.wav", big))
    )
    assert status == 413 and "--max-audio-bytes" in error["message"]


async def test_wrong_language_and_too_much_text_are_refused(server: Any) -> None:
    api = client(server)
    status, error = await error_of(
        api.audio.transcriptions.create(model="whisper-1", file=("x.wav", silence(1.0)), language="fr")
    )
    assert status == 400 and error["code"] == "unsupported_language"
    status, error = await error_of(api.audio.speech.create(model="tts-1", voice="alloy", input="x" * 5000))
    assert status == 400 and error["param"] == "input"


async def test_a_server_without_voice_says_so(make_server: Any) -> None:
    server = await make_server(voice="off", listen="off")
    api = client(server)
    status, error = await error_of(api.audio.speech.create(model="tts-1", voice="alloy", input="Hi."))
    assert status == 503 and "--voice off" in error["message"]
    status, error = await error_of(
        api.audio.transcriptions.create(model="whisper-1", file=("x.wav", silence(1.0)))
    )
    assert status == 503 and "--listen off" in error["message"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/voice")).json() == {"voice": None, "voices": [], "listen": False}
