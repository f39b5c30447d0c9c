"""Her voice and ears: speech-to-text latency and word error rate, time to her first audio after the person
stops speaking (a whole turn on the default model), synthesis real-time factor alone and while the language
model generates, and the memory each speech model adds.

The "recorded sentences" are spoken by the two voices she has (Piper joe, espeak-ng), and joe again under
noise at 10 dB SNR: no human recordings ship in a package. Whisper tiny.en (int8), one thread each, as the
server runs them.

Run: .venv/bin/python -m bench.voice [--turns 5] [--no-record]
Prints tables and writes bench/results/voice.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.voice.audio import Speech, wav_bytes
from app.voice.service import Voice
from bench.locomo_metrics import machine as describe_machine
from bench.report import RESULTS_DIR, commit, record_section, write_json
from bench.voice_report import markdown, print_tables
from bench.wer import edit_distance, words

SENTENCES = [
    "I went for a long walk by the river this morning.",
    "Could you remind me to call my sister tonight?",
    "My dog is called Biscuit and he hates the rain.",
    "What do you think makes a friendship last?",
    "I had a rough day at work and I just want to talk.",
    "Tell me something you find beautiful.",
    "We should watch a film together on Friday.",
    "I can't decide whether to take the new job.",
]
QUESTIONS = ["How was your day?", "What should I cook tonight?", "Do you like the rain?", "Tell me a story."]


def rss_mb() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_probe(which: str) -> dict[str, float]:
    """Run in a fresh process: RSS before and after loading one model and using it once."""
    voice = Voice(voice="joe" if which == "joe" else "espeak", listen=True)
    before = rss_mb()
    if which == "whisper":  # espeak-ng's voice is a separate program: it adds nothing to the server
        said = asyncio.run(voice.say_all(SENTENCES[0]))
        before = rss_mb()
        asyncio.run(voice.hear(wav_bytes(said)))
    else:
        asyncio.run(voice.say_all(SENTENCES[0]))
    return {"before_mb": round(before, 1), "after_mb": round(rss_mb(), 1)}


def noisy(speech: Speech, snr_db: float) -> Speech:
    """The speech with white noise at a signal-to-noise ratio."""
    signal = speech.pcm.astype(np.float64)
    noise = np.random.default_rng(7).normal(0, 1, len(signal))
    noise *= np.sqrt(np.mean(signal**2) / 10 ** (snr_db / 10)) / np.std(noise)
    return Speech(np.clip(signal + noise, -32768, 32767).astype(np.int16), speech.sample_rate)


async def speech_to_text(voice: Voice) -> dict[str, Any]:
    """WER and latency per speaker."""
    out: dict[str, Any] = {}
    for speaker in ("joe", "espeak", "joe + noise 10 dB"):
        errors = total = 0
        latencies, seconds, misheard = [], [], []
        for sentence in SENTENCES:
            said = await voice.say_all(sentence, voice="espeak" if speaker == "espeak" else "joe")
            if "noise" in speaker:
                said = noisy(said, 10.0)
            started = time.perf_counter()
            heard = await voice.hear(wav_bytes(said))
            latencies.append((time.perf_counter() - started) * 1000)
            seconds.append(said.seconds)
            e = edit_distance(words(sentence), words(heard.text))
            errors, total = errors + e, total + len(words(sentence))
            if e:
                misheard.append(heard.text)
        out[speaker] = {
            "wer": round(errors / total, 4),
            "latency_ms_p50": round(statistics.median(latencies), 1),
            "latency_ms_max": round(max(latencies), 1),
            "audio_s_mean": round(statistics.mean(seconds), 2),
            "misheard": misheard,
        }
    return out


async def synthesis(voice: Voice) -> dict[str, Any]:
    """Real-time factor of the joe voice per sentence (synthesis time / audio length)."""
    rtfs, firsts = [], []
    for sentence in SENTENCES:
        started = time.perf_counter()
        said = await voice.say(sentence)
        spent = time.perf_counter() - started
        rtfs.append(spent / said.seconds)
        firsts.append(spent * 1000)
    result = {"rtf_p50": round(statistics.median(rtfs), 3), "rtf_max": round(max(rtfs), 3)}
    result["sentence_ms_p50"] = round(statistics.median(firsts), 1)
    return result


async def with_generation(voice: Voice, backend: Any) -> dict[str, Any]:
    """Synthesis while llama.cpp writes a long reply, and llama.cpp's speed with and without it."""
    from app.backends.base import GenParams, Message

    messages = [Message(role="user", content="Tell me a long story about a lighthouse keeper.")]
    params = GenParams(max_tokens=400, temperature=0.0, repeat_penalty=1.1)

    async def generate(stop: asyncio.Event) -> float:
        tokens, started = 0, time.perf_counter()
        async for _ in backend.generate(messages, params):
            tokens += 1
            if stop.is_set():
                break
        return tokens / (time.perf_counter() - started)

    alone = await generate(asyncio.Event())
    stop = asyncio.Event()
    running = asyncio.create_task(generate(stop))
    await asyncio.sleep(3.0)  # past the prompt: it is writing
    speaking = await synthesis(voice)
    stop.set()
    beside = await running
    return {
        **speaking,
        "llm_deltas_per_s_alone": round(alone, 2),
        "llm_deltas_per_s_with_voice": round(beside, 2),
    }


