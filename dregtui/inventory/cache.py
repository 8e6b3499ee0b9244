"""The inventory cache: one versioned JSON file per registry in the user cache dir.

``<user cache dir>/dregtui/<safe name>.json`` where the name comes from the registry's host,
port and path (``127.0.0.1_5000.json``). Written atomically (temp file + ``os.replace``) with
mode 0600. It holds the registry URL, the scan time, repositories -> tags -> digests, the media
type of every digest and the children of every index; never a credential.

    cache = InventoryCache.for_registry(url)          # or InventoryCache(path, url)
    inventory = cache.load(warn=print)                # None (+ one warning) if unusable
    cache.save(inventory)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dregtui.config import atomic_write
from dregtui.inventory.model import Inventory, TagInfo
from dregtui.registry.digests import is_digest

FORMAT = "dregtui-inventory"
VERSION = 1
MAX_NAME = 80


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("dregtui", appauthor=False))


def cache_name(registry_url: str) -> str:
    """A safe file name for a registry: host, port and path; only ``[A-Za-z0-9._-]``."""
    parts = urlsplit(registry_url if "://" in registry_url else "https://" + registry_url)
    host = (parts.hostname or "registry").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    raw = host + (f"_{port}" if port else "") + parts.path.rstrip("/").replace("/", "_")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._-") or "registry"
    name = re.sub(r"\.{2,}", ".", name)
    if name != raw or len(name) > MAX_NAME:
        # keep names unique when characters were replaced or the name was cut
        digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
        name = f"{name[:MAX_NAME]}-{digest}"
    return name + ".json"


@dataclass(frozen=True, slots=True)
class CachedInventory:
    inventory: Inventory
    catalog: bool  # False: only named repositories were scanned (registry without _catalog)


class InventoryCache:
    def __init__(self, path: str | os.PathLike[str], registry_url: str) -> None:
        self.path = Path(path)
        self.registry_url = registry_url

    @classmethod
    def for_registry(cls, registry_url: str, directory: Path | None = None) -> InventoryCache:
        return cls((directory or default_cache_dir()) / cache_name(registry_url), registry_url)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self, warn: Callable[[str], None] | None = None) -> Inventory | None:
        """The cached inventory, or None: missing file silently, unusable file with one warning."""
        cached = self.read(warn)
        return cached.inventory if cached is not None else None

    def read(self, warn: Callable[[str], None] | None = None) -> CachedInventory | None:
        """Like ``load``, plus whether the cache covers the whole catalog."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return self._reject(warn, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
        try:
            doc = json.loads(text)
        except ValueError:
            return self._reject(warn, "is not valid JSON")
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return self._reject(warn, "is not a dregtui cache")
        if doc.get("version") != VERSION:
            return self._reject(warn, f"has an unknown format version {doc.get('version')!r}")
        if doc.get("registry") != self.registry_url:
            return self._reject(warn, "belongs to another registry")
        try:
            return CachedInventory(_inventory_from(doc), bool(doc.get("catalog", True)))
        except (KeyError, TypeError, ValueError, AttributeError):
            return self._reject(warn, "is damaged")

    def _reject(self, warn: Callable[[str], None] | None, why: str) -> None:
        if warn is not None:
            warn(f"The cache file {self.path} {why}; rescanning the registry.")
        return None

    def save(self, inventory: Inventory, *, catalog: bool = True) -> None:
        """Write the whole inventory atomically (mode 0600). Only complete scans are saved.

        ``catalog=False`` records that only named repositories were scanned (closed catalog).
        """
        if inventory.scanned_at is None:
            raise ValueError("refusing to cache an incomplete scan")
        atomic_write(self.path, _dump(inventory, self.registry_url, catalog).encode("utf-8"))

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _dump(inventory: Inventory, registry_url: str, catalog: bool) -> str:
    media_types: dict[str, str] = {}
    repositories: dict[str, dict[str, str]] = {}
    with inventory._lock:
        for repo in sorted(inventory.repositories):
            tags = inventory.repositories[repo]
            repositories[repo] = {tag: tags[tag].digest for tag in sorted(tags)}
            for info in tags.values():
                media_types[info.digest] = info.media_type
        children = {d: list(kids) for d, kids in sorted(inventory.children.items())}
        scanned = sorted(inventory.scanned)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "registry": registry_url,
        "scanned_at": inventory.scanned_at,
        "catalog": catalog,
        "repositories": repositories,
        "scanned": scanned,
        "media_types": media_types,
        "children": children,
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _inventory_from(doc: dict[str, Any]) -> Inventory:
    media_types = doc["media_types"]
    if not isinstance(media_types, dict):
        raise TypeError("media_types")
    repositories: dict[str, dict[str, TagInfo]] = {}
    for repo, tags in doc["repositories"].items():
        if not isinstance(repo, str) or not isinstance(tags, dict):
            raise TypeError("repositories")
        entry: dict[str, TagInfo] = {}
        for tag, digest in tags.items():
            if not is_digest(digest):  # never print a poisoned digest
                raise TypeError("digest")
            entry[str(tag)] = TagInfo(digest, str(media_types.get(digest, "")))
        repositories[repo] = entry
    children = {str(d): tuple(str(k) for k in kids) for d, kids in doc["children"].items()}
    scanned_at = doc["scanned_at"]
    if not isinstance(scanned_at, int | float):
        raise TypeError("scanned_at")
    scanned = set(doc.get("scanned", repositories)) & set(repositories)
    return Inventory(
        registry=str(doc["registry"]),
        repositories=repositories,
        scanned=scanned,
        children=children,
        scanned_at=float(scanned_at),
    )
