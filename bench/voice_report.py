"""Tables for bench/voice.py: printed, and as the `voice` section of bench/RESULTS.md."""

from __future__ import annotations

from typing import Any


def _rows(results: dict[str, Any]) -> list[str]:
    stt, fa = results["stt"], results["first_audio"]
    lines = [
        "| speech to text (Whisper tiny.en int8, 1 thread), 8 sentences "
        "| WER | latency p50 ms | max ms | audio s |",
        "|---|---:|---:|---:|---:|",
    ]
    for speaker, row in stt.items():
        lines.append(
            f"| spoken by {speaker} | {row['wer']:.1%} | {row['latency_ms_p50']} | {row['latency_ms_max']} "
            f"| {row['audio_s_mean']} |"
        )
    alone, beside = results["tts_alone"], results["tts_with_llm"]
    lines += [
        "",
        "| synthesis (Piper joe, onnxruntime, 1 thread) | RTF p50 | RTF max | one sentence ms p50 |",
        "|---|---:|---:|---:|",
        f"| alone | {alone['rtf_p50']} | {alone['rtf_max']} | {alone['sentence_ms_p50']} |",
        f"| while the language model generates | {beside['rtf_p50']} | {beside['rtf_max']} "
        f"| {beside['sentence_ms_p50']} |",
        "",
        f"The language model wrote {beside['llm_deltas_per_s_alone']} deltas/s alone and "
        f"{beside['llm_deltas_per_s_with_voice']} while her voice spoke beside it.",
        "",
        f"| a spoken turn on {results['model']}, {len(fa['runs'])} turns | p50 ms |",
        "|---|---:|",
        f"| recording sent -> transcript | {fa['p50']['stt_ms']} |",
        f"| transcript -> her first words (text: recall, prompt, the model's first clause) "
        f"| {fa['p50']['first_delta_ms']} |",
        f"| her first words -> her first audio (the rest of the clause, synthesis) "
        f"| {fa['p50']['voice_ms']} |",
        f"| **recording sent -> her first audio** | **{fa['p50']['first_audio_ms']}** |",
        "",
        "| memory added (RSS, fresh process) | MB |",
        "|---|---:|",
    ]
    for which, rss in results["rss"].items():
        lines.append(f"| {which} | {rss['after_mb'] - rss['before_mb']:.0f} |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    head = [
        "## Her voice and ears (bench/voice.py)",
        "",
        f"`.venv/bin/python -m bench.voice {results['args']}`; {results['machine']}; load average "
        f"{results['load_average']}; {results['date']}; commit {results['commit']}; runtime "
        f"{results['runtime_s']} s.",
        "",
    ]
    misheard = [t for row in results["stt"].values() for t in row["misheard"]]
    tail = ["", "Misheard: " + ("; ".join(f"“{t}”" for t in misheard) if misheard else "nothing.")]
    return "\n".join(head + _rows(results) + tail)


def print_tables(results: dict[str, Any]) -> None:
    """The tables on the terminal."""
    print("\n".join(_rows(results)))
