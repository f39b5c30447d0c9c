"""The bundled MiniLM on ONNX Runtime: a local export of its weights, torch's vectors, 2-3x faster.

The sentence-transformers pipeline of the model (modules.json: Transformer -> mean Pooling -> Normalize) is
rebuilt here: the fast tokenizer from the model's tokenizer.json, the BERT graph exported once with torch's
TorchScript exporter, mean pooling over the attention mask and L2 normalisation in numpy. A model whose
pipeline is anything else is refused (OnnxUnavailable), and the caller uses torch.

With a cached export, neither torch nor transformers is imported (importing transformers alone pulls in
torch): ready to embed many times sooner (bench/RESULTS.md, "Embedding: ONNX Runtime vs torch").
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

from memory.embed_base import MAX_TOKENS, CachingEmbedder, model_dir, model_name

log = logging.getLogger(__name__)

# Bump when the exported graph changes, so old cache entries are not reused.
EXPORT_RECIPE = 1
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# A batch of two different lengths: the export traces a padded batch, and every load checks the session
# against the torch vectors recorded at export time (a file that parses but is damaged, or a runtime that
# computes differently, is caught before it writes a single wrong vector).
PROBE = ("Samantha remembers the film we talked about.", "Hello!")
PROBE_KEY = "samantha.probe_vectors"
MIN_COSINE = 0.99999
# Texts per run, sorted by length so each run pads little. Small runs won over both one by one and one
# padded batch (bench/RESULTS.md, "the measurements behind two settings of memory/onnx_embed.py").
BATCH = 8


class OnnxUnavailable(RuntimeError):
    """The ONNX path cannot serve this model here (missing package, other pipeline, failed export)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/samantha/onnx (default ~/.cache/samantha/onnx)."""
    # A cache, not data: the export is derived from an installed package, is shared by every data dir,
    # test and benchmark on the machine, and may be deleted at any time (made again in seconds:
    # bench/RESULTS.md, "Export").
    # load_embedder() does not know the data dir, and a user's memories should not carry 90 MB of it.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "samantha" / "onnx"


@dataclass(frozen=True)
class Pipeline:
    """What sentence-transformers does around the transformer, read from the model's own config files."""

    max_length: int
    lower_case: bool
    dim: int


def read_pipeline(directory: Path) -> Pipeline:
    """The model's Transformer -> mean Pooling (-> Normalize) settings, or OnnxUnavailable for others."""
    try:
        listed = json.loads((directory / "modules.json").read_text())
        modules = [m["type"].rsplit(".", 1)[-1] for m in listed]
        pooling_dir = directory / next(m["path"] for m in listed if m["type"].endswith(".Pooling"))
        pooling = json.loads((pooling_dir / "config.json").read_text())
        st = json.loads((directory / "sentence_bert_config.json").read_text())
        config = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise OnnxUnavailable(f"cannot read the sentence-transformers pipeline: {_one_line(exc)}") from exc
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    # The transformer in the model's own directory (where tokenizer.json and the weights are), mean pooled;
    # normalised in any case (the Embedder contract, and what the torch path asks for too).
    if (
        modules not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"])
        or listed[0].get("path")
        or modes != ["pooling_mode_mean_tokens"]
    ):
        raise OnnxUnavailable(f"pipeline {modules} pooled by {modes} is not MiniLM's mean pooling")
    # sentence-transformers caps max_seq_length at the model's position embeddings.
    limit = min(int(st.get("max_seq_length") or 512), int(config.get("max_position_embeddings", 512)))
    return Pipeline(limit, bool(st.get("do_lower_case")), int(pooling["word_embedding_dimension"]))


def cache_key(directory: Path) -> str:
    """Names an export: the model files (path, size, mtime) and the versions of what exports it."""
    parts: list[str] = [str(directory.resolve()), f"recipe {EXPORT_RECIPE}", f"opset {OPSET}"]
    for file in sorted(p for p in directory.iterdir() if p.is_file()):
        stat = file.stat()
        parts.append(f"{file.name} {stat.st_size} {stat.st_mtime_ns}")
    for package in ("torch", "transformers", "onnx"):
        try:
            parts.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{package} none")
    return sha256("\n".join(parts).encode()).hexdigest()[:16]


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the unmasked tokens, then L2-normalised: sentence-transformers' Pooling + Normalize."""
    weights = mask[..., None].astype(np.float32)
    mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return np.asarray(mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12), np.float32)


