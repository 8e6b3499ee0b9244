"""The TUI's fast filter path (issue 11) gives exactly the answers of the plain one."""

from __future__ import annotations

import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dregtui.core.filter_index import TagIndex
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.selectors import SelectorError
from dregtui.core.tag_filter import parse_filter
from dregtui.core.tags import sort_tags
from dregtui.tui.session import Session

RELEASE = st.lists(st.integers(0, 12), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
PRE = st.sampled_from(["", "-rc.1", "rc2", "-beta", "a1", "-alpha.3", ".post1", ".dev0"])
VARIANT = st.sampled_from(["", "-alpine", "-slim-bookworm", "-alpine3.19"])
TAG = st.one_of(
    st.builds(lambda v, r, p, x: v + r + p + x, st.sampled_from(["", "v"]), RELEASE, PRE, VARIANT),
    st.sampled_from(["latest", "stable", "main-3f2a9c1", "pr-12", "pr-9", "edge"]),
)
OP = st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~=", "==", "!="])
TERM = st.one_of(
    st.builds(lambda o, r, p: o + r + p, OP, RELEASE, st.sampled_from(["", "rc1", ".post1"])),
    st.builds(lambda o, r: o + r + ".*", st.sampled_from(["==", "!="]), RELEASE),
    st.sampled_from(["1", "1.2", "alp", "rc", "pr-", "!latest", "!alpine", "re:^v", "re:\\.0$"]),
    st.sampled_from(["re:", "re:^", "!re:^", "re:\\A", "re:.*", "!re:^.*", "re:\\A.*"]),
    st.sampled_from(["re:^1", "re:^1\\.2", "!re:^v1\\.", "re:-rc", "re:pr-", "re:alpine"]),
)
FILTER = st.lists(TERM, min_size=1, max_size=3).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(tags=st.lists(TAG, min_size=1, max_size=60, unique=True), text=FILTER)
def test_indexed_filter_is_the_plain_filter(tags: list[str], text: str) -> None:
    try:
        parsed = parse_filter(text)
    except SelectorError:
        assume(False)  # not a filter: hypothesis counts it as filtered out
    fast = [tags[i] for i in parsed.filter_indexed(tags, TagIndex(tags))]
    assert fast == parsed.filter(tags)


@settings(max_examples=200, deadline=None)
@given(
    tags=st.lists(TAG, min_size=1, max_size=60, unique=True),
    word=st.one_of(
        st.text("1.2alpinerc-", max_size=6),
        st.sampled_from(
            ["re:^1.2.3", "re:^v1\\.2-", "re:1.2|3", "1.2 re:\\d-al", "!rc re:^1.", "re:^(1|v)\\d*"]
        ),
    ),
)
def test_typing_further_narrows_to_the_same_rows(tags: list[str], word: str) -> None:
    """Each prefix of a filter (text, regexes), typed a key at a time, shows what a fresh
    filter shows."""
    inv = Inventory("http://r")
    inv.set_repository("r", {t: TagInfo("sha256:" + "a" * 64) for t in tags})
    typed, fresh = Session("http://r", inv), Session("http://r", inv)
    for n in range(1, len(word) + 1):
        typed.tag_filter = fresh.tag_filter = word[:n]
        fresh._last_filter = None
        try:
            expected = fresh.visible_tags("r")
        except ValueError:  # not a filter yet (re:( ...): the next key may make one
            continue
        assert typed.visible_tags("r") == expected, word[:n]


PLAIN = st.builds(lambda v, r: v + r, st.sampled_from(["", "v"]), RELEASE)
MOSTLY_PLAIN = st.lists(PLAIN, min_size=20, max_size=80, unique=True).flatmap(
    lambda plain: st.lists(TAG, max_size=len(plain) // 5).map(
        lambda other: list(dict.fromkeys(plain + other))
    )
)
RANGE = st.lists(
    st.builds(lambda o, r: o + r, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), RELEASE),
    min_size=1,
    max_size=2,
).map(",".join)


