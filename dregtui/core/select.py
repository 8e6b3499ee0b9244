"""Selectors: which repositories and tags a query or cleanup is about.

Everything is parsed and validated up front (:meth:`Selection.from_args`, :func:`parse_filter`):
a bad regex or version selector raises :class:`SelectorError` whose message names the argument,
e.g. ``-re '[': unterminated character set``, before any request is made.

Command-line selectors (the classic ``dregutil`` options, plus retention rules):

- ``-r NAME`` exact repository names; ``-rre REGEX`` repository regexes (``re.match``: anchored
  at the start, not the end, like the classic tool's tag regexes).
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
- ``-x`` / ``-xre`` exclusions, same syntax as ``-t`` / ``-re``: they protect a *digest*: if any
  tag of that digest in that repository matches, none of its tags is selected.
- ``--keep-last N``: per repository, keep the N most recent *images* (digests) among the
  candidates, as Harbor/GitLab retention policies do: two tags on one image count once. Images
  are ranked by their highest version tag (or by created date with ``--by-date``) and every tag
  of a kept image is kept. Images that cannot be ranked (no version tag among the candidates;
  no known date with ``--by-date``) are kept.
- ``--older-than DURATION`` (``30d``, ``12h``, ``2w``, ``90m``, ``45s``, combinations such as
  ``1w2d``): only images created before now - DURATION. The created date comes from the image
  config (looked up lazily, cached by digest); an unknown date is never "older".
- ``latest`` is never selected unless named exactly (``-t latest``) or the whole repository is
  selected (``remove-repos``, :attr:`Selection.all_tags`).
- Retention alone (``--keep-last`` / ``--older-than`` with no ``-t``/``-re``) selects *version*
  tags only: they are what it ranks. Another tag on an image it removes (``lts``, ``stable``, a
  commit id) was not selected, so the plan treats it as it treats any tag ``-t`` did not select
  (an intersecting tag: the image is skipped, exit 3; ``--no-match-all-tags`` deletes it with a
  "not selected, deleted too" note; ``--untag`` removes only the version tags). Images without a
  version tag are left alone. Add ``-re '.*'`` to let retention consider every tag but ``latest``.

Order of application per repository: include selectors (or every tag) -> the ``latest`` rule ->
``--keep-last`` -> ``--older-than`` -> exclusions.

The TUI's ``/`` filter (:func:`parse_filter`) is one string of space-separated terms, all of which
must hold: ``<1.4`` or ``>=1.2,<2`` (version selector), ``re:^1\\.`` (regex, ``re.search``),
``=1.0`` (exact tag), ``!term`` (negation of any term: ``!latest``, ``!re:-rc``), anything else is
a case-insensitive substring. An empty filter matches every tag.
"""

from __future__ import annotations

import contextlib
import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from itertools import accumulate, compress, islice, repeat
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import Version

from dregtui.core.inventory import Inventory, TagRef
from dregtui.core.regexes import line_start, over_lines, within_lines
from dregtui.core.tags import parse_tag, parse_version, sort_key
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

#: ``created(pairs)`` -> digest -> created date (None when unknown); pairs are (repository, digest).
CreatedLookup = Callable[[Sequence[tuple[str, str]]], Mapping[str, datetime | None]]


class SelectorError(ValueError):
    """A selector could not be parsed; the message names the argument and the problem."""


def _regex(text: str, arg: str) -> re.Pattern[str]:
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
    # same answers as ``specifiers.contains`` (PEP 440 with pre-releases), about 8x faster,
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
            return all(_compare(op, version, bound, spec) for op, bound, spec in self.compiled)
        return self.specifiers.contains(version, prereleases=True)

    def __str__(self) -> str:
        return self.text


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _plain(v: Version) -> bool:
    return not (v.is_prerelease or v.is_postrelease or v.local)


def _compare(op: str, v: Version, bound: Version, spec: Specifier) -> bool:
    """One comparison. Between plain releases PEP 440 is plain ordering; anything with a
    pre-, post- or dev-release on either side goes to packaging, whose rules for those
    (``<1.26`` takes no ``1.26.0rc1``) changed between its versions."""
    if not (_plain(v) and _plain(bound)):
        return spec.contains(v, prereleases=True)
    return _OPERATORS[op](v, bound)


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
        if compiled is not None and op in _OPERATORS and not wildcard:
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
        return TagSelector("regex", text, pattern=_regex(text, arg))
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


