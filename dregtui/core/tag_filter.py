"""The TUI's ``/`` filter: one string of terms, applied to a repository's tags at each key.

A filter (:func:`parse_filter`) is one string of space-separated terms, all of which
must hold: ``<1.4`` or ``>=1.2,<2`` (version selector), ``re:^1\\.`` (regex, ``re.search``),
``=1.0`` (exact tag), ``!term`` (negation of any term: ``!latest``, ``!re:-rc``), anything else is
a case-insensitive substring. An empty filter matches every tag.

:meth:`TagFilter.filter` reads each tag; :meth:`TagFilter.filter_indexed` gives the same answer
from a :class:`~dregtui.core.filter_index.TagIndex`, fast enough for a keystroke over 100,000 tags.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress

from dregtui.core.filter_index import TagIndex, takes_every_tag
from dregtui.core.selectors import (
    TagSelector,
    compile_regex,
    is_version_selector,
    parse_version_selector,
)

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
        The passes go a chunk at a time: between two, another thread gets the interpreter (one
        C-speed pass over a million tags would freeze the screen) and
        ``stop`` is asked whether the answer is still wanted (else :class:`FilterStopped`)."""
        kept: Sequence[int] = range(len(tags)) if keep is None else keep
        for sel, negated in self.terms:
            if takes_every_tag(sel):
                kept = [] if negated else kept
                continue
            if not negated and isinstance(kept, range) and len(kept) == len(tags):
                taken = index.range_positions(sel)  # a version range over tags in version order
                if taken is not None:
                    kept = taken
                    continue
            found = index.match_flags(sel, tags, kept)
            if found is not None:  # one C-speed pass (text, regexes, names)
                # bytes and an array, not lists: a million-item list is walked by each of
                # the garbage collector's passes until it is old
                flags = bytearray()
                for part in found:
                    flags += part.translate(_NOT) if negated else part
                    if stop is not None and stop():
                        raise FilterStopped
                if 0 in flags:
                    kept = array("q", compress(kept, flags))
                continue
            test = index.predicate(sel, tags)
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
            sel = TagSelector(
                "regex", body[3:], pattern=compile_regex(body[3:], "filter"), search=True
            )
        elif body.startswith("=") and not body.startswith("=="):
            sel = TagSelector("exact", body[1:])
        elif is_version_selector(body):
            sel = parse_version_selector(body, "filter")
        else:
            sel = TagSelector("substring", body)
        terms.append((sel, negated))
    return TagFilter(text, tuple(terms))