@settings(max_examples=200, deadline=None)
@given(tags=MOSTLY_PLAIN, text=RANGE, first=st.sampled_from(["", "1", "!latest", "re:\\d"]))
def test_a_version_range_over_mostly_plain_releases_at_c_speed_is_the_plain_filter(
    tags: list[str], text: str, first: str
) -> None:
    """Mostly plain releases take the comparisons over the whole key column (a ``map``), the
    rest one by one; over all the tags, and over what an earlier term kept."""
    parsed = parse_filter(f"{first} {text}".strip())
    index = TagIndex(tags)
    assert [tags[i] for i in parsed.filter_indexed(tags, index)] == parsed.filter(tags)
    kept = [i for i, t in enumerate(tags) if "1" in t]
    ranged = parse_filter(text)
    assert [tags[i] for i in ranged.filter_indexed(tags, index, kept)] == ranged.filter(
        [tags[i] for i in kept]
    )
    assert ranged.terms[0][0].compiled is not None
    flags = index.match_flags(ranged.terms[0][0], tags, range(len(tags)))
    assert flags is not None  # the fast path


@settings(max_examples=300, deadline=None)
@given(
    tags=st.one_of(MOSTLY_PLAIN, st.lists(TAG, min_size=1, max_size=60, unique=True)),
    text=st.one_of(RANGE, FILTER),
)
def test_a_version_range_over_tags_in_version_order_is_bisected_to_the_plain_filter(
    tags: list[str], text: str
) -> None:
    """In the version order a range's plain releases are stretches of the tags, found by
    bisection; the other tags are judged one by one: the plain filter's answer."""
    try:
        parsed = parse_filter(text)
    except SelectorError:
        assume(False)  # not a filter: hypothesis counts it as filtered out
    ordered = sort_tags(tags)
    index = TagIndex(ordered, version_order=True)
    assert [ordered[i] for i in parsed.filter_indexed(ordered, index)] == parsed.filter(ordered)


@settings(max_examples=100, deadline=None)
@given(tags=MOSTLY_PLAIN, text=RANGE)
def test_mostly_plain_releases_in_version_order_take_the_bisection(
    tags: list[str], text: str
) -> None:
    ordered = sort_tags(tags)
    index = TagIndex(ordered, version_order=True)
    sel = parse_filter(text).terms[0][0]
    taken = index.range_positions(sel)
    assert taken is not None  # the fast path
    assert [ordered[i] for i in taken] == parse_filter(text).filter(ordered)


def test_a_filter_no_longer_wanted_stops_and_keeps_nothing() -> None:
    """Issue 11: a worker's filter asks between chunks whether it is still wanted; a stale
    one stops part way and leaves nothing behind for the next keystroke to narrow from."""
    import pytest

    from dregtui.core.filter_index import CHUNK
    from dregtui.core.tag_filter import FilterStopped

    tags = [f"1.{n // 100}.{n % 100}" for n in range(CHUNK + 10)]
    inv = Inventory("http://r")
    inv.set_repository("r", {t: TagInfo("sha256:" + "a" * 64) for t in tags})
    session = Session("http://r", inv)
    asked: list[int] = []

    def stale() -> bool:
        asked.append(1)
        return True

    with pytest.raises(FilterStopped):
        session.visible_tags("r", "1.2", stop=stale)
    assert asked == [1]  # after the first chunk, not at the end
    assert session.visible_tags("r", "1.2.") == [
        t for t in session.ordered_tags("r") if "1.2." in t
    ]


PATTERN_CHARS = "1.2-_a^$\\\\*+?()[]{}|:#!/@d"


# Patterns that are plain strings half of the time (a literal, escaped, maybe after ^), so
# that assume() keeps most of them; the other half anything the characters make.
PLAIN_OR_ANY = st.one_of(
    st.builds(
        lambda start, text: ("^" if start else "") + re.escape(text),
        st.booleans(),
        st.text("1.2-_a^$*+:#!/@d", min_size=1, max_size=5),
    ),
    st.text(PATTERN_CHARS, min_size=1, max_size=6),
)