def _matches_any(selectors: Iterable[TagSelector], tag: str) -> bool:
    return any(s.matches(tag) for s in selectors)


@dataclass(frozen=True)
class Selection:
    """A validated selection of repositories and tags (see the module docstring).

    Build it with :meth:`from_args` (validates everything) and apply it with :meth:`select`.
    """

    repositories: tuple[str, ...] = ()
    repository_patterns: tuple[re.Pattern[str], ...] = ()
    tags: tuple[TagSelector, ...] = ()
    excludes: tuple[TagSelector, ...] = ()
    all_tags: bool = False
    keep_last: int | None = None
    by_date: bool = False
    older_than: timedelta | None = None
    variants: tuple[str, ...] = ()

    @classmethod
    def from_args(
        cls,
        *,
        repositories: Iterable[str] = (),
        repository_regex: Iterable[str] = (),
        tags: Iterable[str] = (),
        regex: Iterable[str] = (),
        exclude: Iterable[str] = (),
        exclude_regex: Iterable[str] = (),
        all_tags: bool = False,
        keep_last: int | None = None,
        by_date: bool = False,
        older_than: str | timedelta | None = None,
        variants: Iterable[str] = (),
    ) -> Selection:
        """Parse and validate every selector; raises SelectorError naming the bad argument."""
        if keep_last is not None and keep_last < 0:
            raise SelectorError(f"--keep-last {keep_last}: must be 0 or more")
        if by_date and keep_last is None:
            raise SelectorError("--by-date: only makes sense with --keep-last N")
        if isinstance(older_than, str):
            older_than = parse_duration(older_than)
        tags = tuple(tags)
        variants = parse_variants(variants)
        if variants and not (
            any(is_version_selector(t) for t in tags) or keep_last is not None or older_than
        ):
            raise SelectorError(
                "--variant: restricts version selectors (-t '<1.26') and --keep-last / "
                "--older-than; give one of them"
            )
        return cls(
            repositories=tuple(dict.fromkeys(repositories)),
            repository_patterns=tuple(_regex(r, "-rre") for r in repository_regex),
            tags=tuple(parse_tag_selector(t, "-t", variants=variants) for t in tags)
            + tuple(parse_tag_selector(r, "-re", regex=True) for r in regex),
            excludes=tuple(parse_tag_selector(t, "-x") for t in exclude)
            + tuple(parse_tag_selector(r, "-xre", regex=True) for r in exclude_regex),
            all_tags=all_tags,
            keep_last=keep_last,
            by_date=by_date,
            older_than=older_than,
            variants=variants,
        )

    @property
    def needs_dates(self) -> bool:
        """True when applying this selection needs created dates (``created`` lookup)."""
        return self.older_than is not None or self.by_date

    @property
    def has_tag_criteria(self) -> bool:
        """False when nothing would be selected (no tags, no whole repositories, no retention)."""
        return (
            bool(self.tags)
            or self.all_tags
            or self.keep_last is not None
            or self.older_than is not None
        )

    def match_repositories(self, names: Iterable[str]) -> list[str]:
        """Named repositories (in the order given, when they exist) then regex matches, sorted."""
        known = set(names)
        out = [r for r in self.repositories if r in known]
        seen = set(out)
        for name in sorted(known - seen):
            if any(p.match(name) for p in self.repository_patterns):
                out.append(name)
        return out

    def missing_repositories(self, names: Iterable[str]) -> list[str]:
        """``-r`` names that are not in the registry (for a warning)."""
        known = set(names)
        return [r for r in self.repositories if r not in known]

    @property
    def retention_only(self) -> bool:
        """``--keep-last``/``--older-than`` without -t/-re: only version tags are candidates."""
        retention = self.keep_last is not None or self.older_than is not None
        return retention and not self.tags and not self.all_tags

    def _candidates(self, tags: Iterable[str]) -> list[str]:
        retention = self.keep_last is not None or self.older_than is not None
        if self.tags:
            named = {s.text for s in self.tags if s.kind == "exact"}
            return [t for t in tags if t in named or (t != LATEST and _matches_any(self.tags, t))]
        if self.retention_only:
            # what retention ranks; other tags on a removed image are intersecting (plan.py)
            return [
                t
                for t in tags
                if parse_version(t) is not None and variant_matches(self.variants, t)
            ]
        if self.all_tags:
            return [t for t in tags if t != LATEST or not retention]
        return []

    def images_without_versions(self, inventory: Inventory) -> int:
        """Images (digests) of the matched repositories that carry no version tag and no
        ``latest`` (signature tags aside): a retention-only selection leaves them alone."""
        count = 0
        for repo in self.match_repositories(inventory.repository_names()):
            tags_of: dict[str, list[str]] = {}
            for tag, info in inventory.repositories.get(repo, {}).items():
                tags_of.setdefault(info.digest, []).append(tag)
            count += sum(
                1
                for names in tags_of.values()
                if LATEST not in names
                and all(parse_version(t) is None and not t.startswith("sha256-") for t in names)
            )
        return count

    def select(
        self,
        inventory: Inventory,
        *,
        created: CreatedLookup | None = None,
        now: datetime | None = None,
    ) -> dict[str, list[str]]:
        """Apply the selection: repository -> selected tags (version order); empty repos omitted.

        ``created`` is required when :attr:`needs_dates` (see :mod:`dregtui.ops.dates`).
        """
        if self.needs_dates and created is None:
            raise ValueError("this selection needs a created-date lookup")
        now = now or datetime.now(UTC)
        result: dict[str, list[str]] = {}
        for repo in self.match_repositories(inventory.repository_names()):
            tags = inventory.repositories.get(repo, {})
            chosen = self._candidates(tags)
            if self.keep_last is not None or self.older_than is not None:
                dates: Mapping[str, datetime | None] = {}
                if self.needs_dates and chosen:
                    assert created is not None
                    pairs = sorted({(repo, tags[t].digest) for t in chosen})
                    dates = created(pairs)
                chosen = self._retain(
                    chosen,
                    {t: tags[t].digest for t in chosen},
                    {t: dates.get(tags[t].digest) for t in chosen},
                    now,
                )
            if self.excludes and chosen:
                protected = {
                    info.digest for tag, info in tags.items() if _matches_any(self.excludes, tag)
                }
                chosen = [t for t in chosen if tags[t].digest not in protected]
            if chosen:
                result[repo] = sorted(chosen, key=sort_key)
        return result

    def _retain(
        self,
        tags: list[str],
        digests: Mapping[str, str],
        dates: Mapping[str, datetime | None],
        now: datetime,
    ) -> list[str]:
        chosen = list(tags)
        if self.keep_last is not None:
            keep = self._kept_digests(chosen, digests, dates, self.keep_last)
            chosen = [t for t in chosen if digests[t] not in keep]
        if self.older_than is not None:
            cutoff = now - self.older_than
            chosen = [t for t in chosen if (d := dates.get(t)) is not None and d < cutoff]
        return chosen

    def _kept_digests(
        self,
        tags: list[str],
        digests: Mapping[str, str],
        dates: Mapping[str, datetime | None],
        n: int,
    ) -> set[str]:
        """``--keep-last N`` keeps *images* (digests), as Harbor/GitLab retention does: the
        candidate digests are ranked by their highest version tag (or created date with
        ``--by-date``, ties by version) and the N first kept with every tag on them. A
        digest that cannot be ranked (no version tag; no known date) is kept too."""
        ranked, unranked = rank_images(tags, digests, dates, by_date=self.by_date)
        return set(ranked[:n]) | unranked


