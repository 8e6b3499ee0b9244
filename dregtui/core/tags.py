"""Tag anatomy: what a tag says about its version, and the one order tags are shown in.

A tag reads, left to right, as::

    [v] RELEASE [PRE] [BUILD] [-VARIANT]

- ``v`` (or ``V``): optional, ignored for comparison (``v1.2`` and ``1.2`` are one version).
- ``RELEASE``: numbers joined by dots: ``1``, ``1.25``, ``1.25.3``, ``1.2.3.4``; calendar versions
  are versions too (``2024.01.15``, ``24.04``, ``20240115``).
- ``PRE`` (pre-release): one of the usual words ``a``/``alpha``, ``b``/``beta``,
  ``c``/``rc``/``pre``/``preview`` (all three are PEP 440's ``rc``), ``dev``, in any case,
  optionally after ``-`` or ``.`` and optionally followed by a number (after ``.`` or ``-`` or
  directly): ``-rc.1``, ``-beta2``, ``rc1``, ``-alpha``, ``a2``, ``RC6``, ``-preview3``. A word
  counts only where it ends (``1.0-alpine`` is the variant ``alpine``, not ``a`` + ``lpine``).
- ``BUILD`` (build metadata, SemVer's ``+build.7``; OCI tags cannot hold ``+``): ``_build.7``
  (Helm's spelling), ``_12`` (Temurin's ``21.0.1_12``), and after ``-`` a bare number
  (``3.5.10-0``, a package revision), ``build`` + number (``0.0.10-build10``) or a commit id
  (7 to 40 hex digits with at least one letter: ``20240115-3f2a9c1``). Build metadata does not
  take part in version comparison; in the order it comes after the variant.
- ``VARIANT``: the rest after ``-``, which must start with a letter: ``alpine``,
  ``slim-bookworm``, ``alpine3.19``, ``windowsservercore-ltsc2022``, ``jdk21-temurin-jammy``.
  A variant is kept as written (``--variant`` compares it as written).

Anything else is a *plain name*: ``latest``, ``stable``, ``main-3f2a9c1``, ``pr-1234``,
``jammy-20231128``, ``bookworm-slim``, ``sha256-<hex>.sig``, ``1.0.`` (not a release).
A tag that starts with letters is a plain name even when a date follows (``jammy-20231128``,
``nightly-2024.01.15``): the word is the stream, not a variant of a version; such tags sort in
natural order (``pr-9`` before ``pr-10``) and never match a version selector. ``20240115-3f2a9c1``
(date + commit) is the calendar version 20240115 with build ``3f2a9c1`` and no variant.

The order (:func:`sort_key`), used by every list the CLI and the TUI print and by keep-last:
versions first, in version order (PEP 440, pre-releases before their release), then by variant
(no variant first, then natural order), then by build (natural order); plain names after them in
natural order (digit runs compare as numbers, then case-insensitively); the tag itself breaks
any tie, so the order is total.

Parsing is pure and cached (:func:`parse_tag`): registries have repositories with tens of
thousands of tags and every sort and every selector asks again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_PRE_WORDS = {
    "a": "a",
    "alpha": "a",
    "b": "b",
    "beta": "b",
    "c": "rc",
    "rc": "rc",
    "pre": "rc",
    "preview": "rc",
    "dev": "dev",
}

_TAG_RE = re.compile(
    r"""
    (?P<v>[vV])?
    (?P<release>\d+(?:\.\d+)*)
    (?:
        [-.]?
        (?P<preword>alpha|beta|preview|pre|rc|dev|a|b|c)
        (?=$|[-._\d])
        (?:[.-]?(?P<prenum>\d+))?
    )?
    (?:
        _(?P<ubuild>[A-Za-z0-9.]+)
      | -(?P<dbuild>\d+|build[.-]?\d+|(?=[0-9a-f]*[a-f])[0-9a-f]{7,40})(?=$|-)
    )?
    (?:-(?P<variant>[A-Za-z][A-Za-z0-9._-]*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_DIGITS = re.compile(r"(\d+)")
_INT_DIGITS = 4000  # digits int() takes from a string (CPython's limit is 4,300)


@dataclass(frozen=True, slots=True)
class TagParts:
    """One tag read as ``[v] release [pre] [build] [-variant]``; ``version`` None = plain name."""

    tag: str
    version: Version | None = None
    release: str = ""
    pre: str = ""
    build: str = ""
    variant: str = ""

    @property
    def is_version(self) -> bool:
        return self.version is not None


# The caches serve what is sorted or filtered again and again (a pane of a few thousand tags,
# policy checks); a big repository's order is kept by the session instead. 16,384 entries a
# cache: parsed tags are big, and a cache eight times that size weighs on a million-tag TUI.
CACHED = 1 << 14


@lru_cache(maxsize=CACHED)
def parse_tag(tag: str) -> TagParts:
    """The anatomy of ``tag`` (see the module docstring); cached."""
    m = _TAG_RE.fullmatch(tag)
    if m is None:
        return TagParts(tag)
    release = m.group("release")
    word = m.group("preword")
    number = m.group("prenum")
    text = release
    pre = ""
    try:
        if word is not None:
            kind = _PRE_WORDS[word.lower()]
            n = int(number) if number is not None else 0
            text += f".dev{n}" if kind == "dev" else f"{kind}{n}"
            pre = word + (number or "")
        version = Version(text)
    except InvalidVersion:  # pragma: no cover - the grammar above only builds valid ones
        return TagParts(tag)
    except ValueError:  # a number past int()'s 4,300 digits: no tag (128 characters) has one
        return TagParts(tag)
    build = m.group("ubuild") or m.group("dbuild") or ""
    return TagParts(tag, version, release, pre, build, m.group("variant") or "")


def parse_version(tag: str) -> Version | None:
    """The version part of the tag, or None for a plain name (``latest``, ``pr-1234``)."""
    return parse_tag(tag).version


@lru_cache(maxsize=CACHED)
def natural_key(text: str) -> tuple[str | int, ...]:
    """``pr-9`` before ``pr-10``: digit runs compare as numbers, the rest case-insensitively.

    ``re.split`` with a group alternates text and digits, so equal positions hold equal types.
    """
    parts = _DIGITS.split(text.lower())
    try:
        return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))
    except ValueError:  # a run past int()'s 4,300 digits (a hostile name): ranked by its head
        return tuple(int(p[:_INT_DIGITS]) if i % 2 else p for i, p in enumerate(parts))


