"""A Piper voice (VITS, ONNX) run with onnxruntime, its phonemes from the espeak-ng program.

Not the `piper-tts` package: it is GPL-3.0 and links espeak-ng. This is the same inference (phoneme ids in,
float audio out) in a few lines of MIT code; the voice itself is data (docs/VOICE.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from app.voice.audio import Speech
from app.voice.espeak import phonemize

log = logging.getLogger(__name__)

# Piper's special symbols: start and end of an utterance, and the pad put after every phoneme.
BOS, EOS, PAD = "^", "$", "_"


class PiperVoice:
    """One Piper voice: its ONNX model and the config beside it (`<voice>.onnx.json`)."""

    def __init__(self, name: str, model: Path, config: Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        self.name = name
        self.config = json.loads(config.read_text(encoding="utf-8"))
        self.sample_rate = int(self.config["audio"]["sample_rate"])
        self.espeak_voice = str(self.config.get("espeak", {}).get("voice", "en-us"))
        self.ids: dict[str, list[int]] = self.config["phoneme_id_map"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # her voice keeps to its own core budget
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def phoneme_ids(self, phonemes: str) -> list[int]:
        """Piper's ids: start, then each known phoneme followed by the pad, then end."""
        ids = [*self.ids[BOS], *self.ids[PAD]]
        for phoneme in phonemes:
            if phoneme in self.ids:
                ids += [*self.ids[phoneme], *self.ids[PAD]]
        return [*ids, *self.ids[EOS]]

    def synthesize(self, text: str, *, speed: float = 1.0) -> Speech:
        """Say one sentence (or a few); blocking, so it runs on the voice's own thread."""
        ids = self.phoneme_ids(phonemize(text, self.espeak_voice))
        if len(ids) <= 3:  # nothing sayable (only symbols)
            return Speech(np.zeros(0, np.int16), self.sample_rate)
        inference = self.config.get("inference", {})
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(
                [
                    inference.get("noise_scale", 0.667),
                    inference.get("length_scale", 1.0) / speed,
                    inference.get("noise_w", 0.8),
                ],
                dtype=np.float32,
            ),
        }
        if "sid" in self.inputs:
            feeds["sid"] = np.array([0], dtype=np.int64)
        audio = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32).reshape(-1)
        # Piper scales each utterance to full loudness; voices come out quiet otherwise.
        peak = max(0.01, float(np.max(np.abs(audio)))) if len(audio) else 1.0
        pcm = np.clip(audio * (32767 / peak), -32768, 32767).astype(np.int16)
        return Speech(pcm, self.sample_rate)
