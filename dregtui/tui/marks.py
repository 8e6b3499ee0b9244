"""The marked tags: a set that says when it changed, and what marking many at once says."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import count
from typing import Any

from dregtui.core.protected import protected_kind
from dregtui.core.textsafe import clean
from dregtui.tui.text import counted

_VERSIONS = count(1)


class Marks(set[tuple[str, str]]):
    """The marked (repository, tag) pairs: a set whose ``version`` moves at every change, so
    what is derived from the marks is cached by one integer instead of by hashing them all."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(items)
        self.version = next(_VERSIONS)

    def _moved(self) -> None:
        self.version = next(_VERSIONS)

    def add(self, item: tuple[str, str]) -> None:
        super().add(item)
        self._moved()

    def discard(self, item: object) -> None:
        super().discard(item)
        self._moved()

    def remove(self, item: tuple[str, str]) -> None:
        super().remove(item)
        self._moved()

    def pop(self) -> tuple[str, str]:
        self._moved()
        return super().pop()

    def clear(self) -> None:
        super().clear()
        self._moved()

    def update(self, *others: Iterable[tuple[str, str]]) -> None:
        super().update(*others)
        self._moved()

    def difference_update(self, *others: Iterable[Any]) -> None:
        super().difference_update(*others)
        self._moved()

    def intersection_update(self, *others: Iterable[Any]) -> None:
        super().intersection_update(*others)
        self._moved()

    def symmetric_difference_update(self, other: Iterable[tuple[str, str]]) -> None:
        super().symmetric_difference_update(other)
        self._moved()

    def __ior__(self, other: AbstractSet[tuple[str, str]]) -> Marks:  # type: ignore[override,misc]
        super().__ior__(other)
        self._moved()
        return self

    def __isub__(self, other: AbstractSet[Any]) -> Marks:  # type: ignore[misc]
        super().__isub__(other)
        self._moved()
        return self

    def __iand__(self, other: AbstractSet[Any]) -> Marks:  # type: ignore[misc]
        super().__iand__(other)
        self._moved()
        return self

    def __ixor__(self, other: AbstractSet[tuple[str, str]]) -> Marks:  # type: ignore[override,misc]
        super().__ixor__(other)
        self._moved()
        return self


@dataclass(frozen=True, slots=True)
class GroupMark:
    """What marking (or unmarking) whole repositories did: the tags it took, their
    repositories, how many marks changed, and the tag filter that chose them ('' for all)."""

    tags: list[str]
    repositories: list[str]
    changed: int
    marked: bool
    tag_filter: str

    def sentence(self, where: str, *, group: bool = False) -> str:
        """The toast: what was marked, by which filter, where (``where``: a repository, or a
        namespace or another ``group`` of them, whose repositories are then counted), and
        the protected-looking tags among them."""
        place = clean(where)
        shown = clean(self.tag_filter)
        if not self.tags:
            if self.tag_filter:
                return f"No tag matches {shown} in {place}: nothing marked."
            return f"No tags in {place}: nothing marked."
        verb = "Marked" if self.marked else "Unmarked"
        tags = counted(len(self.tags), "tag")
        repositories = counted(len(self.repositories), "repository")
        if self.tag_filter:
            inside = f"{repositories} of {place}" if group else place
            said = f"{verb} {tags} matching {shown} in {inside}."
        elif group:
            said = f"{verb} all {tags} of {place} ({repositories}; no tag filter)."
        else:
            said = f"{verb} all {tags} of {place} (no tag filter)."
        names = sorted({t for t in self.tags if protected_kind(t) == "name"})
        plumbing = sum(1 for t in self.tags if protected_kind(t) == "plumbing")
        if self.marked and (names or plumbing):
            among = [clean(n) for n in names[:3]] + (["…"] if len(names) > 3 else [])
            if plumbing:
                among.append(counted(plumbing, "signature/SBOM tag"))
            said += f" Among them: {', '.join(among)}."
        return said
