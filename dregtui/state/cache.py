"""The inventory cache: one versioned JSON Lines file per registry in the user cache dir.

``<user cache dir>/dregtui/<safe name>.json`` where the name comes from the registry's host,
port and path (``127.0.0.1_5000.json``). Written atomically (temp file + ``os.replace``) with
mode 0600. It holds the registry URL, the scan time, repositories -> tags -> digests, the media
type of every digest, the children of every index and the footprint of every manifest (its
JSON size and the blobs it references, with sizes); never a credential. Version 5 is JSON Lines:
a header with what the tree needs (each repository's tag count), then the rest in chunks that
refer to digests and media types by position, their integers packed (about 230 bytes a tag
with sizes); it is written and read one line at a time. Version 4 (the same, its integers JSON
numbers) is read too; older versions are rebuilt with one notice.

    cache = InventoryCache.for_registry(url)          # or InventoryCache(path, url)
    inventory = cache.load(warn=print)                # None (+ one warning) if unusable
    cache.save(inventory)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import gc
import hashlib
import json
import os
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import count, filterfalse, repeat
from operator import methodcaller
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from dregtui.core.chunking import yield_to_other_threads
from dregtui.core.footprints import FootprintTable, footprint_columns
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci.digests import ALGORITHMS
from dregtui.state.userfiles import ConfigError, atomic_write, file_kind

FORMAT = "dregtui-inventory"
VERSION = 5
READABLE = (4, 5)  # version 4 wrote integer columns as JSON numbers
MAX_NAME = 80
# A larger cache file is ignored (with a warning), never read. Version 5 takes about 230 bytes a
# tag with sizes (each tag its own image): a million tags fit with room to spare.
MAX_BYTES = 1024 * 1024 * 1024
CHUNK = 32_768  # items a line: no line is big, and reading one holds the UI thread up briefly
MAX_LINE = 64 * 1024 * 1024  # more than CHUNK items of any kind take
COUNTS = ("repositories", "tags", "digests", "footprints", "blobs", "children")
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
                    inventory = _inventory_from(header, handle)
                except OSError as exc:
                    self._reject(warn, f"cannot be read ({exc.strerror or exc})")
                    return None
                except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError):
                    self._reject(warn, "is damaged")
                    return None
                # what was read, out of the cyclic collector's sight: its next pass would
                # walk it all, 200 ms holding the interpreter in whichever thread allocates
                # next (the UI's too); it is freed as ever, by reference counts
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
            line = _line(handle)
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
            atomic_write(self.path, _dump(inventory, self.registry_url, catalog))

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


def _line(handle: BinaryIO) -> bytes:
    """One line of the file, at most MAX_LINE bytes (a longer one is damage, never read
    whole); b"" at the end."""
    line = handle.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("a line longer than the format writes")
    return line


def _is_cache_document(fd: int) -> bool:
    """A file whose first line is JSON whose ``format`` says dregtui (keys in another order)."""
    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            doc = json.loads(_line(handle))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


@dataclass(frozen=True, slots=True)
class CacheHeader:
    """The first line of a cache: enough to draw the repository tree before the rest loads."""

    registry: str
    scanned_at: float
    catalog: bool  # False: only named repositories were scanned (registry without _catalog)
    counts: dict[str, int]  # repositories, tags, digests, footprints, blobs, children
    media_types: list[str]
    repositories: dict[str, int]  # repository -> its tag count
    scanned: set[str]  # repositories whose tags were scanned (the others are names only)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> CacheHeader:
        scanned_at = doc["scanned_at"]
        if not isinstance(scanned_at, int | float) or isinstance(scanned_at, bool):
            raise TypeError("scanned_at")
        counts = {key: doc["counts"][key] for key in COUNTS}
        if not all(type(n) is int and n >= 0 for n in counts.values()):
            raise ValueError("counts")
        repositories: dict[str, int] = {}
        scanned: set[str] = set()
        for name, tags, done in doc["repositories"]:
            if type(name) is not str or type(tags) is not int or tags < 0 or name in repositories:
                raise ValueError("repositories")
            repositories[name] = tags
            if done:
                scanned.add(name)
        if (
            len(repositories) != counts["repositories"]
            or sum(repositories.values()) != counts["tags"]
        ):
            raise ValueError("repositories")
        types = doc["media_types"]
        if not isinstance(types, list) or set(map(type, types)) - {str}:
            raise TypeError("media_types")
        return cls(
            registry=str(doc["registry"]),
            scanned_at=float(scanned_at),
            catalog=bool(doc.get("catalog", True)),
            counts=counts,
            media_types=[sys.intern(t) for t in types],
            repositories=repositories,
            scanned=scanned,
        )


def _json_line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _positions(table: dict[str, int], values: Iterable[str]) -> list[int]:
    """The position of each value in ``table``, new ones added at the end (C speed when they
    are all known, as on a second save)."""
    values = values if isinstance(values, list) else list(values)
    try:
        return list(map(table.__getitem__, values))
    except KeyError:
        new = dict.fromkeys(filterfalse(table.__contains__, values))
        table.update(zip(new, count(len(table))))
        return list(map(table.__getitem__, values))


def _dump(inventory: Inventory, registry_url: str, catalog: bool) -> Iterator[bytes]:
    """Version 4, one JSON value a line, made and written piece by piece: the header (what
    the tree needs), then the digest table, tags, children and footprints in chunks of at
    most CHUNK items that refer to digests and media types by position, then an end line."""
    digests: dict[str, int] = {}
    types: dict[str, int] = {}
    with inventory._lock:
        repositories = {r: inventory.repositories[r] for r in sorted(inventory.repositories)}
        tag_chunks: list[list[Any]] = []
        for repo, tags in repositories.items():
            names = sorted(tags)
            for at in range(0, len(names), CHUNK):
                part = names[at : at + CHUNK]
                infos = list(map(tags.__getitem__, part))
                refs = _positions(digests, [i.digest for i in infos])
                kinds = _positions(types, [i.media_type for i in infos])
                tag_chunks.append(["t", repo, part, _packed(refs), _packed(kinds)])
        children = [
            [_positions(digests, [i])[0], _positions(digests, kids)]
            for i, kids in sorted(inventory.children.items())
        ]
        footprints: list[list[Any]] = []
        manifests = blobs = 0
        for own, sizes, counts, blob_digests, blob_sizes in footprint_columns(inventory.footprints):
            # in pieces of CHUNK manifests (or 4 x CHUNK blobs, whichever comes first)
            at = blob_at = 0
            while at < len(own):
                end = min(at + CHUNK, len(own))
                n = sum(counts[at:end])
                while n > 4 * CHUNK and end - at > 1:
                    end = at + (end - at) // 2
                    n = sum(counts[at:end])
                footprints.append(
                    [
                        "f",
                        _packed(_positions(digests, own[at:end])),
                        _packed(sizes[at:end]),
                        _packed(counts[at:end]),
                        _packed(_positions(digests, blob_digests[blob_at : blob_at + n])),
                        _packed(blob_sizes[blob_at : blob_at + n]),
                    ]
                )
                manifests += end - at
                blobs += n
                at, blob_at = end, blob_at + n
        scanned = inventory.scanned
        header = {
            "format": FORMAT,
            "version": VERSION,
            "registry": registry_url,
            "scanned_at": inventory.scanned_at,
            "catalog": catalog,
            "counts": {
                "repositories": len(repositories),
                "tags": sum(len(t) for t in repositories.values()),
                "digests": len(digests),
                "footprints": manifests,
                "blobs": blobs,
                "children": len(children),
            },
            "media_types": list(types),
            "repositories": [[r, len(t), int(r in scanned)] for r, t in repositories.items()],
        }
    yield _json_line(header)
    table = list(digests)
    del digests
    for at in range(0, len(table), CHUNK):
        # digests of one algorithm in a row go as one string of hex digits: checked and cut at C
        # speed on the way back (a list of a million strings takes 1.4 s to check one by one)
        part = table[at : at + CHUNK]
        for algorithm, run in _runs(part):
            hexes = "".join(run).replace(algorithm + ":", "")  # hex digits hold no ":"
            yield _json_line(["d", algorithm, hexes])
    del table
    for line in tag_chunks:
        yield _json_line(line)
    for at in range(0, len(children), CHUNK):
        yield _json_line(["c", children[at : at + CHUNK]])
    for line in footprints:
        yield _json_line(line)
    yield _json_line(["end"])


def _packed(values: list[int]) -> str:
    """Integers as one string: "q" and their 64-bit little-endian bytes in base64. A million
    of them are read back at the speed of a copy (as JSON numbers, parsing them and making
    them an array took half a second)."""
    column = array("q", values)
    if sys.byteorder == "big":
        column.byteswap()
    return "q" + base64.b64encode(column.tobytes()).decode("ascii")


def _unpacked(value: object) -> array[int]:
    """A column of integers, none negative (ValueError), as ``_packed`` writes it or as a
    JSON list (version 4)."""
    if isinstance(value, list):
        column = array("q", value)  # TypeError for anything but integers
        if min(value, default=0) < 0:
            raise ValueError("a negative integer")
        return column
    if not isinstance(value, str) or not value.startswith("q"):
        raise TypeError("a column")
    raw = binascii.a2b_base64(value[1:], strict_mode=True)  # binascii.Error: a ValueError
    if len(raw) % 8 or raw[7::8].translate(None, _NOT_NEGATIVE):  # each top byte below 0x80
        raise ValueError("a column")
    column = array("q")
    column.frombytes(raw)
    if sys.byteorder == "big":
        column.byteswap()
    return column


_NOT_NEGATIVE = bytes(range(128))


def _runs(digests: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Consecutive digests of one algorithm, in order (one run, at once, when all are sha256)."""
    if all(map(methodcaller("startswith", "sha256:"), digests)):
        yield "sha256", digests
        return
    run: list[str] = []
    algorithm = ""
    for digest in digests:
        this = digest.split(":", 1)[0]
        if this != algorithm and run:
            yield algorithm, run
            run = []
        algorithm = this
        run.append(digest)
    if run:
        yield algorithm, run


