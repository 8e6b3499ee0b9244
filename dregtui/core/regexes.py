"""Whether a regex typed further only narrows what it finds, so the filter can narrow the
tags the shorter one kept instead of reading them all again.

Answered from the tree Python's own regex parser builds (``re._parser``, the one
``re.compile`` uses), never from the pattern's text. The parser is private: its import is not
guarded, and ``tests/test_filter_index.py`` checks it, so a Python without it fails loudly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from re import _parser  # type: ignore[attr-defined]
from typing import Any


def _parsed(pattern: str, flags: int) -> Any | None:
    try:
        return _parser.parse(pattern, flags)
    except (re.error, RecursionError, TypeError, ValueError):
        return None


def _as_tuples(tree: Any) -> Any:
    """A parse tree as nested tuples, compared by value."""
    if hasattr(tree, "data"):
        return tuple((op, _as_tuples(av)) for op, av in tree.data)
    if isinstance(tree, (tuple, list)):
        return tuple(_as_tuples(x) for x in tree)
    return tree


@lru_cache(maxsize=64)
def narrows(before: str, after: str, flags: int = 0) -> bool:
    """Does every string that ``after`` finds (``re.search``) also hold a match of ``before``?
    True when ``after`` is ``before`` followed by more of the same sequence (``^1.`` then
    ``^1.2``: the items of ``before``'s tree begin ``after``'s, under the same flags): a match
    of ``after`` starts with one of ``before``. ``^1.`` then ``^1.*`` or ``a`` then ``a|b``
    change the last item or the whole: False."""
    if not after.startswith(before):
        return False
    old, new = _parsed(before, flags), _parsed(after, flags)
    if old is None or new is None or old.state.flags != new.state.flags:
        return False
    head: tuple[object, ...] = _as_tuples(old)
    return bool(_as_tuples(new)[: len(head)] == head)
