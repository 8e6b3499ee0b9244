"""Selectors: parsing, validation, and the selection algebra (incl. hypothesis properties)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.selection import Selection, select_tags
from dregtui.core.selectors import SelectorError, parse_duration
from dregtui.core.tag_filter import parse_filter
from dregtui.core.tags import parse_version


def inventory(repos: dict[str, dict[str, str]]) -> Inventory:
    inv = Inventory("http://registry.test")
    for repo, tags in repos.items():
        inv.set_repository(
            repo,
            {t: TagInfo(d, "application/vnd.oci.image.manifest.v1+json") for t, d in tags.items()},
        )
    return inv


def d(n: int) -> str:
    return f"sha256:{n:064x}"


APP = {
    "1.0": d(1),
    "v1.2": d(2),
    "1.3.1": d(3),
    "1.4rc1": d(4),
    "2.0": d(5),
    "latest": d(5),
    "dev": d(6),
    "feature-x": d(7),
}


def sel(**kw) -> dict[str, list[str]]:
    kw.setdefault("repositories", ["app"])
    return Selection.from_args(**kw).select(inventory({"app": APP, "other": {"1.0": d(1)}}))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"regex": ["["]}, "-re '[': unterminated character set"),
        ({"exclude_regex": ["(a"]}, "-xre '(a': missing ), unterminated subpattern"),
        ({"repository_regex": ["*x"]}, "-rre '*x': nothing to repeat"),
        ({"tags": [">=abc"]}, "-t '>=abc': 'abc' is not a version"),
        ({"tags": [">=1.2,<"]}, "-t '>=1.2,<': '<' is not a version comparison"),
        ({"exclude": ["a b"]}, "-x 'a b': not a tag name or version selector"),
        ({"older_than": "3 fortnights"}, "--older-than '3 fortnights': not a duration"),
        ({"keep_last": -1}, "--keep-last -1: must be 0 or more"),
        ({"by_date": True}, "--by-date: only makes sense with --keep-last N"),
    ],
)
def test_bad_selectors_are_one_clear_error_naming_the_argument(args, message):
    with pytest.raises(SelectorError) as info:
        Selection.from_args(repositories=["app"], **args)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_exact_version_and_regex_selectors():
    assert sel(tags=["1.0"]) == {"app": ["1.0"]}
    # issue 10: PEP 440, `<1.4` does not take a pre-release of 1.4 itself
    assert sel(tags=["<1.4"]) == {"app": ["1.0", "v1.2", "1.3.1"]}
    assert sel(tags=[">=1.2,<2"]) == {"app": ["v1.2", "1.3.1", "1.4rc1"]}
    assert sel(tags=["==1.2"]) == {"app": ["v1.2"]}
    assert sel(tags=["!=1.0"]) == {"app": ["v1.2", "1.3.1", "1.4rc1", "2.0"]}
    # re.match: anchored at the start only
    assert sel(regex=["1\\."]) == {"app": ["1.0", "1.3.1", "1.4rc1"]}
    assert sel(regex=["de"]) == {"app": ["dev"]}
    assert sel(regex=["ev"]) == {}


def test_latest_only_when_named_or_whole_repository():
    assert "latest" not in sel(regex=[".*"])["app"]
    assert "latest" not in sel(tags=[">0"])["app"]
    assert sel(tags=["latest"]) == {"app": ["latest"]}
    assert "latest" in sel(all_tags=True)["app"]
    assert "latest" not in sel(all_tags=True, keep_last=1)["app"]


def test_exclusions_protect_the_whole_digest():
    # 2.0 and latest share d(5): excluding latest protects 2.0 too
    assert sel(regex=[".*"], exclude=["latest"]) == {
        "app": ["1.0", "v1.2", "1.3.1", "1.4rc1", "dev", "feature-x"]
    }
    assert sel(regex=[".*"], exclude_regex=["^1"]) == {"app": ["v1.2", "2.0", "dev", "feature-x"]}
    assert sel(regex=[".*"], exclude=["<2"]) == {"app": ["2.0", "dev", "feature-x"]}


def test_repositories_exact_and_regex():
    inv = inventory({"team/a": {"1": d(1)}, "team/b": {"1": d(2)}, "other": {"1": d(3)}})
    s = Selection.from_args(repository_regex=["team/"], tags=["1"])
    assert s.select(inv) == {"team/a": ["1"], "team/b": ["1"]}
    s = Selection.from_args(repositories=["other", "missing"], tags=["1"])
    assert s.select(inv) == {"other": ["1"]}
    assert s.missing_repositories(inv.repository_names()) == ["missing"]
    refs = select_tags(inv, s)
    assert [r.tag for r in refs["other"]] == ["1"]


def test_keep_last_by_version_and_by_date():
    assert sel(keep_last=2) == {"app": ["1.0", "v1.2", "1.3.1"]}
    assert sel(regex=[".*"], keep_last=0) == {"app": ["1.0", "v1.2", "1.3.1", "1.4rc1", "2.0"]}
    dates = {d(n): datetime(2024, 1, n, tzinfo=UTC) for n in range(1, 8)}
    dates[d(7)] = None  # unknown date: kept

    def created(pairs):
        return {dig: dates[dig] for _, dig in pairs}

    s = Selection.from_args(repositories=["app"], keep_last=2, by_date=True)
    got = s.select(inventory({"app": APP}), created=created)
    # retention alone ranks version tags: newest 2.0 (5), 1.4rc1 (4); dev is not a candidate
    assert got == {"app": ["1.0", "v1.2", "1.3.1"]}
    s = Selection.from_args(repositories=["app"], regex=[".*"], keep_last=2, by_date=True)
    got = s.select(inventory({"app": APP}), created=created)
    assert got == {"app": ["1.0", "v1.2", "1.3.1", "1.4rc1"]}  # -re '.*': newest dev (6), 2.0


def test_keep_last_counts_images_not_tags():
    # 2.1 and 2.1.0 are one image: --keep-last 2 keeps it and 2.0, like Harbor/GitLab retention
    repo = {"1.0": d(1), "2.0": d(2), "2.1": d(3), "2.1.0": d(3), "nightly": d(1), "dev": d(4)}
    got = Selection.from_args(repositories=["app"], keep_last=2).select(inventory({"app": repo}))
    # the oldest image's version tag; nightly is not selected by retention alone; dev is unranked
    assert got == {"app": ["1.0"]}
    got = Selection.from_args(repositories=["app"], keep_last=1).select(inventory({"app": repo}))
    assert got == {"app": ["1.0", "2.0"]}
    s = Selection.from_args(repositories=["app"], regex=[".*"], keep_last=1)
    assert s.select(inventory({"app": repo})) == {"app": ["1.0", "2.0", "nightly"]}
    dates = {d(1): datetime(2024, 1, 3, tzinfo=UTC), d(2): datetime(2024, 1, 2, tzinfo=UTC)}
    dates |= {d(3): datetime(2024, 1, 1, tzinfo=UTC), d(4): None}
    s = Selection.from_args(repositories=["app"], keep_last=1, by_date=True)
    got = s.select(inventory({"app": repo}), created=lambda pairs: {g: dates[g] for _, g in pairs})
    assert got == {"app": ["2.0", "2.1", "2.1.0"]}  # newest image d(1) kept with its two tags


def test_older_than_uses_created_dates():
    now = datetime(2024, 2, 1, tzinfo=UTC)
    dates = {d(n): now - timedelta(days=10 * n) for n in range(1, 8)}
    calls = []

    def created(pairs):
        calls.append(list(pairs))
        return {dig: dates[dig] for _, dig in pairs}

    s = Selection.from_args(repositories=["app"], regex=[".*"], older_than="25d")
    assert s.select(inventory({"app": APP}), created=created, now=now) == {
        "app": ["1.3.1", "1.4rc1", "2.0", "dev", "feature-x"]
    }
    assert len(calls) == 1
    with pytest.raises(ValueError):
        s.select(inventory({"app": APP}))


def test_durations():
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("1w2d") == timedelta(days=9)
    assert parse_duration("12h") == timedelta(hours=12)


def test_tui_filter():
    tags = list(APP)
    assert parse_filter("").filter(tags) == tags
    assert parse_filter("<1.4").filter(tags) == ["1.0", "v1.2", "1.3.1"]  # issue 10
    assert parse_filter(">=1.2,<2").filter(tags) == ["v1.2", "1.3.1", "1.4rc1"]
    assert parse_filter(r"re:^1\.").filter(tags) == ["1.0", "1.3.1", "1.4rc1"]
    assert parse_filter("re:rc").filter(tags) == ["1.4rc1"]
    assert parse_filter("!latest").filter(tags) == [t for t in tags if t != "latest"]
    assert parse_filter("E").filter(tags) == ["latest", "dev", "feature-x"]
    assert parse_filter("=dev").filter(tags) == ["dev"]
    assert parse_filter("!re:^v >=1").filter(tags) == ["1.0", "1.3.1", "1.4rc1", "2.0"]
    with pytest.raises(SelectorError, match="filter '\\(': missing"):
        parse_filter("re:(")


# -- properties ----------------------------------------------------------------------------

versions = st.builds(
    lambda parts, v: ("v" if v else "") + ".".join(str(p) for p in parts),
    st.lists(st.integers(0, 12), min_size=1, max_size=3),
    st.booleans(),
)
tag_names = st.one_of(versions, st.sampled_from(["latest", "dev", "main", "rc", "x1"]))
repo_tags = st.dictionaries(tag_names, st.integers(1, 6), min_size=0, max_size=12)
bounds = st.builds(
    lambda op, parts: op + ".".join(str(p) for p in parts),
    st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
    st.lists(st.integers(0, 12), min_size=1, max_size=3),
)


def _inv(tags: dict[str, int]) -> Inventory:
    return inventory({"app": {t: d(n) for t, n in tags.items()}})


@settings(max_examples=150, deadline=None)
@given(
    repo_tags,
    st.lists(bounds, max_size=3),
    st.lists(bounds, max_size=2),
    st.lists(tag_names, max_size=2),
)
def test_exclusions_never_increase_the_selection(tags, include, exclude, exclude_names):
    inv = _inv(tags)
    base = Selection.from_args(repositories=["app"], tags=include or ["latest"])
    more = Selection.from_args(
        repositories=["app"], tags=include or ["latest"], exclude=exclude + exclude_names
    )
    assert set(more.select(inv).get("app", [])) <= set(base.select(inv).get("app", []))


@settings(max_examples=150, deadline=None)
@given(repo_tags, bounds, bounds)
def test_version_ranges_are_intersections(tags, a, b):
    inv = _inv(tags)
    left = set(Selection.from_args(repositories=["app"], tags=[a]).select(inv).get("app", []))
    right = set(Selection.from_args(repositories=["app"], tags=[b]).select(inv).get("app", []))
    both = set(
        Selection.from_args(repositories=["app"], tags=[f"{a},{b}"]).select(inv).get("app", [])
    )
    assert both == left & right
    assert all(parse_version(t) is not None for t in both)
    union = set(Selection.from_args(repositories=["app"], tags=[a, b]).select(inv).get("app", []))
    assert union == left | right


@settings(max_examples=150, deadline=None)
@given(repo_tags, st.integers(0, 15))
def test_keep_last_keeps_exactly_min_n_images(tags, n):
    inv = _inv(tags)
    chosen = Selection.from_args(repositories=["app"], keep_last=n).select(inv).get("app", [])
    digest = {t: d(k) for t, k in tags.items()}
    candidates = [t for t in tags if parse_version(t) is not None]  # retention alone: versions
    top: dict[str, object] = {}
    for t in candidates:
        if (v := parse_version(t)) is not None:
            top[digest[t]] = max(v, top.get(digest[t], v))
    dropped = {digest[t] for t in chosen}
    kept = set(top) - dropped
    # N images (digests) are kept, not N tags; only rankable images are ever selected
    assert len(kept) == min(n, len(top)) and dropped <= set(top)
    # a dropped image loses every candidate tag: two tags on one image count once
    assert set(chosen) == {t for t in candidates if digest[t] in dropped}
    if dropped and kept:
        assert min(top[k] for k in kept) >= max(top[k] for k in dropped)


def test_created_dates_parse_and_lookup_through_index_children(client, pusher):
    from dregtui.ops.dates import CreatedDates, parse_created

    assert parse_created("2024-01-02T03:04:05.123456789Z") == datetime(
        2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
    )
    assert parse_created("2024-01-02T03:04:05+02:00").utcoffset() == timedelta(hours=2)
    assert parse_created("yesterday") is None and parse_created(None) is None
    image = pusher.image("app", "1.0", created="2021-05-01T00:00:00Z")
    index, _ = pusher.index("app", "2.0", created="2022-06-01T00:00:00.5Z")
    lookup = CreatedDates(client, jobs=2)
    dates = lookup([("app", image.digest), ("app", index.digest), ("app", "sha256:" + "0" * 64)])
    assert dates[image.digest] == datetime(2021, 5, 1, tzinfo=UTC)
    assert dates[index.digest] == datetime(2022, 6, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert dates["sha256:" + "0" * 64] is None
    assert set(lookup.known) == {image.digest, index.digest, "sha256:" + "0" * 64}
