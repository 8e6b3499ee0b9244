"""The inventory cache's file format, version 6: JSON Lines, written and read a line at a time.

A header line with what the tree needs (``CacheHeader``: each repository's tag count), then the
digest table, tags, children, artifacts (a referrer's subject and artifact type; new in
version 6) and footprints in chunks of at most CHUNK items that refer to
digests and media types by position, their integers packed, then an end line. Versions 4 (the
same, its integers JSON numbers) and 5 (no artifacts) are read too. ``dregtui/state/cache.py`` handles the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count, filterfalse, repeat
from operator import methodcaller
from typing import Any, BinaryIO

from dregtui.core.chunking import yield_to_other_threads
from dregtui.core.footprints import FootprintTable, footprint_columns
from dregtui.core.inventory import ArtifactInfo, Inventory, TagInfo
from dregtui.core.oci.digests import ALGORITHMS

FORMAT = "dregtui-inventory"
VERSION = 6
READABLE = (4, 5, 6)  # version 4 wrote integer columns as JSON numbers
CHUNK = 32_768  # items a line: no line is big, and reading one holds the UI thread up briefly
MAX_LINE = 64 * 1024 * 1024  # more than CHUNK items of any kind take
COUNTS = ("repositories", "tags", "digests", "footprints", "blobs", "children")


def read_line(handle: BinaryIO) -> bytes:
    """One line of the file, at most MAX_LINE bytes (a longer one is damage, never read
    whole); b"" at the end."""
    line = handle.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("a line longer than the format writes")
    return line


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
    updated_at: float | None = None  # a deletion or a restore changed it since the scan

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
        updated_at = doc.get("updated_at")
        if updated_at is not None and (
            not isinstance(updated_at, int | float) or isinstance(updated_at, bool)
        ):
            raise TypeError("updated_at")
        return cls(
            registry=str(doc["registry"]),
            scanned_at=float(scanned_at),
            updated_at=None if updated_at is None else float(updated_at),
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


def inventory_lines(inventory: Inventory, registry_url: str, catalog: bool) -> Iterator[bytes]:
    """Version 6, one JSON value a line, made and written piece by piece: the header (what
    the tree needs), then the digest table, tags, children, artifacts and footprints in chunks of at
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
        artifacts = [
            [_positions(digests, [d])[0], info.subject, info.artifact_type]
            for d, info in sorted(inventory.artifacts.items())
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
            **({"updated_at": inventory.updated_at} if inventory.updated_at is not None else {}),
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
        # speed on the way back, not one string at a time
        part = table[at : at + CHUNK]
        for algorithm, run in _runs(part):
            hexes = "".join(run).replace(algorithm + ":", "")  # hex digits hold no ":"
            yield _json_line(["d", algorithm, hexes])
    del table
    for line in tag_chunks:
        yield _json_line(line)
    for at in range(0, len(children), CHUNK):
        yield _json_line(["c", children[at : at + CHUNK]])
    for at in range(0, len(artifacts), CHUNK):
        yield _json_line(["a", artifacts[at : at + CHUNK]])
    for line in footprints:
        yield _json_line(line)
    yield _json_line(["end"])


def _packed(values: list[int]) -> str:
    """Integers as one string: "q" and their 64-bit little-endian bytes in base64. They are read
    back at the speed of a copy, with no JSON numbers to parse."""
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


def inventory_from_lines(header: CacheHeader, handle: BinaryIO) -> Inventory:
    """The lines after the header, one at a time (the file is never whole in memory)."""
    counts = header.counts  # the handle is past the header
    table: list[str] = []
    types = header.media_types
    repositories: dict[str, dict[str, TagInfo]] = {name: {} for name in header.repositories}
    children: dict[str, tuple[str, ...]] = {}
    artifacts: dict[str, ArtifactInfo] = {}
    # the footprint columns' bytes: an array extended piece by piece is copied whole at each
    # piece, a bytearray grows by an eighth ahead
    pieces = [bytearray() for _ in range(5)]
    manifests = blobs = 0
    ended = False
    while line := read_line(handle):
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
        elif kind == "a":
            for position, subject, artifact_type in item[1]:
                if (
                    position < 0
                    or not isinstance(subject, str)
                    or not isinstance(artifact_type, str)
                ):
                    raise TypeError("artifacts")
                artifacts[table[position]] = ArtifactInfo(subject, artifact_type)
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
        artifacts=artifacts,
        scanned_at=header.scanned_at,
        updated_at=header.updated_at,
    )
