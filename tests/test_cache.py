"""The inventory cache: written safely, reused, refreshed, disabled, rebuilt when unusable."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from support.registry import cache_header, edit_cache_header

from dregtui.core.inventory import ArtifactInfo, Inventory, TagInfo
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.state.cache import InventoryCache, cache_name, default_cache_dir


def cache_file(url: str) -> Path:
    return default_cache_dir() / cache_name(url)


def test_cache_is_written_private_without_credentials(small_registry, run_cli):
    url = small_registry.url
    result = run_cli("-reg", url, "-u", "someone", "-p", "s3cret-Passw0rd", "list-tag-names")
    assert result.code == 0, result
    path = cache_file(url)
    assert path.parent == Path(os.environ["XDG_CACHE_HOME"]) / "dregtui"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "s3cret-Passw0rd" not in text and "someone" not in text
    doc = cache_header(path)
    assert doc["registry"] == url
    assert isinstance(doc["scanned_at"], float)
    assert (
        doc["version"] == 6
    )  # issue 11: JSON Lines, digests and media types in tables, integers packed
    assert len(doc["repositories"]) == 12 and doc["counts"]["tags"] > 0
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp left over


def test_second_run_uses_the_cache_even_with_the_registry_gone(small_registry, run_cli):
    url = small_registry.url
    first = run_cli("-reg", url, "list-tag-names")
    assert first.code == 0, first
    small_registry.stop()
    second = run_cli("-reg", url, "list-tag-names")
    assert second.code == 0, second
    assert second.out == first.out
    # --refresh really goes to the registry (which is down now): one clear error
    third = run_cli("-reg", url, "--refresh", "list-tag-names")
    assert third.code == 1
    assert third.err.count("\n") == 1 and third.err.startswith("dregtui: error: ")


def test_refresh_rescans_and_updates_the_cache(small_registry, run_cli):
    url = small_registry.url
    assert run_cli("-reg", url, "list-tag-names").code == 0
    with RegistryClient(url) as c:
        ImagePusher(c).image("team/app-00", "3.0", seed="new")
    stale = run_cli("-reg", url, "list-tag-names", "team/app-00")
    assert [line.split()[1] for line in stale.lines] == ["1.0", "2.0", "latest"]
    fresh = run_cli("-reg", url, "--refresh", "list-tag-names", "team/app-00")
    assert [line.split()[1] for line in fresh.lines] == ["1.0", "2.0", "3.0", "latest"]
    again = run_cli("-reg", url, "list-tag-names", "team/app-00")  # the cache was updated
    assert again.out == fresh.out


def test_cache_none_disables_and_cache_path_is_used(small_registry, run_cli, tmp_path):
    url = small_registry.url
    assert run_cli("-reg", url, "-c", "None", "list-repo-names").code == 0
    assert not cache_file(url).exists()
    custom = tmp_path / "sub" / "my-cache.json"
    assert run_cli("-reg", url, "-c", str(custom), "list-repo-names").code == 0
    assert cache_header(custom)["registry"] == url
    assert stat.S_IMODE(custom.stat().st_mode) == 0o600
    assert not cache_file(url).exists()


def _v4(
    *,
    tags: list[object] | None = None,
    tags_count: int = 1,
    digests: int = 1,
    hexes: str = "a" * 64,
    end: bool = True,
    extra: list[object] = (),  # type: ignore[assignment]
    version: int = 4,
    footprints: int = 0,
) -> str:
    """A small version-4 cache (JSON Lines) with one repository, for damaged variants (with
    ``version=5``, its integer columns written as they are given)."""
    header = {
        "format": "dregtui-inventory",
        "version": version,
        "registry": "URL",
        "scanned_at": 1.0,
        "catalog": True,
        "counts": {
            "repositories": 1,
            "tags": tags_count,
            "digests": 1,
            "footprints": footprints,
            "blobs": footprints,
            "children": 0,
        },
        "media_types": [""],
        "repositories": [["app", tags_count, 1]],
    }
    lines: list[object] = [header, ["d", "sha256", hexes * digests]]
    lines += tags if tags is not None else [["t", "app", ["1.0"], [0], [0]]]
    lines += list(extra) + ([["end"]] if end else [])
    return "".join(json.dumps(line) + "\n" for line in lines)


_Q0 = "q" + base64.b64encode(bytes(8)).decode()  # the one integer 0, packed

UNUSABLE = {
    "bad-json": "{not json",
    "unknown-version": json.dumps({"format": "dregtui-inventory", "version": 99}),
    "other-registry": json.dumps(
        {"format": "dregtui-inventory", "version": 4, "registry": "http://elsewhere:1"}
    ),
    "damaged": json.dumps(
        {"format": "dregtui-inventory", "version": 4, "registry": "URL", "repositories": 3}
    ),
    "binary": "\x00\xff garbage",
    "older-version": json.dumps(
        {"format": "dregtui-inventory", "version": 1, "registry": "URL", "repositories": {}}
    ),
    "version-2": json.dumps(
        {"format": "dregtui-inventory", "version": 2, "registry": "URL", "repositories": {}}
    ),
    "version-3": json.dumps(
        {"format": "dregtui-inventory", "version": 3, "registry": "URL", "repositories": {}}
    ),
    "negative-position": _v4(tags=[["t", "app", ["1.0"], [-1], [0]]]),
    "position-past-the-table": _v4(tags=[["t", "app", ["1.0"], [7], [0]]]),
    "a-tag-twice": _v4(tags=[["t", "app", ["1.0", "1.0"], [0, 0], [0, 0]]], tags_count=2),
    "torn": _v4(end=False),
    "a-billion-tags-claimed": _v4(tags_count=10**9),
    "more-digests-than-claimed": _v4(digests=2),
    "a-poisoned-digest": _v4(hexes="\u001b]0;owned\u0007" + "a" * 54),
    "an-unknown-line": _v4(extra=[["x"]]),
    # version 5: integer columns packed ("q" + base64 of little-endian int64s)
    "packed-not-base64": _v4(tags=[["t", "app", ["1.0"], "q!!!!", _Q0]], version=5),
    "packed-cut-short": _v4(tags=[["t", "app", ["1.0"], "qAAAA", _Q0]], version=5),
    "packed-negative": _v4(tags=[["t", "app", ["1.0"], "q" + "/" * 10 + "w=", _Q0]], version=5),
    "packed-other-width": _v4(tags=[["t", "app", ["1.0"], "iAAAAAA==", _Q0]], version=5),
    "packed-a-number": _v4(tags=[["t", "app", ["1.0"], 0, _Q0]], version=5),
    # a footprint whose manifest, or whose blob, is a position past the digest table
    "footprint-past-the-table": _v4(extra=[["f", [1], [10], [1], [0], [5]]], footprints=1),
    "footprint-blob-past-the-table": _v4(extra=[["f", [0], [10], [1], [3], [5]]], footprints=1),
}


def test_unusable_cache_is_reported_in_one_line_and_rebuilt(small_registry, run_cli):
    url = small_registry.url
    path = cache_file(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    for label, content in UNUSABLE.items():
        path.write_text(content.replace("URL", url))
        result = run_cli("-reg", url, "list-repo-names")
        assert result.code == 0, (label, result)
        assert len(result.lines) == 12
        assert result.err.count("\n") == 1, label
        assert result.err.startswith("dregtui: warning: ") and str(path) in result.err
        assert cache_header(path)["registry"] == url  # rebuilt
        result = run_cli("-reg", url, "list-repo-names")
        assert result.err.startswith("dregtui: using the cache of ")  # no warning now
        assert result.err.count("\n") == 1


def test_registry_dying_mid_scan_leaves_no_cache_behind(small_registry, run_cli):
    url = small_registry.url

    def stop_after_three(progress):
        if progress.repositories_done >= 3 and small_registry.process is not None:
            small_registry.stop()

    result = run_cli("-reg", url, "-j", "1", "list-tag-names", progress=stop_after_three)
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: error: ")
    assert "Traceback" not in result.err
    assert not cache_file(url).exists()


def test_registry_dying_mid_refresh_keeps_the_old_cache(small_registry, run_cli):
    url = small_registry.url
    assert run_cli("-reg", url, "list-repo-names").code == 0
    before = cache_file(url).read_bytes()

    def stop_after_two(progress):
        if progress.repositories_done >= 2 and small_registry.process is not None:
            small_registry.stop()

    result = run_cli(
        "-reg", url, "-j", "1", "--refresh", "list-repo-names", progress=stop_after_two
    )
    assert result.code == 1, result
    assert cache_file(url).read_bytes() == before


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example.com",
        "http://127.0.0.1:5000",
        "https://host:443/some/path",
        "https://../../etc/passwd",
        "https://[::1]:5000",
        "https://h/%2e%2e/%2e%2e/x",
        "https://" + "a" * 300 + ".example",
        "https://host/..\\..\\x y;rm",
    ],
)
def test_cache_names_are_safe(url, tmp_path):
    name = cache_name(url)
    assert name.endswith(".json")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert all(ch.isalnum() or ch in "._-" for ch in name)
    assert len(name) <= 100
    cache = InventoryCache.for_registry(url, tmp_path)
    assert cache.path.parent == tmp_path


def test_distinct_registries_get_distinct_names():
    names = {
        cache_name(u)
        for u in ("https://h:5000", "https://h:5001", "https://h", "https://h/a", "https://h/b")
    }
    assert len(names) == 5


def test_a_cache_an_earlier_dregtui_wrote_is_read_as_it_is(tmp_path):
    """Version 4 wrote integer columns as JSON numbers: it is read, not rescanned (a million
    tags take a quarter of an hour to scan again); the next save writes version 6 (with
    referrers' subjects and artifact types)."""
    path = tmp_path / "c.json"
    path.write_text(_v4())
    cache = InventoryCache(path, "URL")
    loaded = cache.load()
    assert loaded is not None
    assert loaded.repositories == {"app": {"1.0": TagInfo("sha256:" + "a" * 64, "")}}
    packed = _v4(tags=[["t", "app", ["1.0"], _Q0, _Q0]], version=5)
    path.write_text(packed)
    again = cache.load()
    assert again is not None and again.repositories == loaded.repositories
    cache.save(loaded)
    assert cache_header(path)["version"] == 6


def test_cache_round_trip_keeps_tags_digests_media_types_and_children(tmp_path):
    inv = Inventory("https://r")
    inv.add_repositories(["a", "b", "empty"])
    inv.set_repository("a", {"1": TagInfo("sha256:" + "1" * 64, "application/x-one")})
    inv.set_repository("b", {"x": TagInfo("sha256:" + "1" * 64, "application/x-one")})
    inv.set_children("sha256:" + "1" * 64, ["sha256:" + "2" * 64])
    inv.set_artifact("sha256:" + "2" * 64, ArtifactInfo("sha256:" + "3" * 64, "application/x-sig"))
    inv.set_artifact("sha256:" + "4" * 64, ArtifactInfo("", "application/x-thing"))
    inv.mark_scanned(1234.5)
    cache = InventoryCache(tmp_path / "c.json", "https://r")
    cache.save(inv)
    loaded = cache.load()
    assert loaded is not None
    assert loaded.repositories == inv.repositories
    assert loaded.children == inv.children
    assert loaded.artifacts == inv.artifacts
    assert loaded.scanned_at == 1234.5
    assert [(r.repository, r.tag) for r in loaded.holders("sha256:" + "1" * 64)] == [
        ("a", "1"),
        ("b", "x"),
    ]
    # an incomplete scan is never written
    inv.scanned_at = None
    with pytest.raises(ValueError):
        cache.save(inv)


def test_a_loaded_cache_changed_then_saved_again_keeps_every_change(tmp_path):
    """Issue 11: a cache's footprints load as columns and its reverse index on first use; a
    rescan then changes both (a footprint replaced, one added, one dropped, a tag moved) and
    the next save and load keep all of it, in more than one chunk."""
    from dregtui.core.footprints import Footprint
    from dregtui.state import cache_format as cache_module

    d = [f"sha256:{n:064x}" for n in range(1, 60)]
    inv = Inventory("https://r")
    tags = {f"1.{n}": TagInfo(d[n], "application/x-one") for n in range(40)}
    inv.set_repository("a", tags)
    inv.set_repository("b", {"x": TagInfo(d[0], "application/x-two")})
    for n in range(40):
        inv.set_footprint(d[n], Footprint.of(100 + n, [(d[50], 7), (d[51 + n % 5], n)]))
    inv.mark_scanned(1.0)
    cache = InventoryCache(tmp_path / "c.json", "https://r")
    old_chunk = cache_module.CHUNK
    cache_module.CHUNK = 16  # several chunks of every kind
    try:
        cache.save(inv)
        loaded = cache.load()
        assert loaded is not None
        assert dict(loaded.footprints) == dict(inv.footprints)
        loaded.set_tag("a", "1.3", TagInfo(d[45], "application/x-one"))  # before any lookup
        assert [(r.repository, r.tag) for r in loaded.holders(d[45])] == [("a", "1.3")]
        assert [(r.repository, r.tag) for r in loaded.holders(d[0])] == [("a", "1.0"), ("b", "x")]
        loaded.set_footprint(d[2], Footprint.of(999, [(d[52], 3)]))  # replaced
        loaded.set_footprint(d[45], Footprint.of(5, [(d[50], 7)]))  # new
        del loaded.footprints[d[7]]
        expected = dict(loaded.footprints)
        assert d[7] not in expected and expected[d[2]].size == 999 and len(expected) == 40
        cache.save(loaded)
        again = cache.load()
    finally:
        cache_module.CHUNK = old_chunk
    assert again is not None
    assert again.repositories == loaded.repositories
    assert dict(again.footprints) == expected
    assert [(r.repository, r.tag) for r in again.holders(d[45])] == [("a", "1.3")]


def test_credentials_in_the_url_never_reach_the_cache(small_registry, run_cli):
    url = small_registry.url
    with_creds = url.replace("http://", "http://someone:url-Secret-42@")
    result = run_cli("-reg", with_creds, "list-repo-names")
    assert result.code == 0, result
    text = cache_file(url).read_text()
    assert "url-Secret-42" not in text and "someone" not in text
    assert cache_header(cache_file(url))["registry"] == url


def test_unwritable_cache_is_a_warning_not_a_failure(small_registry, run_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(
        "-reg", small_registry.url, "-c", str(blocker / "cache.json"), "list-repo-names"
    )
    assert result.code == 0, result
    assert len(result.lines) == 12
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: warning: ")


def _refused_paths(tmp_path: Path) -> dict[str, Path]:
    config = tmp_path / "config.yml"
    config.write_text("registry: https://example\n")
    zero = tmp_path / "zero"
    zero.write_bytes(bytes(1 << 20))
    big = tmp_path / "big"
    with big.open("wb") as handle:  # sparse: 2 GB that must never be read whole
        handle.truncate(2 << 30)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return {
        "device": Path("/dev/null"),
        "directory": tmp_path,
        "fifo": fifo,
        "config": config,
        "zero": zero,
        "big": big,
    }


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:  # never the whole file: one of them is 2 GB
        return handle.read(64)


@pytest.mark.parametrize("refresh", [False, True])
def test_cache_path_that_is_not_a_cache_is_refused_before_any_request(
    fake_registry, run_cli, tmp_path, refresh
):
    for label, path in _refused_paths(tmp_path).items():
        before = path.stat()
        head = _head(path) if path.is_file() else None
        extra = ["--refresh"] if refresh else []
        result = run_cli("-reg", fake_registry.url, "-c", str(path), *extra, "list-repo-names")
        assert result.code == 1, (label, result)
        assert result.err.count("\n") == 1, label
        assert result.err.startswith(f"dregtui: error: The cache path {path} is "), label
        assert "-c None" in result.err
        after = path.stat()
        assert (after.st_mode, after.st_size, after.st_ino) == (
            before.st_mode,
            before.st_size,
            before.st_ino,
        ), label
        if head is not None:
            assert _head(path) == head
    assert fake_registry.requests == []


def test_damaged_or_oversized_dregtui_cache_at_a_named_path_is_rebuilt(
    small_registry, run_cli, tmp_path
):
    from dregtui.state.cache import MAX_BYTES

    url = small_registry.url
    path = tmp_path / "cache.json"
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")  # e.g. from mktemp: taken as a new cache
    result = run_cli("-reg", url, "-c", str(empty), "list-repo-names")
    assert result.code == 0 and result.err == "", result
    assert cache_header(empty)["registry"] == url
    for label in ("torn", "oversized"):
        with path.open("wb") as handle:
            handle.write(b'{"format":"dregtui-inventory","version":1,"registry":"x",')
            if label == "oversized":
                handle.truncate(MAX_BYTES + 1)
        result = run_cli("-reg", url, "-c", str(path), "list-repo-names")
        assert result.code == 0, (label, result)
        assert len(result.lines) == 12
        assert result.err.count("\n") == 1 and result.err.startswith("dregtui: warning: ")
        assert str(path) in result.err and "rescanning" in result.err
        assert cache_header(path)["registry"] == url  # rewritten
        assert path.stat().st_size < 1 << 20


def test_a_cached_answer_says_so_on_stderr_and_max_cache_age_rescans(small_registry, run_cli):
    url = small_registry.url
    first = run_cli("-reg", url, "list-repo-names")
    assert first.code == 0 and first.err == "", first
    cached = run_cli("-reg", url, "list-repo-names")
    assert cached.code == 0 and cached.out == first.out
    assert cached.err.count("\n") == 1, cached
    assert cached.err.startswith(f"dregtui: using the cache of {url} from ")
    assert " UTC (0s old); --refresh rescans" in cached.err or "s old)" in cached.err
    path = cache_file(url)
    edit_cache_header(path, scanned_at=cache_header(path)["scanned_at"] - 3 * 3600)
    with RegistryClient(url) as c:
        ImagePusher(c).image("team/new", "1", seed="new")
    fresh = run_cli("-reg", url, "--max-cache-age", "1h", "list-repo-names")
    assert fresh.code == 0, fresh
    assert "team/new" in fresh.lines
    assert "is 3h00m old (over --max-cache-age 1h00m); rescanning" in fresh.err
    env_fresh = run_cli("-reg", url, "list-repo-names", env={"DREGTUI_MAX_CACHE_AGE": "2d"})
    assert "using the cache" in env_fresh.err  # the rescan was saved: young again
    bad = run_cli("-reg", url, "--max-cache-age", "soon", "list-repo-names")
    assert bad.code == 1 and bad.err.startswith("dregtui: error: --max-cache-age")
