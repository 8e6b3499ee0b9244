"""The marked tags: a set that says when it changed."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from itertools import count
from typing import Any

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