async def first_audio(voice: Voice, backend: Any, turns: int) -> dict[str, Any]:
    """From the moment the recording is sent to her first audio frame, through a real server."""
    from websockets.asyncio.client import connect

    from app.config import Settings
    from app.server import RunningServer

    data = Path(tempfile.mkdtemp()) / "data"
    server = await RunningServer.start(
        Settings(data_dir=data, seeds_dir=""), backend=backend, port=0, voice=voice
    )
    rows = []
    try:
        async with connect(server.ws_url, max_size=8 << 20) as ws:

            async def frame() -> dict[str, Any]:
                got: dict[str, Any] = json.loads(await ws.recv())
                return got

            await ws.send(json.dumps({"type": "hello", "conversation": None, "token": None}))
            await frame()
            await ws.send(json.dumps({"type": "voice", "read_aloud": True, "voice": None}))
            await frame()
            await voice.warm(ears=True)
            for n in range(turns + 1):  # the first turn evaluates the persona's prompt: not counted
                question = QUESTIONS[n % len(QUESTIONS)]
                recording = wav_bytes(await voice.say_all(question, voice="espeak"))
                t0 = time.perf_counter()
                await ws.send(recording)
                heard = await frame()
                t1 = time.perf_counter()
                await ws.send(json.dumps({"type": "user", "text": heard["text"]}))
                first_delta = None
                while (f := await frame())["type"] != "audio":
                    if f["type"] == "delta" and first_delta is None:
                        first_delta = time.perf_counter()
                t2 = time.perf_counter()
                assert base64.b64decode(f["data"])[:4] == b"RIFF"
                while (await frame())["type"] != "audio_end":
                    pass
                if n > 0:
                    rows.append({
                        "stt_ms": (t1 - t0) * 1000,
                        "first_delta_ms": ((first_delta or t2) - t1) * 1000,
                        "first_audio_ms": (t2 - t0) * 1000,
                        "sentence": f["text"],
                    })  # fmt: skip
    finally:
        await server.stop()
    for r in rows:  # what her voice adds after her first words: the rest of the sentence, and saying it
        r["voice_ms"] = r["first_audio_ms"] - r["stt_ms"] - r["first_delta_ms"]
    p50 = {
        k: round(statistics.median(r[k] for r in rows), 1)
        for k in ("stt_ms", "first_delta_ms", "voice_ms", "first_audio_ms")
    }
    return {"p50": p50, "runs": rows}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement, in order (the language model last: it takes the cores)."""
    from app.backends import create_backend
    from app.config import Settings

    rss = {
        which: json.loads(
            subprocess.run(
                [sys.executable, "-m", "bench.voice", "--rss-of", which],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for which in ("joe", "whisper")
    }
    voice = Voice(voice="joe", listen=True, threads=1)
    await voice.warm(ears=True)
    results: dict[str, Any] = {"rss": rss, "stt": await speech_to_text(voice)}
    results["tts_alone"] = await synthesis(voice)
    backend = await asyncio.to_thread(create_backend, Settings(seeds_dir="", model=args.model))
    try:
        results["model"] = str(getattr(backend, "model_name", backend.name))
        results["tts_with_llm"] = await with_generation(voice, backend)
        results["first_audio"] = await first_audio(voice, backend, args.turns)
    finally:
        await backend.aclose()
        await voice.aclose()
    return results


def main() -> int:
    """Parse options, run, print, write JSON (and the RESULTS.md section)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=5, help="whole spoken turns on the default model")
    parser.add_argument(
        "--model", default=None, help="a model name or GGUF path (default: the default model)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument("--rss-of", choices=["joe", "whisper"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_of:
        print(json.dumps(rss_probe(args.rss_of)))
        return 0
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results |= {
        "machine": describe_machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runtime_s": round(time.perf_counter() - started, 1),
        "date": datetime.now().astimezone().isoformat(timespec="minutes"),
        "commit": commit(),
        "args": " ".join(sys.argv[1:]),
    }
    print_tables(results)
    name = "voice" if args.model is None else f"voice-{Path(args.model).stem}"
    write_json(RESULTS_DIR / f"{name}.json", results)
    if not args.no_record:
        record_section(name, markdown(results))
    print(f"\nwrote {RESULTS_DIR / name}.json in {results['runtime_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