@settings(max_examples=500, deadline=None)
@given(
    pattern=PLAIN_OR_ANY,
    tags=st.lists(st.text("1.2-_a^$\\*+:#!/@d\n", max_size=6), min_size=1, max_size=20),
)
def test_a_regex_that_is_a_plain_string_is_answered_as_re_would(pattern, tags) -> None:  # type: ignore[no-untyped-def]
    """``re:^1\\.2`` is read as startswith("1.2"), ``re:pr-`` as ``in``: never another answer
    than the regex's, whatever the pattern and the tags (a newline, punctuation) hold."""
    import re

    from dregtui.core.filter_index import plain_text

    try:
        compiled = re.compile(pattern)
    except re.error:
        assume(False)  # not a regex
    plain = plain_text(pattern)
    assume(plain is not None)
    assert plain is not None
    at_start, text = plain
    for tag in tags:
        expected = compiled.search(tag) is not None
        assert (tag.startswith(text) if at_start else text in tag) == expected, (pattern, tag)
    parsed = parse_filter("re:" + pattern)
    assert [tags[i] for i in parsed.filter_indexed(tags, TagIndex(tags))] == parsed.filter(tags)


# Pieces of regexes for the narrowing test: plain ones (^, $, \b, classes, groups, repeats)
# and ones that change what a longer pattern finds (lookarounds, references, the string's ends,
# atomic and possessive parts, inline flags, alternation, counted repeats).
SAFE_PIECE = st.sampled_from(
    [
        "^",
        "$",
        "1",
        "2",
        ".",
        "a",
        "-",
        "\\.",
        "\\d",
        "\\d+",
        "[0-4]",
        "\\b",
        "x*",
        "(1|a)",
        "(?:2|-)",
        ".*",
        ".*?",
        "a?",
        "[^a]",
        "\\s",
        "(?s:.)",
    ]
)
UNSAFE_PIECE = st.sampled_from(
    [
        "\\1",
        "(?=a)",
        "(?!2)",
        "(?<=1)",
        "\\A",
        "\\Z",
        "(?>a+)",
        "1++",
        "(?-m:$)",
        "(?m)",
        "(?s)",
        "|",
        "{2}",
    ]
)
PIECE = st.one_of(*[SAFE_PIECE] * 6, UNSAFE_PIECE)
LINE_TAG = st.text("12a.-", max_size=5)
LINE_TAGS = st.tuples(
    st.lists(LINE_TAG, min_size=4, max_size=40), st.sampled_from(["", "", "", "1\n2", "a\n"])
)


def test_the_private_regex_parser_that_narrowing_reads_is_there() -> None:
    """``core/regexes.py`` reads CPython's private ``re._parser`` and does not switch itself off
    without it: on a supported Python (3.11+) this fails loudly when the hook is gone."""
    from re import _parser  # type: ignore[attr-defined]

    tree = _parser.parse("^1.", 0)
    assert hasattr(tree, "data") and hasattr(tree, "state")


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(PIECE, min_size=1, max_size=5),
    cut=st.integers(0, 5),
    tags=LINE_TAGS.map(lambda lines: [*lines[0], lines[1]]),
)
def test_a_regex_typed_further_only_narrows_when_re_agrees(pieces, cut, tags) -> None:  # type: ignore[no-untyped-def]
    """``regexes.narrows(before, after)``: every tag ``after`` finds, ``before`` finds too."""
    import re

    from dregtui.core.regexes import narrows

    after = "".join(pieces)
    before = "".join(pieces[:cut])
    try:
        old, new = re.compile(before), re.compile(after)
    except re.error:
        assume(False)  # not a regex
    if narrows(before, after):
        for tag in tags:
            assert old.search(tag) or not new.search(tag), (before, after, tag)


def test_typing_a_regex_further_narrows_what_it_can() -> None:
    from dregtui.core.regexes import narrows

    assert narrows("^1.", "^1.2")
    assert narrows("^1", "^1\\.")
    assert narrows("(a)", "(a)\\1")
    for before, after in (
        ("^1.", "^1.*"),
        ("a", "a|b"),
        ("a", "a?"),
        ("a", "a{2}"),
        ("a", "(?i)a"),
    ):
        assert not narrows(before, after), (before, after)
