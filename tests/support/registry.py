"""Asking the registry itself what it holds (the truth tests compare against)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from dregtui.registry.client import RegistryClient


def resolve(client: RegistryClient, repository: str, tag: str) -> str | None:
    """The digest ``repository:tag`` points at now, or None when the registry has no such tag."""
    ref = client.head_manifest(repository, tag)
    return ref.digest if ref else None


ELIGIBLE = re.compile(r"blob eligible for deletion: (sha256:[0-9a-f]{64})")


def blob_sizes(storage: Path) -> dict[str, int]:
    """Every blob in the registry's storage, digest -> bytes on disk."""
    root = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {f"sha256:{p.parent.name}": p.stat().st_size for p in root.glob("*/*/data")}


def gc_eligible(registry: Any) -> set[str]:
    """The blobs `garbage-collect --dry-run` would delete now."""
    done = subprocess.run(
        ["docker-registry", "garbage-collect", "--dry-run", str(registry.workdir / "config.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(ELIGIBLE.findall(done.stdout + done.stderr))


def cache_lines(path: Path) -> list[Any]:
    """A dregtui cache file's lines (version 4 is JSON Lines: a header object, then arrays)."""
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


def column(value: str) -> list[int]:
    """A cache's column of integers (version 5: "q" and little-endian int64s in base64)."""
    import base64
    import struct

    raw = base64.b64decode(value[1:])
    return list(struct.unpack(f"<{len(raw) // 8}q", raw))


def cache_header(path: Path) -> dict[str, Any]:
    header: dict[str, Any] = cache_lines(path)[0]
    return header


def write_cache_lines(path: Path, lines: list[Any]) -> None:
    import json

    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def edit_cache_header(path: Path, **changes: Any) -> None:
    lines = cache_lines(path)
    lines[0].update(changes)
    write_cache_lines(path, lines)