def export(directory: Path, target: Path, feeds: dict[str, np.ndarray]) -> None:
    """Export the model's BERT to `target` atomically, with the probe's torch vectors in its metadata."""
    import onnx  # torch's TorchScript exporter needs it to write the file; we add metadata with it
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(directory), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("*.tmp"):  # left by a crash; an export takes seconds, not 10 minutes
        if time.time() - stale.stat().st_mtime > 600:
            stale.unlink(missing_ok=True)
    # Written beside the target and renamed over it: a crash leaves only a .tmp file, and two processes
    # exporting at once each rename a complete file, so a reader never opens half a model.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        args = tuple(torch.from_numpy(feeds[name]) for name in INPUTS)
        # The legacy TorchScript exporter (dynamo=False): the dynamo one needs onnxscript, and this one
        # takes dynamic batch and sequence axes through dynamic_axes. Its deprecation and tracer warnings
        # are noise here.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = pool(Hidden()(*args).numpy(), feeds["attention_mask"])
            torch.onnx.export(
                Hidden(),
                args,
                tmp,
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")},
                opset_version=OPSET,
                dynamo=False,
            )
        model = onnx.load(tmp)
        model.metadata_props.add(key=PROBE_KEY, value=json.dumps(reference.tolist()))
        with open(tmp, "wb") as out:
            out.write(model.SerializeToString())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a cache of a public model
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OnnxEmbedder(CachingEmbedder):
    """all-MiniLM-L6-v2 exported locally and run by ONNX Runtime on one thread."""

    def __init__(self, path: str | None = None, cache_dir: Path | None = None) -> None:
        super().__init__()
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailable(_one_line(exc)) from exc
        path = model_dir(path)
        directory = Path(path)
        pipeline = read_pipeline(directory)
        self.name, self.dim, self._lower = model_name(path), pipeline.dim, pipeline.lower_case
        # The model's own fast tokenizer (what transformers wraps), truncated like the torch runtime:
        # MAX_TOKENS (at most the model's max_seq_length) including [CLS] and [SEP].
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=min(pipeline.max_length, MAX_TOKENS))
        self._pad = self._tokenizer.token_to_id("[PAD]") or 0
        # Two threads that sleep when idle: a little faster than one, quiet or busy; spinning threads were
        # faster only on idle cores and would burn the CPU that generation and the event loop need
        # (bench/RESULTS.md, "the measurements behind two settings of memory/onnx_embed.py").
        self._options = onnxruntime.SessionOptions()
        self._options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        self._options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._options.inter_op_num_threads = 1
        self._options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._ort = onnxruntime
        self.file = (cache_dir or default_cache_dir()) / cache_key(directory) / "model.onnx"
        self.export_seconds: float | None = None  # None: loaded from the cache
        self._session: Any = None
        problem = self._load() if self.file.exists() else "not exported yet"
        if problem is None:
            return
        log.info("exporting %s to ONNX at %s (%s)", self.name, self.file, problem)
        started = time.perf_counter()
        try:
            export(directory, self.file, self._feeds(self._tokenize(list(PROBE))))
        except Exception as exc:  # anything the exporter raises means: use torch
            raise OnnxUnavailable(f"export failed: {_one_line(exc)}") from exc
        self.export_seconds = time.perf_counter() - started
        problem = self._load()
        if problem is not None:
            raise OnnxUnavailable(f"a fresh export of {self.name} failed its check: {problem}")

    def _load(self) -> str | None:
        """Open the cached file and check it against its probe vectors; what is wrong, or None."""
        try:
            self._session = self._ort.InferenceSession(
                str(self.file), self._options, providers=["CPUExecutionProvider"]
            )
            recorded = self._session.get_modelmeta().custom_metadata_map.get(PROBE_KEY)
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail...) derive from Exception
            problem: str | None = f"unreadable: {_one_line(exc)}"
        else:
            if recorded is None:
                problem = "no probe vectors"
            else:
                now = self._run(self._tokenize(list(PROBE)))
                cosine = (now * np.asarray(json.loads(recorded), np.float32)).sum(axis=1)
                problem = None if cosine.min() >= MIN_COSINE else f"probe cosine {cosine.min():.7f}"
        if problem is not None:
            self._session = None
            if self.file.exists():
                log.warning("cached ONNX model %s is %s; exporting it again", self.file, problem)
        return problem

    def _tokenize(self, texts: list[str]) -> list[Any]:
        texts = [t.lower() for t in texts] if self._lower else texts
        # One text (each turn's query) is encoded on this thread; encode_batch hands work to a thread pool.
        if len(texts) == 1:
            return [self._tokenizer.encode(texts[0])]
        return list(self._tokenizer.encode_batch(texts))

    def _feeds(self, encoded: list[Any]) -> dict[str, np.ndarray]:
        """Token ids, attention mask and token types, padded to the longest text."""
        ids = np.full((len(encoded), max(len(e.ids) for e in encoded)), self._pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def _run(self, encoded: list[Any]) -> np.ndarray:
        feeds = self._feeds(encoded)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return pool(hidden, feeds["attention_mask"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenize(texts)
        order = np.argsort([-len(e.ids) for e in encoded], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chosen = order[start : start + BATCH]
            out[chosen] = self._run([encoded[i] for i in chosen])
        return out