def rank_images(
    tags: Iterable[str],
    digests: Mapping[str, str],
    dates: Mapping[str, datetime | None],
    *,
    by_date: bool,
) -> tuple[list[str], set[str]]:
    """The one ranking of images (digests) for keep-last (``--keep-last`` and policies):
    newest first by the highest version tag on each, or by created date (ties by version)
    with ``by_date``; and the digests it cannot rank (no version tag; no known date)."""
    by_digest: dict[str, list[str]] = {}
    for tag in tags:
        by_digest.setdefault(digests[tag], []).append(tag)
    # the highest version tag of each digest ("" when it has none)
    top = {
        dig: max((t for t in ts if parse_version(t) is not None), key=sort_key, default="")
        for dig, ts in by_digest.items()
    }
    if by_date:
        dated = {dig: dates.get(ts[0]) for dig, ts in by_digest.items()}
        rankable = [dig for dig in by_digest if dated[dig] is not None]
        ranked = sorted(
            rankable, key=lambda dig: (dated[dig], sort_key(top[dig]), dig), reverse=True
        )
    else:
        rankable = [dig for dig in by_digest if top[dig]]
        ranked = sorted(rankable, key=lambda dig: sort_key(top[dig]), reverse=True)
    return ranked, set(by_digest) - set(rankable)