def _inventory_from(header: CacheHeader, handle: BinaryIO) -> Inventory:
    """The lines after the header, one at a time (the file is never whole in memory)."""
    counts = header.counts  # the handle is past the header
    table: list[str] = []
    types = header.media_types
    repositories: dict[str, dict[str, TagInfo]] = {name: {} for name in header.repositories}
    children: dict[str, tuple[str, ...]] = {}
    # the footprint columns' bytes: an array extended piece by piece is copied whole at each
    # piece (a quarter of a second at a million tags), a bytearray grows by an eighth ahead
    pieces = [bytearray() for _ in range(5)]
    manifests = blobs = 0
    ended = False
    while line := _line(handle):
        yield_to_other_threads()  # a UI thread waiting for the interpreter gets it between lines
        if ended:
            raise ValueError("lines after the end")
        item = json.loads(line)
        kind = item[0]
        if kind == "d":
            _, algorithm, hexes = item
            width = ALGORITHMS[algorithm]
            raw = hexes.encode("ascii")
            if len(raw) % width or raw.translate(None, b"0123456789abcdef"):
                raise ValueError("digests")  # never print a poisoned digest
            prefix = algorithm + ":"
            table += [prefix + hexes[i : i + width] for i in range(0, len(hexes), width)]
            if len(table) > counts["digests"]:
                raise ValueError("more digests than the header says")
        elif kind == "t":
            _, repo, names, refs, kinds = item
            refs, kinds = _unpacked(refs), _unpacked(kinds)
            if set(map(type, names)) - {str} or not len(names) == len(refs) == len(kinds):
                raise TypeError("tags")
            tags = repositories[repo]  # KeyError: a repository the header did not list
            before = len(tags)
            pairs = zip(map(table.__getitem__, refs), map(types.__getitem__, kinds), strict=True)
            infos = map(tuple.__new__, repeat(TagInfo), pairs)  # C speed, no __init__
            tags.update(zip(names, infos, strict=True))
            if len(tags) - before != len(names):
                raise ValueError("a tag twice")
        elif kind == "c":
            for index, kids in item[1]:
                if index < 0 or min(kids, default=0) < 0:
                    raise IndexError("children")
                children[table[index]] = tuple(map(table.__getitem__, kids))
        elif kind == "f":
            column_values = list(map(_unpacked, item[1:]))
            if len(column_values) != 5:
                raise ValueError("footprints")
            for piece, values in zip(pieces, column_values, strict=True):
                piece += values
            manifests += len(column_values[0])
            blobs += len(column_values[3])
            if manifests > counts["footprints"] or blobs > counts["blobs"]:
                raise ValueError("more footprints than the header says")
        elif kind == "end":
            ended = True
        else:
            raise ValueError("an unknown line")
    if not ended:
        raise ValueError("the file ends early")  # torn: a copy cut short, say
    for repo, tags in repositories.items():
        if len(tags) != header.repositories[repo]:
            raise ValueError("tag counts")
    if len(table) != counts["digests"] or len(children) != counts["children"]:
        raise ValueError("counts")
    columns = [array("q", piece) for piece in pieces]
    del pieces
    footprints = FootprintTable(table, *columns)  # IndexError: a position past the table
    return Inventory(
        registry=header.registry,
        repositories=repositories,
        scanned=header.scanned & set(repositories),
        children=children,
        footprints=footprints,
        scanned_at=header.scanned_at,
    )
