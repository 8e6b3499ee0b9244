"""Command-line tag selectors: what one ``-t``/``-re``/``-x``/``--variant`` value matches.

Every value is parsed and validated up front: a bad regex or version selector raises
:class:`SelectorError` whose message names the argument, e.g. ``-re '[': unterminated character
set``, before any request is made. How a whole selection is applied is in
:mod:`dregtui.core.selection`.

- ``-t TAG`` exact tag names, or version selectors: ``<1.4``, ``<=``, ``>``, ``>=``, ``==``, ``!=``,
  ``~=``, wildcards ``==1.4.*`` and comma-joined ranges ``>=1.2,<2`` (every clause must hold).
  They compare the *version part* of a tag as :mod:`dregtui.core.tags` reads it (``1.25.3`` of
  ``v1.25.3-alpine``, ``3.13.0rc1`` of ``3.13.0rc1-slim``) with ``packaging``'s
  ``SpecifierSet``; pre-releases are candidates (``<1.26`` takes ``1.25.0-rc.1``), with PEP 440's
  rule that ``<1.26`` does not take a pre-release of 1.26 itself (``1.26.0-rc.1``). Every
  variant is selected (``<1.26`` takes ``1.25.3-alpine``, as the classic tool's LooseVersion
  did). Plain names (``latest``, ``pr-1234``, ``sha256-....sig``) never match a version selector.
- ``--variant NAME`` (repeatable) restricts the version selectors, and retention alone, to tags
  with that variant, written as in the tag (``alpine`` for ``1.25.3-alpine``, ``alpine3.19``)
  or as a glob (``'alpine*'``); ``--variant none`` means tags without a variant. Exact names,
  regexes and exclusions are not restricted.
- ``-re REGEX`` tag regexes, ``re.match`` (anchored at the start only: ``-re 1.`` matches
  ``1.0`` and ``1.0-rc``, use ``$`` to anchor the end).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import Version

from dregtui.core.tags import parse_tag, parse_version
from dregtui.core.textsafe import shorten

LATEST = "latest"
MAX_TAG_LENGTH = 128  # characters (the OCI distribution spec's tag grammar)
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_CLAUSE_RE = re.compile(r"\s*(<=|>=|==|!=|~=|<|>)\s*(\S+)\s*")
NO_VARIANT = "none"  # --variant none: tags without a variant
_VARIANT_RE = re.compile(r"[A-Za-z0-9_.*?\[\]-]{1,128}")
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_DURATION = 52000 * 604800  # seconds (~1000 years): now - DURATION stays a valid date


class SelectorError(ValueError):
    """A selector could not be parsed; the message names the argument and the problem."""


def compile_regex(text: str, arg: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise SelectorError(f"{arg} {text!r}: {exc.msg}") from None


def is_version_selector(text: str) -> bool:
    return text[:1] in ("<", ">", "=", "!", "~")


def variant_matches(patterns: Sequence[str], tag: str) -> bool:
    """True when the tag's variant is one of ``patterns`` (globs; ``none`` = no variant).

    An empty ``patterns`` takes every variant. Plain names (no version) have no variant to
    restrict and are taken: the caller decides what plain names it considers.
    """
    if not patterns:
        return True
    variant = parse_tag(tag).variant
    return any((not variant) if p == NO_VARIANT else fnmatchcase(variant, p) for p in patterns)


def parse_variants(values: Iterable[str], arg: str = "--variant") -> tuple[str, ...]:
    """Validate ``--variant`` values (a variant as written, a glob, or ``none``)."""
    out: list[str] = []
    for value in values:
        if not _VARIANT_RE.fullmatch(value):
            raise SelectorError(
                f"{arg} {value!r}: not a variant (write it as in the tag, e.g. alpine for "
                "1.25.3-alpine, a glob such as 'alpine*', or none for tags without a variant)"
            )
        out.append(value)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class TagSelector:
    """One tag selector: ``exact`` name, ``version`` specifiers (all must hold) or ``regex``.

    A version selector compares the version part of a tag (:mod:`dregtui.core.tags`: ``1.25.3`` of
    ``v1.25.3-alpine``) with ``packaging`` specifiers; pre-releases are candidates, with PEP
    440's rule that ``<1.26`` does not take ``1.26.0-rc.1``. ``variants`` restricts it to those
    variants (empty: every variant). ``search`` makes a regex unanchored (the TUI filter); the
    CLI's regexes use ``re.match``.
    """

    kind: Literal["exact", "version", "regex", "substring"]
    text: str
    specifiers: SpecifierSet | None = None
    pattern: re.Pattern[str] | None = None
    search: bool = False
    variants: tuple[str, ...] = ()
    # The specifiers as (operator, bound) pairs when every clause is a plain comparison: the
    # same answers as ``specifiers.contains`` (PEP 440 with pre-releases), quicker,
    # which a filter over 100,000 tags at each keystroke needs. None: packaging decides.
    compiled: tuple[tuple[str, Version, Specifier], ...] | None = field(default=None, compare=False)

    def matches(self, tag: str) -> bool:
        if self.kind == "exact":
            return tag == self.text
        if self.kind == "substring":
            return self.text.lower() in tag.lower()
        if self.kind == "regex":
            assert self.pattern is not None
            found = self.pattern.search(tag) if self.search else self.pattern.match(tag)
            return found is not None
        assert self.specifiers is not None
        version = parse_version(tag)
        if version is None:
            return False
        if self.variants and not variant_matches(self.variants, tag):
            return False
        if self.compiled is not None:
            return all(
                compare_version(op, version, bound, spec) for op, bound, spec in self.compiled
            )
        return self.specifiers.contains(version, prereleases=True)

    def __str__(self) -> str:
        return self.text


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def is_plain_release(v: Version) -> bool:
    return not (v.is_prerelease or v.is_postrelease or v.local)


def compare_version(op: str, v: Version, bound: Version, spec: Specifier) -> bool:
    """One comparison. Between plain releases PEP 440 is plain ordering; anything with a
    pre-, post- or dev-release on either side goes to packaging, whose rules for those
    (``<1.26`` takes no ``1.26.0rc1``) changed between its versions."""
    if not (is_plain_release(v) and is_plain_release(bound)):
        return spec.contains(v, prereleases=True)
    return COMPARISONS[op](v, bound)


def parse_version_selector(
    text: str, arg: str = "-t", *, variants: Sequence[str] = ()
) -> TagSelector:
    """``>=1.2,<2`` -> a version TagSelector; raises SelectorError naming ``arg``.

    Bounds are read as tags are (``v1.2``, ``1.26.0-rc.1`` and ``2024.01.15`` are fine); ``==``
    and ``!=`` take a trailing ``.*`` (``==1.4.*``), ``~=`` is PEP 440's compatible release.
    """
    clauses: list[str] = []
    compiled: list[tuple[str, Version, Specifier]] | None = []
    for part in text.split(","):
        m = _CLAUSE_RE.fullmatch(part)
        if not m:
            raise SelectorError(
                f"{arg} {text!r}: {part.strip()!r} is not a version comparison "
                "(use <, <=, >, >=, ==, != or ~= followed by a version, e.g. '>=1.2,<2')"
            )
        op, bound = m.group(1), m.group(2)
        if len(bound) > MAX_TAG_LENGTH:  # 5,000 digits would pass int()'s own limit
            raise SelectorError(
                f"{arg} {shorten(text, 40)!r}: the version is {len(bound):,} characters long; "
                f"no tag is longer than {MAX_TAG_LENGTH}"
            )
        wildcard = bound.endswith(".*") and op in ("==", "!=")
        parts = parse_tag(bound[:-2] if wildcard else bound)
        if parts.version is None or parts.variant or parts.build:
            raise SelectorError(f"{arg} {text!r}: {bound!r} is not a version")
        clause = f"{op}{parts.version}{'.*' if wildcard else ''}"
        try:
            SpecifierSet(clause)
        except InvalidSpecifier:
            raise SelectorError(
                f"{arg} {text!r}: {part.strip()!r} is not a valid comparison "
                f"({op} does not take {bound!r})"
            ) from None
        clauses.append(clause)
        if compiled is not None and op in COMPARISONS and not wildcard:
            compiled.append((op, parts.version, Specifier(clause)))
        else:
            compiled = None
    return TagSelector(
        "version",
        text,
        specifiers=SpecifierSet(",".join(clauses)),
        variants=tuple(variants),
        compiled=tuple(compiled) if compiled is not None else None,
    )


def parse_tag_selector(
    text: str, arg: str = "-t", *, regex: bool = False, variants: Sequence[str] = ()
) -> TagSelector:
    """A ``-t``/``-x`` value (exact name or version selector) or a ``-re``/``-xre`` regex.

    ``variants`` restricts a version selector (``--variant``); names and regexes ignore it.
    """
    if regex:
        return TagSelector("regex", text, pattern=compile_regex(text, arg))
    if is_version_selector(text):
        return parse_version_selector(text, arg, variants=variants)
    if not TAG_RE.fullmatch(text):
        raise SelectorError(
            f"{arg} {text!r}: not a tag name or version selector "
            "(tags are letters, digits, '_', '.', '-'; versions look like '>=1.2,<2')"
        )
    return TagSelector("exact", text)


def parse_duration(text: str, arg: str = "--older-than") -> timedelta:
    """``30d``, ``12h``, ``2w``, ``1w2d``, ``90m``, ``45s`` -> timedelta."""
    compact = text.strip().lower()
    if not compact or _DURATION_RE.sub("", compact).strip():
        raise SelectorError(
            f"{arg} {text!r}: not a duration (use a number and a unit s, m, h, d or w, e.g. 30d)"
        )
    try:
        seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION_RE.findall(compact))
    except ValueError:  # more digits than int() takes
        seconds = _MAX_DURATION + 1
    if seconds > _MAX_DURATION:
        raise SelectorError(f"{arg} {text!r}: too long (at most 1000 years, 52000w)")
    return timedelta(seconds=seconds)
