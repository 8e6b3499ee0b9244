"""The filter text typed in the TUI: parsed, weighed, compared with the last one.

The tags pane works a big repository's filter out in place or in a worker by what it costs
(``term_cost``); typing further narrows the last filter's rows instead of reading every tag
again (``narrows_filter``). The repository tree's filter is simpler: a piece of the name or a
regex (``repository_matcher``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dregtui.core.filter_index import plain_text
from dregtui.core.regexes import narrows
from dregtui.core.selectors import SelectorError, TagSelector
from dregtui.core.tag_filter import TagFilter, parse_filter

COST = {"substring": 1, "exact": 1, "version": 2}  # anything else (a regex): 3


def term_cost(sel: TagSelector) -> int:
    """What a term costs a tag, relative to a substring: a regex that is a plain string is one."""
    if sel.kind == "regex" and plain_text(sel.text) is not None:
        return COST["substring"]
    return COST.get(sel.kind, 3)


def narrows_filter(before: str, after: str) -> bool:
    """Does every tag that ``after`` takes pass ``before`` too, ``after`` being ``before``
    typed further? Each term of ``before`` is in ``after`` as it was, or its last is typed
    further as text (``ngi`` -> ``nginx``) or as a regex that only adds to its sequence
    (``re:^1.`` -> ``re:^1.2``, ``regexes.narrows``); terms added after it take a part of
    what it took (``1.2`` -> ``1.2 alp``, ``1.2 !rc``). Anything else (a negation, a version,
    an exact name typed further) is judged afresh."""
    if not after.startswith(before) or not before.strip():
        return False
    old, new = before.split(), after.split()
    last, typed = old[-1], new[len(old) - 1]
    return last == typed or _term_narrows(last, typed)


def _term_narrows(before: str, after: str) -> bool:
    try:
        ((old, negated_old),) = parse_filter(before).terms
        ((new, negated_new),) = parse_filter(after).terms
    except ValueError:  # a SelectorError, or not one term
        return False
    if negated_old or negated_new or old.kind != new.kind:
        return False
    if old.kind == "substring":
        return new.text.lower().startswith(old.text.lower())
    return old.kind == "regex" and old.search and new.search and narrows(old.text, new.text)


def parse_tag_filter(text: str) -> TagFilter:
    """The filter ``text`` parsed; ValueError (one sentence) when it is not one."""
    try:
        return parse_filter(text)
    except SelectorError as exc:
        raise ValueError(str(exc)) from exc


def repository_matcher(text: str) -> Callable[[str], bool]:
    """Does a repository name pass the repository filter ``text`` (``re:REGEX`` or a piece
    of the name, any case)? ValueError (one sentence) when the regex is not one."""
    text = text.strip()
    if text.startswith("re:"):
        try:
            pattern = re.compile(text[3:])
        except re.error as exc:
            raise ValueError(
                f"The filter {text!r} is not a valid regular expression ({exc})."
            ) from exc
        return lambda name: pattern.search(name) is not None
    lowered = text.lower()
    return lambda name: lowered in name.lower()


# What a lone operator needs after it, said inline as the filter is typed.
_NEEDS = {
    "=": "= needs a tag after it: =1.0",
    "!": "! needs a term after it: !latest",
}
_COMPARISONS = ("<=", ">=", "==", "!=", "~=", "<", ">")


def is_tag_filter_shape(text: str) -> bool:
    """Is ``text`` a filter only tags can take: a version range (``<0.2``, ``>=1.2,<2``), an
    exact tag (``=x``) or a negation (``!x``)? Typed on the tree it filters the tags, not the
    repository names (``re:`` stays a repository regex there)."""
    return any(word[:1] in "<>=!~" for word in text.split())


def filter_problem(text: str, target: str) -> str | None:
    """One sentence on what is wrong with ``text`` as a filter of ``target`` ("repos" or
    "tags"), shown under the field as it is typed; None when it can be applied."""
    for word in text.split():
        if target == "repos":
            break
        negated = word.startswith("!") and len(word) > 1 and not word.startswith("!=")
        body = word[1:] if negated else word
        if word in _NEEDS or body in _NEEDS:
            return _NEEDS.get(word) or _NEEDS[body]
        if body in _COMPARISONS:
            return f"{body} needs a version after it: {body}1.4"
        problem = _regex_problem(body)
        if problem:
            return problem
    if target == "repos":
        return _regex_problem(text.strip())
    try:
        parse_tag_filter(text)
    except ValueError as exc:
        return str(exc)
    return None


def _regex_problem(word: str) -> str | None:
    if not word.startswith("re:"):
        return None
    try:
        re.compile(word[3:])
    except re.error as exc:
        where = f" at position {exc.pos + 1}" if exc.pos is not None else ""
        return f"{word} is not a valid regex: {exc.msg}{where}"
    return None
