"""Issue 11, the registry's side: a tag list of millions of names, a manifest of 100 MB.

A real repository with a million tags must still be listed (distribution 2.8 sends them all
in one page, whatever ``n`` asks); a hostile page or manifest ends in one sentence, exit 1,
no traceback and no cache file, bounded in memory (read at most to its limit, streaming)
and time. The real registry where it can play the part; the fake one for bodies it refuses
to store (manifests over 4 MB) or pages no filesystem holds in a test's time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_server import Large, Reply, error_reply, json_reply

from dregtui.core.errors import ProtocolError, ResponseTooLargeError
from dregtui.core.oci import mediatypes
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.registry.listing import MAX_TAG_PAGE_NAMES
from dregtui.state.cache import cache_name, default_cache_dir

MB = 1024 * 1024
REPO = "ci/app"
TAGS = f"/v2/{REPO}/tags/list"
PAGE_HEAD = b'{"name":"ci/app","tags":['


def names(count: int, prefix: str = "t") -> bytes:
    return b"".join(b'"%s%07d",' % (prefix.encode(), i) for i in range(count))


def five_million_names(*, chunked: bool) -> Large:
    """5,000 x the same 1,000 names: 5,000,000 names, 55 MB."""
    return Large(PAGE_HEAD, names(1000), 5000, b'"end"]}', chunked=chunked)


def manifest_of(size: int, *, chunked: bool = False, stall: bool = False) -> Reply:
    head = b'{"schemaVersion":2,"mediaType":"%s","layers":[' % mediatypes.OCI_MANIFEST.encode()
    body = Large(head, b" " * 1024, size // 1024, b"]}", chunked=chunked, stall=stall)
    return Reply(200, headers={"Content-Type": mediatypes.OCI_MANIFEST}, large=body)


def assert_one_sentence_and_nothing_written(r, url: str, *parts: str) -> None:
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dregtui: error: "), r
    assert "Traceback" not in r.err and r.out == "", r
    for part in parts:
        assert part in lines[0], r
    assert not (default_cache_dir() / cache_name(url)).exists()


@pytest.fixture
def fast_storage(tmp_path: Path) -> Iterator[Path]:
    """A storage directory in memory (tmpfs) when there is one: tens of thousands of files
    are written there in a second, on a busy disk in tens of seconds."""
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="dregtui-", dir=shm)) if shm.is_dir() else tmp_path
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_a_repository_whose_one_tag_page_passes_4_mb_is_listed_whole(make_registry, fast_storage):
    """Distribution 2.8 ignores n= and last= on tags/list and sends every tag in one page, no
    Link: 36,000 tags of 128 characters are a 4.7 MB page (a million CI tags are 19 MB),
    which the old 4 MB limit refused. The tags are entries in the registry's tags directory,
    all 2.8's tags/list reads (pushing 36,000 tags would take minutes)."""
    registry = make_registry({"storage": {"filesystem": {"rootdirectory": str(fast_storage)}}})
    with RegistryClient(registry.url) as c:
        ImagePusher(c).image(REPO, "latest", seed="bad-input")
    tags_dir = fast_storage / f"docker/registry/v2/repositories/{REPO}/_manifests/tags"
    written = {f"{i:06d}".ljust(128, "x") for i in range(36_000)}
    for tag in written:
        (tags_dir / tag).touch()
    with RegistryClient(registry.url) as c:
        resp = c.session.get(registry.url + TAGS + "?n=10&last=000005")
        assert resp.status_code == 200 and "Link" not in resp.headers
        assert len(resp.content) > 4 * MB and len(resp.json()["tags"]) == 36_001
        start = time.monotonic()
        assert set(c.list_tags(REPO)) == written | {"latest"}
        assert time.monotonic() - start < 5.0


def test_tags_are_asked_for_in_pages_and_the_links_followed(fake_registry):
    fake_registry.route(
        "GET",
        TAGS + "?n=1000",
        json_reply({"tags": ["b", "a"]}, Link=f'<{TAGS}?last=b&n=1000>; rel="next"'),
    )
    fake_registry.route("GET", TAGS + "?last=b&n=1000", json_reply({"tags": ["c", "a"]}))
    with RegistryClient(fake_registry.url, retries=0) as c:
        assert c.list_tags(REPO) == ["b", "a", "c"]


