"""The inventory cache: one versioned JSON Lines file per registry in the user cache dir.

``<user cache dir>/dregtui/<safe name>.json`` where the name comes from the registry's host,
port and path (``127.0.0.1_5000.json``). Written atomically (temp file + ``os.replace``) with
mode 0600. It holds the registry URL, the scan time, repositories -> tags -> digests, the media
type of every digest, the children of every index and the footprint of every manifest (its
JSON size and the blobs it references, with sizes); never a credential. Version 5 is JSON Lines:
a header with what the tree needs (each repository's tag count), then the rest in chunks that
refer to digests and media types by position, their integers packed (``cache_format.py``); it is written and read one line at a time. Version 4 (the same, its integers JSON
numbers) is read too; older versions are rebuilt with one notice.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from dregtui.core.inventory import Inventory
from dregtui.state.cache_format import (
    FORMAT,
    READABLE,
    CacheHeader,
    inventory_from_lines,
    inventory_lines,
    read_line,
)
from dregtui.state.userfiles import ConfigError, atomic_write, file_kind

MAX_NAME = 80
# A larger cache file is ignored (with a warning), never read; a million tags with sizes fit
# with room to spare (docs/performance.md).
MAX_BYTES = 1024 * 1024 * 1024
_SIGNATURE = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"dregtui-inventory"')
_VERSION = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"dregtui-inventory"\s*,\s*"version"\s*:\s*(\d+)')


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
            kind = file_kind(info.st_mode)
            if kind is not None:
                raise self._refusal(kind)
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
        """Raise CacheRefused when the path holds something that must not be replaced, or
        cannot be used at all (a name too long, no permission)."""
        try:
            opened = self._open()
        except CacheRefused:
            raise
        except OSError as exc:
            why = (
                "its name is too long for the file system"
                if exc.errno == errno.ENAMETOOLONG
                else (exc.strerror or str(exc)).lower()
            )
            raise CacheRefused(
                f"The cache path {self.path} cannot be used ({why}): give another -c PATH, "
                "or -c None to disable the cache."
            ) from None
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
        with self._opened(warn) as handle:
            if handle is None:
                return None
            header = self._header(handle, warn)
            if header is None:
                return None
            with _no_collection():
                try:
                    inventory = inventory_from_lines(header, handle)
                except OSError as exc:
                    self._reject(warn, f"cannot be read ({exc.strerror or exc})")
                    return None
                except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError):
                    self._reject(warn, "is damaged")
                    return None
                # what was read, out of the cyclic collector's sight: its next pass would
                # walk it all, holding the interpreter in whichever thread allocates next
                # (the UI's too); it is freed as ever, by reference counts
                gc.freeze()
            return CachedInventory(inventory, header.catalog)

    def peek(self, warn: Callable[[str], None] | None = None) -> CacheHeader | None:
        """The first line alone (milliseconds at any size): the registry, the scan's time and
        each repository's tag count; None (+ one warning) when the file is unusable. ``read``
        may still find the rest damaged."""
        with self._opened(warn) as handle:
            return None if handle is None else self._header(handle, warn)

    @contextlib.contextmanager
    def _opened(self, warn: Callable[[str], None] | None) -> Iterator[BinaryIO | None]:
        """The cache file to read (None: there is none, it is empty or it is unusable)."""
        try:
            opened = self._open()
        except CacheRefused:
            raise
        except OSError as exc:
            self._reject(warn, f"cannot be read ({exc.strerror or exc})")
            opened = None
        if opened is None:
            yield None
            return
        fd, size = opened
        if size > MAX_BYTES or size == 0:  # empty (mktemp): a new cache
            os.close(fd)
            if size:
                self._reject(warn, f"is larger than {MAX_BYTES // 2**20} MB")
            yield None
            return
        with os.fdopen(fd, "rb", buffering=1 << 20) as handle:
            yield handle

    def _header(self, handle: BinaryIO, warn: Callable[[str], None] | None) -> CacheHeader | None:
        try:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(0)
            head = handle.read(4096)
            handle.seek(0)
            version = _VERSION.search(head) if _SIGNATURE.match(head) else None
            if version is not None and int(version.group(1)) not in READABLE:
                known = {
                    b"1": "(no image sizes)",
                    b"2": "(a larger format)",
                    b"3": "(an earlier format)",
                }
                if version.group(1) in known:
                    why = known[version.group(1)]
                    self._reject(warn, f"was written by an older dregtui {why}")
                    return None
                number = version.group(1).decode()
                self._reject(warn, f"has an unknown format version {number}")
                return None
            line = read_line(handle)
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError):
                self._reject(warn, f"cannot be read ({exc.strerror or exc})")
                return None
            self._reject(warn, "is not a dregtui cache")
            return None
        try:
            doc = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            self._reject(warn, "is not valid JSON")
            return None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            self._reject(warn, "is not a dregtui cache")
            return None
        if doc.get("version") not in READABLE:
            self._reject(warn, f"has an unknown format version {doc.get('version')!r}")
            return None
        if doc.get("registry") != self.registry_url:
            self._reject(warn, "belongs to another registry")
            return None
        try:
            header = CacheHeader.of(doc)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            self._reject(warn, "is damaged")
            return None
        claimed = header.counts
        # Every tag, digest and blob takes some bytes of the file: a claim beyond them is a lie,
        # refused before anything is made for it.
        need = 3 * claimed["tags"] + 64 * claimed["digests"] + 4 * claimed["blobs"]
        if need > size:
            what = f"{claimed['tags']:,} tags and {claimed['digests']:,} digests"
            self._reject(warn, f"is damaged (it claims {what} in {size:,} bytes)")
            return None
        return header

    def _reject(self, warn: Callable[[str], None] | None, why: str) -> None:
        """Warn that the file is unusable."""
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
            atomic_write(self.path, inventory_lines(inventory, self.registry_url, catalog))

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Millions of new objects and no cycles among them: the cyclic collector would walk
    them all again and again while they are made."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _is_cache_document(fd: int) -> bool:
    """A file whose first line is JSON whose ``format`` says dregtui (keys in another order)."""
    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            doc = json.loads(read_line(handle))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT
