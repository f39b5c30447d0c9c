"""`samantha models pull NAME`: download a catalogue model, resumable, verified, with a progress bar.

The file grows as `<name>.part` beside its final place; an interrupted pull continues from where it stopped
(an HTTP Range request) and only a file with the release's size and sha256 is renamed into place.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import httpx
from tqdm import tqdm

from app.model_catalog import ModelError, ModelSpec, cached_file, mark_verified

log = logging.getLogger(__name__)
CHUNK = 1 << 20


def mirrored(url: str, mirror: str | None) -> str:
    """The URL with its scheme and host replaced by `mirror` (a local mirror, or a test server)."""
    if not mirror:
        return url
    path = httpx.URL(url).raw_path.decode("ascii")
    return mirror.rstrip("/") + path


def _hash_existing(path: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
            size += len(block)
    return digest, size


def pull(
    spec: ModelSpec,
    *,
    mirror: str | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download `spec` into the models cache (continuing a partial download) and verify it."""
    if spec.source != "url" or spec.sha256 is None:
        raise ModelError(f"model {spec.name} comes with Samantha's packages; there is nothing to pull")
    target = cached_file(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest, have = _hash_existing(part) if part.is_file() else (hashlib.sha256(), 0)
    if have > spec.size:  # not this release: start again
        part.unlink()
        digest, have = hashlib.sha256(), 0
    url = mirrored(spec.url, mirror)
    if have < spec.size:
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as r:
                if r.status_code == 200 and have:  # the server ignored the Range: take it from the top
                    digest, have = hashlib.sha256(), 0
                    part.unlink()
                elif r.status_code not in (200, 206):
                    raise ModelError(f"model {spec.name}: {url} answered HTTP {r.status_code}")
                bar = tqdm(
                    total=spec.size, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=f"pulling {spec.name}", disable=not progress,
                )  # fmt: skip
                with bar, part.open("ab") as out:
                    for block in r.iter_bytes(CHUNK):
                        out.write(block)
                        digest.update(block)
                        have += len(block)
                        bar.update(len(block))
                    out.flush()
                    os.fsync(out.fileno())
        except httpx.HTTPError as exc:
            raise ModelError(
                f"model {spec.name}: the download stopped at {have:,} of {spec.size:,} bytes ({exc}); "
                "run the same command again to continue"
            ) from exc
    if have != spec.size:
        raise ModelError(
            f"model {spec.name}: the download ended at {have:,} of {spec.size:,} bytes; "
            "run the same command again to continue"
        )
    if digest.hexdigest() != spec.sha256:
        part.unlink()
        raise ModelError(
            f"model {spec.name}: the downloaded file has the wrong sha256 (deleted); try again, or check "
            "the mirror"
        )
    os.replace(part, target)
    mark_verified(target, spec.sha256)
    log.info("pulled %s into %s", spec.name, target)
    return target