def test_a_registry_refusing_the_page_size_is_asked_again(fake_registry):
    """``PAGINATION_NUMBER_INVALID``: a smaller n, as for the catalog; any other 400 to a
    first page with n=: once more without it (a registry that knows no n= for tags)."""
    refused = error_reply(400, "PAGINATION_NUMBER_INVALID", "invalid number of results")
    fake_registry.route("GET", TAGS + "?n=1000", refused)
    fake_registry.route("GET", TAGS + "?n=100", json_reply({"tags": ["1"]}))
    fake_registry.route("GET", "/v2/old/tags/list?n=1000", error_reply(400, "UNSUPPORTED", "n"))
    fake_registry.route("GET", "/v2/old/tags/list", json_reply({"tags": ["2"]}))
    fake_registry.route("GET", "/v2/bad/tags/list", error_reply(400, "NAME_INVALID", "no"))
    with RegistryClient(fake_registry.url, retries=0) as c:
        assert c.list_tags(REPO) == ["1"]
        assert c.list_tags("old") == ["2"]
        with pytest.raises(Exception, match="NAME_INVALID"):
            c.list_tags("bad")
    assert fake_registry.count("GET", "/v2/bad/tags/list") == 2


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_page_of_five_million_tag_names_is_one_sentence_and_no_cache(
    fake_registry, run_cli, chunked
):
    """55 MB (under the 64 MB page limit): read, counted before it is parsed, refused."""
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [REPO]}))
    fake_registry.route("GET", TAGS, Reply(200, large=five_million_names(chunked=chunked)))
    start = time.monotonic()
    r = run_cli("-reg", fake_registry.url, "list-tag-names")
    assert time.monotonic() - start < 5.0
    assert_one_sentence_and_nothing_written(
        r, fake_registry.url, REPO, f"more than {MAX_TAG_PAGE_NAMES:,} names", "--repositories"
    )


def test_a_tag_page_announced_over_its_limit_is_refused_before_it_is_read(fake_registry):
    page = Large(PAGE_HEAD, names(1000), 10_000, b'"end"]}', stall=True)  # 110 MB announced
    fake_registry.route("GET", TAGS, Reply(200, large=page))
    with RegistryClient(fake_registry.url, retries=0, timeout=30) as c:
        start = time.monotonic()
        with pytest.raises(ResponseTooLargeError) as err:
            c.list_tags(REPO)
        assert time.monotonic() - start < 5.0  # the body never ends: it was not waited for
    assert f"the tags of {REPO} as one page larger than 64 MB" in str(err.value)


def test_a_manifest_announced_as_100_mb_is_refused_before_it_is_read(fake_registry):
    path = f"/v2/{REPO}/manifests/1.0"
    fake_registry.route("GET", path, manifest_of(100 * MB, stall=True))
    with RegistryClient(fake_registry.url, retries=0, timeout=30, use_get_manifest=True) as c:
        for call in (lambda: c.get_manifest(REPO, "1.0"), lambda: c.head_manifest(REPO, "1.0")):
            start = time.monotonic()
            with pytest.raises(ResponseTooLargeError) as err:
                call()
            assert time.monotonic() - start < 5.0  # the body never ends: it was not waited for
            assert "a manifest for ci/app:1.0 larger than 4 MB" in str(err.value)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_manifest_ends_a_scan_in_one_sentence_with_no_cache(
    fake_registry, run_cli, chunked
):
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [REPO]}))
    fake_registry.route("GET", TAGS, json_reply({"name": REPO, "tags": ["1.0"]}))
    fake_registry.route("GET", f"/v2/{REPO}/manifests/1.0", manifest_of(100 * MB, chunked=chunked))
    start = time.monotonic()
    r = run_cli("-reg", fake_registry.url, "list-tag-names")
    assert time.monotonic() - start < 5.0
    assert_one_sentence_and_nothing_written(
        r, fake_registry.url, "a manifest for ci/app:1.0 larger than 4 MB", "check what answers"
    )


def test_a_removal_meeting_a_100_mb_manifest_changes_nothing(fake_registry, run_cli):
    from dregtui.state.journal import Journal

    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [REPO]}))
    fake_registry.route("GET", TAGS, json_reply({"name": REPO, "tags": ["1.0"]}))
    fake_registry.route("GET", f"/v2/{REPO}/manifests/1.0", manifest_of(100 * MB, chunked=True))
    r = run_cli("-reg", fake_registry.url, "remove-tags", "-r", REPO, "-t", "1.0", "--yes")
    assert_one_sentence_and_nothing_written(r, fake_registry.url, "larger than 4 MB")
    assert not [m for m, _, _ in fake_registry.requests if m not in ("GET", "HEAD")]
    assert Journal().records() == []


def test_json_nested_deeper_than_the_stack_is_malformed_not_a_crash(fake_registry, run_cli):
    """``[[[[...`` 200,000 deep: json raises RecursionError, which is no ValueError."""
    deep = b"[" * 200_000
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [REPO]}))
    fake_registry.route("GET", TAGS, Reply(200, b'{"tags":' + deep))
    r = run_cli("-reg", fake_registry.url, "list-tag-names")
    assert_one_sentence_and_nothing_written(r, fake_registry.url, "malformed JSON", REPO)
    fake_registry.route("GET", f"/v2/{REPO}/manifests/1.0", Reply(200, b'{"layers":' + deep))
    with RegistryClient(fake_registry.url, retries=0) as c, pytest.raises(ProtocolError) as err:
        c.get_manifest(REPO, "1.0")
    assert "not valid JSON" in str(err.value)
