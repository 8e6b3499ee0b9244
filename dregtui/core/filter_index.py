"""What the TUI's filter needs of each tag, computed once per tag list, and the fast
passes over it: a term answered for every tag without a Python call a tag."""

from __future__ import annotations

import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice, repeat
from typing import Any

from packaging.specifiers import Specifier
from packaging.version import Version

from dregtui.core.selectors import COMPARISONS, TagSelector, compare_version, is_plain_release
from dregtui.core.tags import parse_version

CHUNK = 50_000  # tags a filter pass reads before it lets another thread run


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
        # a plain release needs only its key (a Version object a tag is too much memory)
        self._odd: dict[int, Version] = {}
        # the positions of the tags that are not plain releases, in order
        self._unplain: list[int] = []

    # Each column is made when a filter first needs it: a text filter only lower-cases the
    # tags, only a version filter parses every version (the slow one).
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
    def prepared(self) -> bool:
        """Every column is made: a filter reads them, it makes none."""
        return self._lower is not None and self._keys is not None

    def prepare(self) -> None:
        """Make every column now (a worker does, for a big repository, before it is asked)."""
        self.lower  # noqa: B018
        self.keys  # noqa: B018

    def range_positions(self, sel: TagSelector) -> Sequence[int] | None:
        """The positions of every tag a version range of plain bounds takes, in order, when
        the tags are in version order: the plain releases it takes are stretches of the order
        (bisected: a few dozen comparisons), the other tags are judged one
        by one (``predicate``'s rules). None when that does not apply."""
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
        test = self.predicate(sel, self._tags)
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

    def answered_without_reading(self, sel: TagSelector, negated: bool) -> bool:
        """Is ``sel`` a term a filter answers without reading the tags (a regex every tag
        matches, a version range ``range_positions`` bisects)?"""
        return takes_every_tag(sel) or (not negated and self.bisects(sel))

    def bisects(self, sel: TagSelector) -> bool:
        """Does ``range_positions`` answer ``sel`` (a version range of plain bounds, the tags in version
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
            return keys[after] if after < n else _ABOVE_EVERY_KEY

        return proxy

    def match_flags(
        self, sel: TagSelector, tags: Sequence[str], kept: Sequence[int]
    ) -> Iterator[bytearray] | None:
        """Whether each tag at ``kept`` matches ``sel`` (a byte a tag, a chunk of them at a
        time), made without a Python call per tag;
        None for a selector that needs one."""
        everything = isinstance(kept, range) and len(kept) == len(tags)

        def of(values: Sequence[str]) -> Iterable[str]:
            return values if everything else map(values.__getitem__, kept)

        each: Iterable[bool | int]
        if sel.kind == "substring":
            each = map(operator.contains, of(self.lower), repeat(sel.text.lower()))
        elif sel.kind == "regex" and sel.pattern is not None:
            each = _reader(sel)(of(tags))
        elif sel.kind == "exact":
            each = map(operator.eq, of(tags), repeat(sel.text))
        elif sel.kind == "version":
            found = self._version_flags(sel, kept, everything)
            return None if found is None else iter((found,))
        else:
            return None
        it = iter(each)
        return iter(lambda: bytearray(islice(it, CHUNK)), bytearray())

    def _version_flags(
        self, sel: TagSelector, kept: Sequence[int], everything: bool
    ) -> bytearray | None:
        """A range of plain bounds over the plain releases at C speed (each comparison a
        ``map`` over the key column), then the few other tags one by one (``predicate``'s rules);
        None when most tags are not plain releases (``predicate`` alone is as quick) or the range
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
        test = self.predicate(sel, self._tags)
        for i in self._unplain:
            j = i if everything else bisect_left(kept, i)
            if j < len(kept) and kept[j] == i:
                found[j] = test(i)
        return found

    def predicate(self, sel: TagSelector, tags: Sequence[str]) -> Callable[[int], bool]:
        if sel.kind == "substring":
            needle, lower = sel.text.lower(), self.lower
            return lambda i: needle in lower[i]
        bounds = _plain_bounds(sel)
        if bounds is not None:
            keys, odd = self.keys, self._odd
            exact = [(op, b, spec) for _, _, op, b, spec in bounds]

            def slow(i: int) -> bool:  # not a version, or a pre/post-release: exact rules
                v = odd.get(i)
                return v is not None and all(
                    compare_version(op, v, b, spec) for op, b, spec in exact
                )

            # one and two bounds without a generator per tag (a keystroke's budget is 50 ms)
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


class _AboveEveryKey:
    """A key greater than every version key: the proxy of the tags after the last plain
    release, in version order."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_ABOVE_EVERY_KEY = _AboveEveryKey()


def _plain_bounds(
    sel: TagSelector,
) -> list[tuple[Callable[[Any, Any], bool], object, str, Version, Specifier]] | None:
    """A version range's bounds, each (comparison, plain key, operator, version, specifier),
    when every bound is a plain release and no variants are asked for; else None."""
    if sel.kind != "version" or sel.compiled is None or sel.variants:
        return None
    bounds = [(COMPARISONS[op], _plain_key(b), op, b, spec) for op, b, spec in sel.compiled]
    return bounds if all(key is not None for _, key, *_ in bounds) else None


def _plain_key(v: Version | None) -> object | None:
    """A plain release's comparison key, None for anything else: its epoch and release without
    trailing zeros (PEP 440: ``1.2`` == ``1.2.0``), compared as tuples, in C."""
    if v is None or not is_plain_release(v):
        return None
    release = list(v.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    return (v.epoch, tuple(release))


# A regex that is a string: letters, digits and punctuation without a meaning in a pattern, or
# punctuation escaped (``1\.2``), maybe after a ``^``. ``$`` is left to the regex (it also
# matches before a final newline), as is every class, group, wildcard and flag.
_PLAIN_RE = re.compile(r"(\^?)((?:[A-Za-z0-9_,:;@/=<>'\"%&~`!#-]|\\[^A-Za-z0-9\s])+)")
_ESCAPED = re.compile(r"\\(.)")


def _reader(sel: TagSelector) -> Callable[[Iterable[str]], Iterable[bool]]:
    """Tags -> whether each matches the regex ``sel``, without a Python call a tag; a regex
    that is a plain string without a match object a tag either."""
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
