"""The inventory cache: one versioned JSON file per registry in the user cache dir.

``<user cache dir>/dregtui/<safe name>.json`` where the name comes from the registry's host,
port and path (``127.0.0.1_5000.json``). Written atomically (temp file + ``os.replace``) with
mode 0600. It holds the registry URL, the scan time, repositories -> tags -> digests, the media
type of every digest, the children of every index and the footprint of every manifest (its
JSON size and the blobs it references, with sizes); never a credential. Version 3 keeps each
digest and media type once, in tables the rest refers to by position (about 200 bytes a tag).
Version 1 (no footprints) and 2 (the larger format) caches are rebuilt with one notice.

    cache = InventoryCache.for_registry(url)          # or InventoryCache(path, url)
    inventory = cache.load(warn=print)                # None (+ one warning) if unusable
    cache.save(inventory)
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dregtui.inventory.model import Footprint, Inventory, TagInfo
from dregtui.oci.digests import all_digests
from dregtui.userfiles import ConfigError, atomic_write

FORMAT = "dregtui-inventory"
VERSION = 3
MAX_NAME = 80
# A larger cache file is ignored (with a warning), never read. Version 3 takes about 200 bytes a
# tag with sizes: a million tags fit with room to spare.
MAX_BYTES = 1024 * 1024 * 1024
_SIGNATURE = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"dregtui-inventory"')
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


class CacheRefused(ConfigError):
    """The cache path holds something that is not a dregtui cache: never read nor replaced."""


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
    """``strict`` (a path the user named, ``-c PATH``): an existing file is only read or
    replaced when it is empty or a dregtui cache; anything else is refused (CacheRefused).
    Not strict (the file dregtui names in its own cache directory): any regular file there is
    taken for a damaged cache. Either way a directory, device, FIFO or socket is refused."""

    def __init__(
        self, path: str | os.PathLike[str], registry_url: str, *, strict: bool = True
    ) -> None:
        self.path = Path(path)
        self.registry_url = registry_url
        self.strict = strict

    @classmethod
    def for_registry(cls, registry_url: str, directory: Path | None = None) -> InventoryCache:
        path = (directory or default_cache_dir()) / cache_name(registry_url)
        return cls(path, registry_url, strict=False)

    def _refusal(self, why: str) -> CacheRefused:
        return CacheRefused(
            f"The cache path {self.path} is {why}, not a dregtui cache: give another "
            "-c PATH (a new file), or -c None to disable the cache."
        )

    def _open(self) -> tuple[int, int] | None:
        """(fd, size) of the existing cache file, None when there is none; CacheRefused for
        anything that must not be read or replaced (a FIFO is never waited on)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            raise self._refusal("a directory") from None
        try:
            info = os.fstat(fd)
            for test, what in _KINDS:
                if test(info.st_mode):
                    raise self._refusal(what)
            if not stat.S_ISREG(info.st_mode):
                raise self._refusal("not a regular file")
            if self.strict and info.st_size > 0:
                head = os.pread(fd, 256, 0)
                if not _SIGNATURE.match(head) and (
                    info.st_size > MAX_BYTES or not _is_cache_document(fd)
                ):
                    raise self._refusal("a file that holds something else")
        except BaseException:
            os.close(fd)
            raise
        return fd, info.st_size

    def check(self) -> None:
        """Raise CacheRefused when the path holds something that must not be replaced."""
        opened = self._open()
        if opened is not None:
            os.close(opened[0])

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self, warn: Callable[[str], None] | None = None) -> Inventory | None:
        """The cached inventory, or None: missing file silently, unusable file with one warning."""
        cached = self.read(warn)
        return cached.inventory if cached is not None else None

    def read(self, warn: Callable[[str], None] | None = None) -> CachedInventory | None:
        """Like ``load``, plus whether the cache covers the whole catalog."""
        try:
            opened = self._open()
        except CacheRefused:
            raise
        except OSError as exc:
            return self._reject(warn, f"cannot be read ({exc.strerror or exc})")
        if opened is None:
            return None
        fd, size = opened
        try:
            if size == 0:  # an empty file (mktemp): a new cache
                return None
            if size > MAX_BYTES:
                return self._reject(warn, f"is larger than {MAX_BYTES // 2**20} MB")
            os.lseek(fd, 0, os.SEEK_SET)
            text = _read_bounded(fd).decode("utf-8")  # the bytes are dropped right away
        except (OSError, UnicodeDecodeError) as exc:
            return self._reject(warn, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
        finally:
            os.close(fd)
        with _no_collection():
            try:
                doc = json.loads(text)
            except ValueError:
                return self._reject(warn, "is not valid JSON")
            del text  # only the parsed document from here on
            return self._checked(doc, warn)

    def _checked(self, doc: Any, warn: Callable[[str], None] | None) -> CachedInventory | None:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return self._reject(warn, "is not a dregtui cache")
        if doc.get("version") == 1:
            return self._reject(warn, "was written by an older dregtui (no image sizes)")
        if doc.get("version") == 2:
            return self._reject(warn, "was written by an older dregtui (a larger format)")
        if doc.get("version") != VERSION:
            return self._reject(warn, f"has an unknown format version {doc.get('version')!r}")
        if doc.get("registry") != self.registry_url:
            return self._reject(warn, "belongs to another registry")
        try:
            return CachedInventory(_inventory_from(doc), bool(doc.get("catalog", True)))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return self._reject(warn, "is damaged")

    def _reject(self, warn: Callable[[str], None] | None, why: str) -> CachedInventory | None:
        """Warn that the file is unusable; always None (``return self._reject(...)``)."""
        if warn is not None:
            warn(f"The cache file {self.path} {why}; rescanning the registry.")
        return None

    def save(self, inventory: Inventory, *, catalog: bool = True) -> None:
        """Write the whole inventory atomically (mode 0600). Only complete scans are saved.

        ``catalog=False`` records that only named repositories were scanned (closed catalog).
        """
        if inventory.scanned_at is None:
            raise ValueError("refusing to cache an incomplete scan")
        try:
            self.check()
        except CacheRefused as exc:  # callers warn about an OSError; never replace it
            raise OSError(errno.EEXIST, str(exc).split(":")[0] + " and was not replaced") from None
        with _no_collection():
            data = _dump(inventory, self.registry_url, catalog).encode("utf-8")
        atomic_write(self.path, data)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Millions of new objects and no cycles among them: the cyclic collector would walk
    them all again and again while they are made (5x the time at a million tags)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _read_bounded(fd: int) -> bytearray:
    """The file's bytes, at most MAX_BYTES, read into one buffer (no list of chunks to join:
    a 100 MB cache would briefly take 200)."""
    size = os.fstat(fd).st_size
    buffer = bytearray(min(max(size, 0), MAX_BYTES) + 1)
    view = memoryview(buffer)
    total = 0
    while True:
        if total == len(buffer):
            if total > MAX_BYTES:
                break
            buffer.extend(bytes(min(len(buffer), MAX_BYTES + 1 - total)))  # it grew meanwhile
            view = memoryview(buffer)
        n = os.readv(fd, [view[total:]])
        if not n:
            break
        total += n
    view.release()
    if total > MAX_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_BYTES // 2**20} MB")
    del buffer[total:]
    return buffer


def _is_cache_document(fd: int) -> bool:
    """A small JSON file whose ``format`` says dregtui (keys in another order, say)."""
    try:
        doc = json.loads(_read_bounded(fd))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _dump(inventory: Inventory, registry_url: str, catalog: bool) -> str:
    """Version 3: every digest and media type once, in tables; repositories, children and
    footprints refer to them by position (a third of version 2's size, and faster to read)."""
    digests: dict[str, int] = {}
    types: dict[str, int] = {}

    def d(digest: str) -> int:
        n = digests.get(digest)
        if n is None:
            n = digests[digest] = len(digests)
        return n

    def t(media_type: str) -> int:
        n = types.get(media_type)
        if n is None:
            n = types[media_type] = len(types)
        return n

    repositories: dict[str, list[list[Any]]] = {}
    with inventory._lock:
        for repo in sorted(inventory.repositories):
            tags = inventory.repositories[repo]
            names = sorted(tags)
            repositories[repo] = [
                names,
                [d(tags[n].digest) for n in names],
                [t(tags[n].media_type) for n in names],
            ]
        children = [[d(i), [d(k) for k in kids]] for i, kids in sorted(inventory.children.items())]
        footprints: list[list[int]] = []
        for digest, fp in sorted(inventory.footprints.items()):
            flat = fp.flat
            row = [d(digest), fp.size]
            for i in range(0, len(flat), 2):
                row += (d(str(flat[i])), int(flat[i + 1]))
            footprints.append(row)
        scanned = sorted(inventory.scanned)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "registry": registry_url,
        "scanned_at": inventory.scanned_at,
        "catalog": catalog,
        "scanned": scanned,
        "digests": list(digests),
        "media_types": list(types),
        "repositories": repositories,
        "children": children,
        "footprints": footprints,
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _inventory_from(doc: dict[str, Any]) -> Inventory:
    intern = sys.intern  # one string per digest and media type, however many refer to it
    table = doc["digests"]
    if not isinstance(table, list) or not all_digests(table):
        raise TypeError("digests")  # never print a poisoned digest
    digests: list[str] = table  # one object per digest already: tags refer to it by position
    types = [intern(str(x)) for x in doc["media_types"]]
    repositories: dict[str, dict[str, TagInfo]] = {}
    for repo, columns in doc["repositories"].items():
        names, refs, kinds = columns
        if not isinstance(repo, str) or not len(names) == len(refs) == len(kinds):
            raise TypeError("repositories")
        if min(refs, default=0) < 0 or min(kinds, default=0) < 0:
            raise IndexError("repositories")  # a negative position would read another entry
        repositories[repo] = {
            str(name): TagInfo(digests[ref], types[kind])
            for name, ref, kind in zip(names, refs, kinds, strict=True)
        }
    children = {digests[i]: tuple(digests[k] for k in kids) for i, kids in doc["children"]}
    if any(i < 0 or min(kids, default=0) < 0 for i, kids in doc["children"]):
        raise IndexError("children")
    footprints: dict[str, Footprint] = {}
    ints = {int}
    get = digests.__getitem__
    for row in doc["footprints"]:
        if len(row) % 2 or not set(map(type, row)) <= ints or min(row) < 0:
            raise TypeError("footprints")
        flat: list[str | int] = row[2:]
        flat[0::2] = map(get, row[2::2])
        footprints[get(row[0])] = Footprint(row[1], tuple(flat))
    scanned_at = doc["scanned_at"]
    if not isinstance(scanned_at, int | float):
        raise TypeError("scanned_at")
    scanned = set(doc.get("scanned", repositories)) & set(repositories)
    return Inventory(
        registry=str(doc["registry"]),
        repositories=repositories,
        scanned=scanned,
        children=children,
        footprints=footprints,
        scanned_at=float(scanned_at),
    )
