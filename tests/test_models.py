"""Models by name: the default joined from its packages once and verified, pulls that resume and verify."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from app.model_catalog import (
    CATALOGUE,
    DEFAULT_MODEL,
    ModelError,
    ModelSpec,
    assemble,
    is_verified,
    resolve_model,
)
from app.model_pull import pull


@pytest.fixture(autouse=True)
def models_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test prepares and pulls into its own cache."""
    cache = tmp_path / "models"
    monkeypatch.setenv("SAMANTHA_MODELS_DIR", str(cache))
    return cache


def chunk_packages(root: Path, monkeypatch: pytest.MonkeyPatch, blobs: list[bytes]) -> ModelSpec:
    """Real packages on sys.path holding `blobs` as numbered chunks, and the spec that joins them."""
    modules = []
    for number, blob in enumerate(blobs, start=1):
        module = f"samantha_test_chunk_{root.name}_{number}"
        data = root / module / "data"
        data.mkdir(parents=True)
        (root / module / "__init__.py").write_text("")
        (data / f"part{number:02d}.bin").write_bytes(blob)
        modules.append(module)
    monkeypatch.syspath_prepend(str(root))
    whole = b"".join(blobs)
    return ModelSpec(
        name="test-model", title="test", file="test.gguf", size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(), licence="MIT", source="chunks", packages=tuple(modules),
    )  # fmt: skip


def test_chunks_are_joined_once_checked_and_made_again_if_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_cache: Path
) -> None:
    spec = chunk_packages(tmp_path / "pkgs", monkeypatch, [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5])
    target = models_cache / spec.file
    path = assemble(spec, target, progress=False)
    assert path.read_bytes() == b"GGUF" + b"a" * 1000 + b"b" * 777 + b"c" * 5
    assert is_verified(path, spec.sha256 or "")
    assert [p.name for p in models_cache.iterdir()] == ["test.gguf", "test.gguf.verified"]  # no leftovers
    path.write_bytes(path.read_bytes()[:500])  # a partial copy: no longer verified
    assert not is_verified(path, spec.sha256 or "")


def test_a_damaged_or_missing_package_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_cache: Path
) -> None:
    spec = chunk_packages(tmp_path / "pkgs", monkeypatch, [b"GGUF1234", b"5678"])
    with pytest.raises(ModelError) as bad:
        assemble(replace(spec, sha256="0" * 64), models_cache / "x.gguf", progress=False)
    assert "wrong sha256" in str(bad.value) and "\n" not in str(bad.value)
    assert not (models_cache / "x.gguf").exists() and not list(models_cache.glob("*.part"))
    missing = replace(spec, packages=(*spec.packages, "samantha_test_no_such_chunk"))
    with pytest.raises(ModelError, match=r"1 of its 3 packages are missing \(samantha-test-no-such-chunk\)"):
        assemble(missing, models_cache / "y.gguf", progress=False)


@pytest.mark.model
def test_the_default_model_is_the_official_release(models_cache: Path) -> None:
    path = resolve_model(None, progress=False)
    spec = CATALOGUE[DEFAULT_MODEL]
    assert path == models_cache / spec.file and path.stat().st_size == 1_117_320_768
    assert is_verified(path, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
    assert resolve_model(DEFAULT_MODEL) == path  # the second start only checks the stamp


def test_a_path_that_is_not_a_gguf_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(ModelError, match="is not a GGUF model"):
        resolve_model(str(text))


class _Releases(http.server.BaseHTTPRequestHandler):
    """Serves one file with Range support; `cut` bytes at most per response when set."""

    body = b""
    cut: int | None = None
    ranges: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        start = 0
        if header := self.headers.get("Range"):
            type(self).ranges.append(header)
            start = int(header.split("=")[1].split("-")[0])
        chunk = self.body[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.cut is not None and len(chunk) > self.cut:
            self.wfile.write(chunk[: self.cut])  # the connection drops mid-file
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def release_server() -> Iterator[tuple[str, type[_Releases]]]:
    """A real HTTP server on loopback serving the bundled SmolLM2 GGUF as a 'release'."""
    handler = type(
        "Handler", (_Releases,), {"body": resolve_model("smollm2-135m").read_bytes(), "ranges": []}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def release_spec(body: bytes) -> ModelSpec:
    return ModelSpec(
        name="smol-release", title="t", file="smol-release.gguf", size=len(body),
        sha256=hashlib.sha256(body).hexdigest(), licence="Apache-2.0", source="url",
        url="https://releases.invalid/org/smol/resolve/abc/smol-release.gguf",
    )  # fmt: skip


def test_a_pull_resumes_after_a_dropped_connection_and_is_verified(
    release_server: tuple[str, type[_Releases]], models_cache: Path
) -> None:
    mirror, handler = release_server
    spec = release_spec(handler.body)
    handler.cut = len(handler.body) // 3
    with pytest.raises(ModelError, match="run the same command again to continue"):
        pull(spec, mirror=mirror, progress=False)
    partial = models_cache / "smol-release.gguf.part"
    kept = partial.stat().st_size
    assert 0 < kept < spec.size and not (models_cache / spec.file).exists()
    handler.cut = None
    path = pull(spec, mirror=mirror, progress=False)
    assert handler.ranges == [f"bytes={kept}-"]  # it continued from what it had, not from the start
    assert path.read_bytes() == handler.body and is_verified(path, spec.sha256 or "")
    from llama_cpp import Llama  # the pulled file is a model llama.cpp loads

    Llama(model_path=str(path), n_ctx=64, verbose=False).close()


def test_a_pull_with_the_wrong_hash_keeps_nothing(
    release_server: tuple[str, type[_Releases]], models_cache: Path
) -> None:
    mirror, handler = release_server
    spec = replace(release_spec(handler.body), sha256="f" * 64)
    with pytest.raises(ModelError, match="wrong sha256"):
        pull(spec, mirror=mirror, progress=False)
    assert not any(models_cache.iterdir())


def test_samantha_models_lists_them_all(models_cache: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models"], capture_output=True, text=True, timeout=60, check=True
    )
    for name in CATALOGUE:
        assert name in result.stdout
    assert f"{DEFAULT_MODEL} (default)" in result.stdout and "not downloaded" in result.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "pull", "nonsense"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "unknown model 'nonsense'" in refused.stderr
