"""Her voice and ears with the real models: what she says can be understood, and bad audio is refused
with a reason a person can act on."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.voice import espeak
from app.voice.audio import AudioError, Speech, decode, encode, wav_bytes
from app.voice.service import Voice, voice_for
from app.voice.text import SentenceSplitter, sentences, spoken
from bench.wer import word_error_rate
from tests.voice_audio import silence, spoken_wav

pytest_plugins = ["tests.voice_fixtures"]

SENTENCE = "My dog is called Biscuit, and he loves running in the park."


def test_a_streamed_reply_is_cut_into_sentences_as_they_complete() -> None:
    reply = 'I met Dr. Lee at 3.30 today. He said "wow." Shall we go? Maybe'
    splitter = SentenceSplitter()
    seen = []
    for piece in reply.split(" "):
        seen += splitter.push(piece + " ")
    assert seen == ["I met Dr. Lee at 3.30 today.", 'He said "wow."', "Shall we go?"]
    assert splitter.flush() == ["Maybe"]
    assert sentences("One. Two!\nThree") == ["One.", "Two!", "Three"]


def test_her_first_words_can_be_a_clause_so_they_are_heard_sooner() -> None:
    splitter = SentenceSplitter(first_clause=24)
    assert splitter.push("Oh, that is ") == []  # too short to say on its own
    assert splitter.push("such lovely news, really, ") == ["Oh, that is such lovely news,"]
    assert splitter.push("I am so glad. Tell me more, ") == ["really, I am so glad."]  # then sentences
    assert splitter.flush() == ["Tell me more,"]


def test_a_very_long_sentence_is_cut_at_a_clause() -> None:
    long = "I was thinking about it, " * 12
    parts = sentences(long)
    assert len(parts) > 1 and all(len(p) <= 240 for p in parts)


def test_formatting_marks_are_not_read_out() -> None:
    assert spoken("**Really?** Look at _this_:\n- one\n- two") == "Really? Look at this:\none\ntwo"
    assert spoken("see https://example.org/x") == "see a link"


async def test_what_she_says_is_understood(voice: Voice) -> None:
    heard = await voice.hear(await spoken_wav(voice, SENTENCE))
    assert word_error_rate(SENTENCE, heard.text) <= 0.1, heard.text
    assert 2.0 < heard.seconds < 8.0


async def test_the_espeak_voice_is_understood_too(voice: Voice) -> None:
    heard = await voice.hear(await spoken_wav(voice, "What time shall we meet tomorrow?", "espeak"))
    assert word_error_rate("What time shall we meet tomorrow?", heard.text) <= 0.2, heard.text


async def test_compressed_audio_is_read(voice: Voice) -> None:
    said = await voice.say_all("Good morning, how did you sleep?")
    for fmt in ("mp3", "opus", "flac"):
        heard = await voice.hear(encode(said, fmt))
        assert word_error_rate("Good morning, how did you sleep?", heard.text) <= 0.2, (fmt, heard.text)


@pytest.mark.parametrize(
    ("audio", "code"),
    [
        (b"", "empty_audio"),
        (b"this is a text file, not a recording" * 20, "bad_audio"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt broken", "bad_audio"),
        (silence(2.0), "no_speech"),
        (silence(3.0, level=0.01), "no_speech"),  # a quiet hiss: the VAD hears no voice in it
    ],
)
async def test_bad_audio_gets_a_clear_error(voice: Voice, audio: bytes, code: str) -> None:
    with pytest.raises(AudioError) as caught:
        await voice.hear(audio)
    assert caught.value.code == code
    assert caught.value.message


async def test_too_long_audio_is_refused_before_it_fills_memory(voice: Voice) -> None:
    with pytest.raises(AudioError) as caught:
        await voice.hear(silence(5.0), max_seconds=2.0)
    assert caught.value.code == "audio_too_long" and "2 seconds" in caught.value.message


async def test_speech_in_another_language_is_not_passed_off_as_english(voice: Voice) -> None:
    french = await asyncio.to_thread(
        espeak.speak, "Bonjour, je m'appelle Samantha et j'aime beaucoup la musique.", "fr"
    )
    with pytest.raises(AudioError) as caught:
        await voice.hear(wav_bytes(french))
    assert caught.value.code in ("unclear_speech", "no_speech")
    assert "English" in caught.value.message or "didn't hear" in caught.value.message


async def test_off_means_off() -> None:
    quiet = voice_for("off", "joe", listen=False, threads=1)
    try:
        with pytest.raises(AudioError, match="voice is off"):
            await quiet.say("hello")
        with pytest.raises(AudioError, match="--listen off"):
            await quiet.hear(silence(1.0))
        assert quiet.status() == {"voice": None, "voices": [], "listen": False}
    finally:
        await quiet.aclose()


def test_the_voice_comes_from_the_flag_then_the_persona_then_the_default() -> None:
    assert voice_for("espeak", "joe", listen=True, threads=1).voice == "espeak"
    assert voice_for(None, "espeak", listen=True, threads=1).voice == "espeak"
    assert voice_for(None, "no-such-voice", listen=True, threads=1).voice == "joe"
    assert voice_for(None, None, listen=True, threads=1).voice == "joe"


def test_decoding_resamples_to_16k_mono() -> None:
    tone = Speech((np.sin(np.arange(22_050) / 5) * 8000).astype(np.int16), 22_050)
    samples = decode(wav_bytes(tone), max_seconds=5)
    assert samples.dtype == np.float32 and abs(len(samples) - 16_000) < 100