def select_tags(
    inventory: Inventory,
    selection: Selection,
    *,
    created: CreatedLookup | None = None,
    now: datetime | None = None,
) -> dict[str, list[TagRef]]:
    """The selected tags per repository as TagRefs (same rules as :meth:`Selection.select`)."""
    chosen = selection.select(inventory, created=created, now=now)
    return {repo: [TagRef(repo, t) for t in tags] for repo, tags in chosen.items()}


# -- the TUI's one-string filter ------------------------------------------------------------


class TagIndex:
    """What a filter needs of each tag, computed once per tag list (the TUI caches it per
    repository and order): lower-cased names, parsed versions and their comparison keys."""

    def __init__(self, tags: Sequence[str], *, version_order: bool = False) -> None:
        self._tags = tags
        # the tags are in the one version order (sort_tags): a version range's plain releases
        # are then one stretch of it, found by bisection instead of a comparison a tag
        self._version_order = version_order
        self._runs: tuple[list[int], list[int]] | None = None  # of unplain: starts, ends
        self._lower: list[str] | None = None
        self._keys: list[object] | None = None
        # position -> version, for the versions that are not plain releases (pre, post...):
        # a plain release needs only its key, and half a million Version objects took 120 MB
        self._odd: dict[int, Version] = {}
        # the positions of the tags that are not plain releases, in order
        self._unplain: list[int] = []
        # the tags joined by newlines and where each starts (one more: past the end), for a
        # regex over many tags; False when a tag holds a newline (hostile: not used)
        self._text: tuple[str, array[int]] | Literal[False] | None = None

    # Each column is made when a filter first needs it: a text filter over a million tags
    # lower-cases them (0.1 s), only a version filter parses every version (seconds).
    @property
    def lower(self) -> list[str]:
        if self._lower is None:
            self._lower = list(map(str.lower, self._tags))
        return self._lower

    @property
    def keys(self) -> list[object]:
        """Each tag's comparison key when it is a plain release, else () (falsy, and below
        every key without an error: a ``map`` of comparisons runs over the whole column)."""
        if self._keys is None:
            keys: list[object] = []
            odd, unplain = self._odd, self._unplain
            for n, tag in enumerate(self._tags):
                version = parse_version(tag)
                key = _plain_key(version)
                if key is None:
                    keys.append(())
                    unplain.append(n)
                    if version is not None:
                        odd[n] = version
                else:
                    keys.append(key)
            self._keys = keys
        return self._keys

    @property
    def text(self) -> tuple[str, array[int]] | None:
        """The tags, each after a newline, and the offset where each starts (and one past the
        last line), 14 bytes a tag; None when a tag holds a newline."""
        if self._text is None:
            tags = self._tags
            joined = "\n" + "\n".join(tags)
            if joined.count("\n") != len(tags):
                self._text = False
            else:
                starts = accumulate(map((1).__add__, map(len, tags)), initial=1)
                self._text = (joined, array("q" if len(joined) >= 2**31 else "i", starts))
        return self._text or None

    @property
    def prepared(self) -> bool:
        """Every column is made: a filter reads them, it makes none."""
        return self._lower is not None and self._keys is not None and self._text is not None

    def prepare(self) -> None:
        """Make every column now (a worker does, for a big repository, before it is asked)."""
        self.lower  # noqa: B018
        self.keys  # noqa: B018
        self.text  # noqa: B018

    def taken(self, sel: TagSelector) -> Sequence[int] | None:
        """The positions of every tag a version range of plain bounds takes, in order, when
        the tags are in version order: the plain releases it takes are stretches of the order
        (bisected, a few dozen comparisons for a million tags), the other tags are judged one
        by one (``test``'s rules). None when that does not apply."""
        bounds = _plain_bounds(sel) if self.bisects(sel) else None
        if not bounds:
            return None
        n = len(self._tags)
        proxy = self._proxy()
        stretches = [(0, n)]
        for _, bound, op, *_ in bounds:
            key: Any = bound
            low = bisect_left(range(n), key, key=proxy)
            high = bisect_right(range(n), key, key=proxy)
            wanted = {
                "<": [(0, low)],
                "<=": [(0, high)],
                ">": [(high, n)],
                ">=": [(low, n)],
                "==": [(low, high)],
                "!=": [(0, low), (high, n)],
            }[op]
            stretches = [
                (max(a, c), min(b, d))
                for a, b in stretches
                for c, d in wanted
                if max(a, c) < min(b, d)
            ]
        unplain = self._unplain
        if len(stretches) == 1 and not unplain:
            return range(*stretches[0])
        test = self.test(sel, self._tags)
        out = array("q")
        start = 0
        for u in [*unplain, n]:  # the plain releases before u, then u itself (by its rules)
            for a, b in stretches:
                a, b = max(a, start), min(b, u)
                if a < b:
                    out.extend(range(a, b))
            if u < n and test(u):
                out.append(u)
            start = u + 1
        return out

    def reads_none(self, sel: TagSelector, negated: bool) -> bool:
        """Is ``sel`` a term a filter answers without reading the tags (a regex every tag
        matches, a version range ``taken`` bisects)?"""
        return takes_every_tag(sel) or (not negated and self.bisects(sel))

    def bisects(self, sel: TagSelector) -> bool:
        """Does ``taken`` answer ``sel`` (a version range of plain bounds, the tags in version
        order, at most a fifth of them judged one by one)?"""
        if not self._version_order or not _plain_bounds(sel):
            return False
        self.keys  # noqa: B018  (made with it: the positions of the tags not plain releases)
        return 4 * len(self._unplain) <= len(self._tags)

    def _proxy(self) -> Callable[[int], Any]:
        """Position -> a key that never decreases along the version order: a plain
        release's own key, for any other tag the key of the next plain release (or above
        every key): what bisection needs, and what only the plain releases are judged by."""
        keys, n = self.keys, len(self._tags)
        if self._runs is None:
            starts: list[int] = []
            ends: list[int] = []
            for u in self._unplain:
                if ends and ends[-1] == u:
                    ends[-1] = u + 1
                else:
                    starts.append(u)
                    ends.append(u + 1)
            self._runs = (starts, ends)
        starts, ends = self._runs

        def proxy(i: int) -> Any:
            key = keys[i]
            if key:
                return key
            after = ends[bisect_right(starts, i) - 1]
            return keys[after] if after < n else _TOP

        return proxy

    def found(
        self, sel: TagSelector, tags: Sequence[str], kept: Sequence[int]
    ) -> Iterator[bytearray] | None:
        """Whether each tag at ``kept`` matches ``sel`` (a byte a tag, a chunk of them at a
        time), made without a Python call per tag (a million tags in 30 ms instead of 160);
        None for a selector that needs one."""
        everything = isinstance(kept, range) and len(kept) == len(tags)

        def of(values: Sequence[str]) -> Iterable[str]:
            return values if everything else map(values.__getitem__, kept)

        each: Iterable[bool | int]
        if sel.kind == "substring":
            each = map(operator.contains, of(self.lower), repeat(sel.text.lower()))
        elif sel.kind == "regex" and sel.pattern is not None:
            read = _reader(sel)
            if everything and sel.search and tags is self._tags and len(tags) > CHUNK:
                lines = self._lines_found(sel.pattern, read)
                if lines is not None:
                    return lines
            each = read(of(tags))
        elif sel.kind == "exact":
            each = map(operator.eq, of(tags), repeat(sel.text))
        elif sel.kind == "version":
            found = self._versions_found(sel, kept, everything)
            return None if found is None else iter((found,))
        else:
            return None
        it = iter(each)
        return iter(lambda: bytearray(islice(it, CHUNK)), bytearray())

    def _lines_found(
        self, pattern: re.Pattern[str], read: Callable[[Iterable[str]], Iterable[bool]]
    ) -> Iterator[bytearray] | None:
        """Whether each tag matches ``pattern`` (searched), a chunk at a time, the way the
        last chunk says is quickest: where few tags matched, the matches are looked for in
        the joined text (``finditer``: a step a match, not a call a tag); where most did, the
        lines that do not match are (a lookahead after each newline, when no match can hold
        one: ``regexes.within_lines``); else each tag is read. None when the pattern cannot
        be searched for over lines (``regexes.over_lines``) or a tag holds a newline."""
        if not over_lines(pattern.pattern, pattern.flags):
            return None
        text = self.text
        if text is None:
            return None
        flags = pattern.flags | re.MULTILINE
        # ^ at the start of the pattern: the newline before the line instead (a literal,
        # which the engine looks for at C speed; a ^ is tried at every character)
        rest = line_start(pattern.pattern, pattern.flags)
        lines = re.compile("\\n" + rest if rest is not None else pattern.pattern, flags)
        others = None
        if within_lines(pattern.pattern, pattern.flags):
            body = rest if rest is not None else "[^\\n]*?(?:" + pattern.pattern + ")"
            with contextlib.suppress(re.error):  # (?i) at the start is then not at the start
                others = re.compile("\\n(?!(?:" + body + "))", flags)
        return self._chunks(read, lines, rest is not None, others, *text)

    def _chunks(
        self,
        read: Callable[[Iterable[str]], Iterable[bool]],
        lines: re.Pattern[str],
        newline: bool,
        others: re.Pattern[str] | None,
        joined: str,
        starts: array[int],
    ) -> Iterator[bytearray]:
        tags, n = self._tags, len(self._tags)
        found = 0  # tags the last chunk matched; the first chunk is read tag by tag
        for a in range(0, n, CHUNK):
            b = min(a + CHUNK, n)
            flags = None
            if a and found * SPARSE < b - a:
                flags = self._searched(lines, newline, joined, starts, a, b)
            elif a and others is not None and (b - a - found) * SPARSE < b - a:
                flags = self._searched(others, True, joined, starts, a, b, matching=False)
            if flags is None:
                flags = bytearray(read(tags[a:b]))
            found = flags.count(1)
            yield flags

    @staticmethod
    def _searched(
        lines: re.Pattern[str],
        newline: bool,
        joined: str,
        starts: array[int],
        a: int,
        b: int,
        *,
        matching: bool = True,
    ) -> bytearray | None:
        """Which of the tags a..b match, from one ``finditer`` over their lines, of the
        pattern (``newline``: each match begins with the newline before its line) or, not
        ``matching``, of the lines that do not match; None when a match spans a newline of
        its own (it may hide the next line's match) or when so many are found that reading
        the tags one by one is quicker: the caller then does."""
        most = (b - a) // 3
        found = list(islice(lines.finditer(joined, starts[a] - newline, starts[b] - 1), most + 1))
        if len(found) > most:
            return None
        held = sum(map(str.count, map(re.Match.group, found), repeat("\n")))
        if held != (len(found) if newline else 0):
            return None
        flags = bytearray(b - a) if matching else bytearray(b"\x01") * (b - a)
        at = map(re.Match.start, found)
        if newline:
            at = map((1).__add__, at)  # the line's own start
        base = a + 1
        for line in map(bisect_right, repeat(starts), at, repeat(a), repeat(b)):
            flags[line - base] = matching
        return flags

    def _versions_found(
        self, sel: TagSelector, kept: Sequence[int], everything: bool
    ) -> bytearray | None:
        """A range of plain bounds over the plain releases at C speed (each comparison a
        ``map`` over the key column), then the few other tags one by one (``test``'s rules);
        None when most tags are not plain releases (``test`` alone is as quick) or the range
        is not plain (variants, pre-releases)."""
        bounds = _plain_bounds(sel)
        if not bounds:
            return None
        keys = self.keys
        if 4 * len(self._unplain) > len(kept):
            return None
        found: bytearray | None = None
        for cmp, key, *_ in bounds:
            column = keys if everything else map(keys.__getitem__, kept)
            each = map(cmp, column, repeat(key))
            found = bytearray(each if found is None else map(operator.and_, found, each))
        assert found is not None  # bounds is not empty
        test = self.test(sel, self._tags)
        for i in self._unplain:
            j = i if everything else bisect_left(kept, i)
            if j < len(kept) and kept[j] == i:
                found[j] = test(i)
        return found

    def test(self, sel: TagSelector, tags: Sequence[str]) -> Callable[[int], bool]:
        if sel.kind == "substring":
            needle, lower = sel.text.lower(), self.lower
            return lambda i: needle in lower[i]
        bounds = _plain_bounds(sel)
        if bounds is not None:
            keys, odd = self.keys, self._odd
            exact = [(op, b, spec) for _, _, op, b, spec in bounds]

            def slow(i: int) -> bool:  # not a version, or a pre/post-release: exact rules
                v = odd.get(i)
                return v is not None and all(_compare(op, v, b, spec) for op, b, spec in exact)

            # one and two bounds without a generator per tag: 12 ms instead of 53 over
            # 100,000 tags for "<1.2" (a keystroke's budget is 50)
            if len(bounds) == 1:
                cmp, bound = bounds[0][0], bounds[0][1]
                return lambda i: cmp(k, bound) if (k := keys[i]) else slow(i)
            if len(bounds) == 2:
                (c1, b1, *_), (c2, b2, *_) = bounds
                return lambda i: (c1(k, b1) and c2(k, b2)) if (k := keys[i]) else slow(i)

            def version_test(i: int) -> bool:
                key = keys[i]
                if not key:
                    return slow(i)
                return all(cmp(key, bound) for cmp, bound, *_ in bounds)

            return version_test
        return lambda i: sel.matches(tags[i])