SortKey = tuple[int, object, tuple[str | int, ...], tuple[str | int, ...], str]


@lru_cache(maxsize=CACHED)
def sort_key(tag: str) -> SortKey:
    """The one tag order (module docstring): versions, then variant, then build; then names."""
    parts = parse_tag(tag)
    if parts.version is None:
        return (1, natural_key(tag), (), (), tag)
    variant = (0,) if not parts.variant else (1, *natural_key(parts.variant))
    return (0, parts.version, variant, natural_key(parts.build), tag)


def sort_tags(tags: Iterable[str], *, reverse: bool = False) -> list[str]:
    """``tags`` in the one order (:func:`sort_key`)."""
    tags = list(tags)
    if len(tags) > 1:  # else no key to make (a plan asks for each item's one tag, 750,000 times)
        tags.sort(key=sort_key, reverse=reverse)  # the copy is ours: sorted() made a second
    return tags


def variant_sort_key(tag: str) -> tuple[tuple[int | str, ...], SortKey]:
    """Grouped by variant (no variant first, then plain names), the one order within a group."""
    parts = parse_tag(tag)
    if parts.version is None:
        group: tuple[int | str, ...] = (2,)
    elif not parts.variant:
        group = (0,)
    else:
        group = (1, *natural_key(parts.variant))
    return (group, sort_key(tag))
