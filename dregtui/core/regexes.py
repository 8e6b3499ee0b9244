"""What a tag regex's parse tells about it, for the filter's fast paths (no matching here).

Both questions are answered from the tree Python's own regex parser builds (``re._parser``, the
one ``re.compile`` uses), never from the pattern's text, and both answer False when in doubt (a
parser that changed, a construct not listed): the caller then reads every tag with the regex.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

try:
    _parser: Any = importlib.import_module("re._parser")
    _c: Any = importlib.import_module("re._constants")
    _AT_ENDS = frozenset({_c.AT_BEGINNING_STRING, _c.AT_END_STRING})
except (ImportError, AttributeError):  # another Python's internals: no fast path
    _parser = None

# what a match of a line's tag alone is also a match in the joined text with: characters,
# classes, ^ $ \b (MULTILINE), groups, repeats that give back, alternatives, references. Not
# listed, so never read that way: lookarounds (they would see the next line), \A and \Z (the
# whole text's ends), atomic groups and possessive repeats (they would not give back a
# newline they took), and whatever a later Python adds.
_OVER_LINES = frozenset(
    {
        "LITERAL", "NOT_LITERAL", "ANY", "IN", "AT", "SUBPATTERN", "MAX_REPEAT", "MIN_REPEAT",
        "BRANCH", "GROUPREF", "GROUPREF_EXISTS",
    }
)  # fmt: skip


def _parsed(pattern: str, flags: int) -> Any | None:
    if _parser is None:
        return None
    try:
        return _parser.parse(pattern, flags)
    except (re.error, RecursionError, AttributeError, TypeError, ValueError):
        return None


def _items(tree: Any) -> Iterator[tuple[Any, Any]]:
    """Every (opcode, argument) of a parse tree, nested ones included."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if hasattr(node, "data"):  # a SubPattern
            for op, av in node.data:
                yield op, av
                stack.append(av)
        elif isinstance(node, (tuple, list)):
            stack.extend(node)


@lru_cache(maxsize=64)
def over_lines(pattern: str, flags: int = 0) -> bool:
    """Can ``pattern`` be searched for once in the tags joined by newlines (compiled with
    ``re.MULTILINE``), a match that holds no newline being a match of its line's tag alone,
    and every tag that matches alone starting a match there? True unless the pattern asserts
    the ends of the whole string (``\\A``, ``\\Z``), looks around (its lookahead would see the
    next line), is atomic or possessive (it would not give back a newline it took), or turns
    ``MULTILINE`` off in a group. The caller still checks that no tag holds a newline and no
    match found spans one."""
    tree = _parsed(pattern, flags)
    if tree is None:
        return False
    for op, av in _items(tree):
        name = str(op)
        if name not in _OVER_LINES or (name == "AT" and av in _AT_ENDS):
            return False
        if name == "SUBPATTERN" and av[2] & re.MULTILINE:
            return False
    return True


@lru_cache(maxsize=64)
def within_lines(pattern: str, flags: int = 0) -> bool:
    """Can no match of ``pattern`` hold a newline (every character it consumes is a literal,
    a class or a ``.`` that excludes it)? Then a lookahead for it at a line's start sees that
    line alone: ``\\n(?!...)`` finds the lines it does not match."""
    tree = _parsed(pattern, flags)
    return tree is not None and _keeps(tree, tree.state.flags)


def _keeps(tree: Any, flags: int) -> bool:
    for op, av in tree.data:
        name = str(op)
        if name == "LITERAL":
            ok = av != 10
        elif name == "ANY":
            ok = not flags & re.DOTALL
        elif name == "IN":
            ok = all(_outside(kind, value) for kind, value in av)
        elif name in ("AT", "GROUPREF"):
            ok = True  # no character, or what a group (checked) took
        elif name == "SUBPATTERN":
            ok = _keeps(av[3], (flags | av[1]) & ~av[2])
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            ok = _keeps(av[2], flags)
        elif name == "BRANCH":
            ok = all(_keeps(branch, flags) for branch in av[1])
        else:  # NOT_LITERAL (it takes a newline), and anything not listed
            ok = False
        if not ok:
            return False
    return True


_KEEPING = frozenset({"CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_SPACE"})


def _outside(kind: Any, value: Any) -> bool:
    """Is a newline outside this member of a class?"""
    name = str(kind)
    if name == "LITERAL":
        return bool(value != 10)
    if name == "RANGE":
        return not value[0] <= 10 <= value[1]
    return name == "CATEGORY" and str(value) in _KEEPING  # NEGATE, and the rest: maybe


@lru_cache(maxsize=64)
def line_start(pattern: str, flags: int = 0) -> str | None:
    """The rest of ``pattern`` after its leading ``^``, when ``"\\n" + rest`` searched for in
    text where each line follows a newline finds a line's match where ``pattern`` finds it
    in the line alone (the ``^`` is the first item of the whole sequence: ``^a|^b`` is
    not); else None."""
    if not pattern.startswith("^"):
        return None
    rest = pattern[1:]
    old, new = _parsed(pattern, flags), _parsed("\\n" + rest, flags)
    if old is None or new is None or old.state.flags != new.state.flags:
        return None
    head, *tail = _plain(old)
    if head != (_c.AT, _c.AT_BEGINNING) or _plain(new) != ((_c.LITERAL, 10), *tail):
        return None
    return rest


def _plain(tree: Any) -> Any:
    """A parse tree as nested tuples, compared by value."""
    if hasattr(tree, "data"):
        return tuple((op, _plain(av)) for op, av in tree.data)
    if isinstance(tree, (tuple, list)):
        return tuple(_plain(x) for x in tree)
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
    head: tuple[object, ...] = _plain(old)
    return bool(_plain(new)[: len(head)] == head)