class _Top:
    """Above every version key (the tags after the last version, in version order)."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_TOP = _Top()


def _plain_bounds(
    sel: TagSelector,
) -> list[tuple[Callable[[Any, Any], bool], object, str, Version, Specifier]] | None:
    """A version range's bounds, each (comparison, plain key, operator, version, specifier),
    when every bound is a plain release and no variants are asked for; else None."""
    if sel.kind != "version" or sel.compiled is None or sel.variants:
        return None
    bounds = [(_OPERATORS[op], _plain_key(b), op, b, spec) for op, b, spec in sel.compiled]
    return bounds if all(key is not None for _, key, *_ in bounds) else None


def _plain_key(v: Version | None) -> object | None:
    """A plain release's comparison key (packaging's own), None for anything else."""
    if v is None or not _plain(v):
        return None
    return getattr(v, "_key", None)


# A regex that is a string: letters, digits and punctuation without a meaning in a pattern, or
# punctuation escaped (``1\.2``), maybe after a ``^``. ``$`` is left to the regex (it also
# matches before a final newline), as is every class, group, wildcard and flag.
_PLAIN_RE = re.compile(r"(\^?)((?:[A-Za-z0-9_,:;@/=<>'\"%&~`!#-]|\\[^A-Za-z0-9\s])+)")
_ESCAPED = re.compile(r"\\(.)")


def _reader(sel: TagSelector) -> Callable[[Iterable[str]], Iterable[bool]]:
    """Tags -> whether each matches the regex ``sel``, without a Python call a tag; a regex
    that is a plain string without a match object a tag either (2x faster)."""
    plain = plain_text(sel.text)
    if plain is not None:
        at_start, text = plain
        if at_start or not sel.search:
            return lambda tags: map(str.startswith, tags, repeat(text))
        return lambda tags: map(operator.contains, tags, repeat(text))
    assert sel.pattern is not None
    find = sel.pattern.search if sel.search else sel.pattern.match
    return lambda tags: map(bool, map(find, tags))


def plain_text(pattern: str) -> tuple[bool, str] | None:
    r"""(anchored at the start, the string) when the regex ``pattern`` is a plain string; None
    when it is anything more. ``re:^1\.2`` is ``startswith("1.2")``."""
    m = _PLAIN_RE.fullmatch(pattern)
    if m is None:
        return None
    return bool(m.group(1)), _ESCAPED.sub(r"\1", m.group(2))


# regexes that every tag matches (search anywhere): no tag need be read for them
EVERY_TAG = frozenset({"", "^", "\\A", ".*", "^.*", "\\A.*"})


def takes_every_tag(sel: TagSelector) -> bool:
    """A regex (searched anywhere) that every tag matches, ``re:^`` on the way to ``re:^1.2``."""
    return sel.kind == "regex" and sel.search and sel.text in EVERY_TAG


CHUNK = 50_000  # tags a filter pass reads before it lets another thread run (about 5-10 ms)
# a regex is searched for in a chunk's joined text once fewer than one in SPARSE of the tags
# before matched, or (the lines it does not match) once fewer than one in SPARSE did not: a
# line found there costs about five times what a tag read one by one does
SPARSE = 6
_NOT = bytes.maketrans(b"\0\1", b"\1\0")  # a term's flags, negated


class FilterStopped(Exception):
    """A filter's answer was no longer wanted (a newer keystroke): it stopped part way."""


@dataclass(frozen=True)
class TagFilter:
    """A parsed ``/`` filter: every (selector, negated) term must hold."""

    text: str
    terms: tuple[tuple[TagSelector, bool], ...] = field(default_factory=tuple)

    def matches(self, tag: str) -> bool:
        return all(sel.matches(tag) != negated for sel, negated in self.terms)

    def filter(self, tags: Iterable[str]) -> list[str]:
        return [t for t in tags if self.matches(t)]

    def filter_indexed(
        self,
        tags: Sequence[str],
        index: TagIndex,
        keep: Sequence[int] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Sequence[int]:
        """The positions in ``tags`` that ``filter`` takes (of ``keep``, default all), in
        order, with what ``index`` precomputed for them (lower-cased names, versions, their
        sort keys): the same answer, fast enough for a keystroke over 100,000 tags. One pass
        per term, each over what the previous ones kept; a term that keeps everything (the
        first key of most filters) keeps the positions as they were (a ``range`` over all).
        The passes go a chunk at a time: between two, another thread gets the interpreter (a
        C-speed pass over a million tags held it for 300 ms, the screen frozen meanwhile) and
        ``stop`` is asked whether the answer is still wanted (else :class:`FilterStopped`)."""
        kept: Sequence[int] = range(len(tags)) if keep is None else keep
        for sel, negated in self.terms:
            if takes_every_tag(sel):
                kept = [] if negated else kept
                continue
            if not negated and isinstance(kept, range) and len(kept) == len(tags):
                taken = index.taken(sel)  # a version range over tags in version order
                if taken is not None:
                    kept = taken
                    continue
            found = index.found(sel, tags, kept)
            if found is not None:  # one C-speed pass (text, regexes, names)
                # bytes and an array, not lists: a million-item list is walked by each of
                # the garbage collector's passes until it is old (20-40 ms a keystroke)
                flags = bytearray()
                for part in found:
                    flags += part.translate(_NOT) if negated else part
                    if stop is not None and stop():
                        raise FilterStopped
                if 0 in flags:
                    kept = array("q", compress(kept, flags))
                continue
            test = index.test(sel, tags)
            kept = [i for i in kept if not test(i)] if negated else [i for i in kept if test(i)]
        return kept

    @property
    def empty(self) -> bool:
        return not self.terms


def parse_filter(text: str) -> TagFilter:
    """Parse the TUI filter (syntax in the module docstring); raises SelectorError."""
    terms: list[tuple[TagSelector, bool]] = []
    for word in text.split():
        negated = word.startswith("!") and len(word) > 1 and not word.startswith("!=")
        body = word[1:] if negated else word
        if body.startswith("re:"):
            sel = TagSelector("regex", body[3:], pattern=_regex(body[3:], "filter"), search=True)
        elif body.startswith("=") and not body.startswith("=="):
            sel = TagSelector("exact", body[1:])
        elif is_version_selector(body):
            sel = parse_version_selector(body, "filter")
        else:
            sel = TagSelector("substring", body)
        terms.append((sel, negated))
    return TagFilter(text, tuple(terms))
