"""The scan's pipeline and its window against the real registry: catalog pages and tag lists
are fetched while manifests resolve, and requests in flight stay within --jobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import BIG_REPOS
from support.fake_server import json_reply, manifest_reply, serve_manifest

from dregtui.cli.main import parse_settings
from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.demo.server import LocalRegistry
from dregtui.ops.scanner import DEFAULT_CAP, Scanner
from dregtui.ops.window import FLOOR, InFlightWindow
from dregtui.registry.client import RegistryClient


class Recorder:
    """Every request the client sends (each attempt), in order, and the most in flight."""

    def __init__(self, client: RegistryClient) -> None:
        self.urls: list[str] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        real = client.session.request
        client.session.request = lambda m, url, *a, **k: self._track([url], real, m, url, *a, **k)  # type: ignore[method-assign]
        lane = client.direct
        if lane is not None:  # manifest reads on the fast lane (registry/direct.py)
            send = lane.send_many
            base = client.base_url

            def send_many(method: str, paths: list[str], *args: Any, **kwargs: Any) -> Any:
                urls = [base + path for path in paths]
                return self._track(urls, send, method, paths, *args, **kwargs)

            lane.send_many = send_many  # type: ignore[method-assign]

    def _track(self, urls: list[str], call: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.urls.extend(urls)
            self.in_flight += len(urls)
            self.peak = max(self.peak, self.in_flight)
        try:
            return call(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= len(urls)

    def kinds(self) -> list[str]:
        return [
            "catalog" if "/_catalog" in u else "list" if "/tags/list" in u else "manifest"
            for u in self.urls
        ]


def contents(inventory: Inventory) -> dict[str, dict[str, str]]:
    return {
        repo: {tag: inventory.tag_info(repo, tag).digest for tag in inventory.tags(repo)}
        for repo in inventory.repositories
    }


@pytest.fixture(scope="module")
def paged_registry(big_registry: LocalRegistry) -> Iterator[LocalRegistry]:
    """The big registry's storage served with catalog pages of at most 5 names: the scan's
    n=1000 is refused, it falls back to n=3 (44 pages)."""
    storage = big_registry.build_config()["storage"]
    reg = LocalRegistry(config={"storage": storage, "catalog": {"maxentries": 5}}).start()
    yield reg
    reg.cleanup()


def test_a_catalog_of_many_pages_gives_the_same_inventory(big_registry, paged_registry):
    with RegistryClient(big_registry.url) as c:
        whole = Scanner(c, jobs=8).scan()
    with RegistryClient(paged_registry.url) as c:
        recorder = Recorder(c)
        paged = Scanner(c).scan()
    assert recorder.kinds().count("catalog") > BIG_REPOS // 3
    assert paged.scanned_at is not None
    assert len(paged.repositories) == BIG_REPOS
    assert contents(paged) == contents(whole)


def test_jobs_1_is_one_request_in_flight_and_pages_come_as_names_are_needed(paged_registry):
    with RegistryClient(paged_registry.url) as c:
        recorder = Recorder(c)
        inventory = Scanner(c, jobs=1).scan()
    assert inventory.tag_count == BIG_REPOS * 3
    assert recorder.peak == 1
    kinds = recorder.kinds()
    # the first page (after the refused page sizes) names 3 repositories; the second page is
    # asked for when the last of them is listed (no name is left to list), while its
    # manifests still wait: not before
    first = kinds.index("list")
    second = kinds.index("catalog", first)
    assert kinds[first:second] == ["list", "manifest", "manifest", "manifest"] * 2 + ["list"]
    assert kinds[second + 1 : second + 4] == ["manifest"] * 3
    assert kinds.count("manifest") == BIG_REPOS * 3


def test_the_window_never_exceeds_jobs(big_registry):
    with RegistryClient(big_registry.url) as c:
        recorder = Recorder(c)
        scanner = Scanner(c, jobs=3)
        inventory = scanner.scan()
    assert inventory.tag_count == BIG_REPOS * 3
    assert recorder.peak <= 3
    assert scanner.window.limit <= 3


def test_tag_lists_of_several_pages_and_catalog_pages_give_every_tag(fake_registry):
    """2.8 does not paginate tags/list: a fake registry that does (as distribution 3)."""
    fake_registry.route(
        "GET",
        "/v2/_catalog?n=1000",
        json_reply({"repositories": ["a"]}, Link='</v2/_catalog?last=a&n=1000>; rel="next"'),
    )
    fake_registry.route("GET", "/v2/_catalog?last=a&n=1000", json_reply({"repositories": ["b"]}))
    for repo in ("a", "b"):
        fake_registry.route(
            "GET",
            f"/v2/{repo}/tags/list",
            json_reply({"tags": ["1", "2"]}, Link=f'</v2/{repo}/tags/list?last=2&n=2>; rel="next"'),
        )
        fake_registry.route("GET", f"/v2/{repo}/tags/list?last=2&n=2", json_reply({"tags": ["3"]}))
        for tag in ("1", "2", "3"):
            doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "tag": f"{repo}{tag}"}
            reply = manifest_reply(mediatypes.OCI_MANIFEST, doc)
            serve_manifest(fake_registry, f"/v2/{repo}/manifests/{tag}", reply)
    with RegistryClient(fake_registry.url, retries=0) as c:
        inventory = Scanner(c).scan()
    assert {repo: inventory.tags(repo) for repo in inventory.repositories} == {
        "a": ["1", "2", "3"],
        "b": ["1", "2", "3"],
    }
    assert inventory.scanned_at is not None
    # the session's default headers still go out beside each request's own (merged once)
    sent = [h for m, p, h in fake_registry.requests if p == "/v2/a/manifests/1"]
    assert sent and sent[0]["Accept"] == mediatypes.MANIFEST_ACCEPT
    assert sent[0]["User-Agent"].startswith("python-requests/")
    assert sent[0]["Connection"] == "keep-alive"


def test_the_scan_cap_is_jobs_when_given_else_the_default():
    assert parse_settings(["-reg", "x", "-j", "1", "list-repo-names"], env={})[1].scan_jobs == 1
    assert parse_settings(["-reg", "x", "-j", "16", "list-repo-names"], env={})[1].scan_jobs == 16
    assert parse_settings(["-reg", "x", "list-repo-names"], env={})[1].scan_jobs is None
    assert Scanner(RegistryClient("http://127.0.0.1:9")).jobs == DEFAULT_CAP


def run_window(window: InFlightWindow, round_trip: Any, batches: int = 60) -> list[int]:
    """Feed the window as a closed loop would: ``limit`` answers per round, each round as
    long as its slowest answer; ``round_trip(limit, i)`` is the i-th answer's round trip."""
    now = [0.0]
    window._clock = lambda: now[0]
    limits = []
    for _ in range(batches):
        limit = window.limit
        trips = [round_trip(limit, i) for i in range(limit)]
        now[0] += max(trips)
        for trip in trips:
            window.sample(trip)
        limits.append(window.limit)
    return limits


def test_the_window_grows_to_its_cap_through_a_long_round_trip():
    # 20 ms a request whatever the load (the network, not the registry, is the limit)
    limits = run_window(InFlightWindow(DEFAULT_CAP), lambda limit, i: 0.020)
    assert limits[-1] == DEFAULT_CAP
    assert max(limits) == DEFAULT_CAP
    assert run_window(InFlightWindow(24), lambda limit, i: 0.020)[-1] == 24


def test_the_window_stays_small_when_answers_only_queue():
    # a registry that serves 1,000 requests a second, 0.5 ms each: more in flight only waits
    def queued(limit: int, i: int) -> float:
        return 0.0005 * (i + 1) if limit <= 2 else max(0.0005, limit / 1000) * (0.2 + i / limit)

    limits = run_window(InFlightWindow(DEFAULT_CAP), queued)
    # a larger window is tried now and then (one batch), and never kept: it delivers no more
    assert set(limits) <= {FLOOR, 2 * FLOOR}
    assert limits.count(FLOOR) >= 0.75 * len(limits)


def test_the_window_keeps_what_delivers_more_when_the_round_trip_says_less():
    # loopback, where this process's own CPU is part of every round trip: answers queue (the
    # round-trip rule alone would stay at the floor), yet more in flight delivers more, up to
    # 1.4x at 64 (as bench/scan.py measured 16, 32 and 64 in flight)
    def rate(limit: int) -> float:
        return 1000 * (1 + 0.4 * (min(limit, 64) - 16) / 48) if limit > 16 else 1000.0

    def cpu_bound(limit: int, i: int) -> float:
        return limit / rate(limit) * (0.2 + i / limit)

    limits = run_window(InFlightWindow(DEFAULT_CAP), cpu_bound)
    assert limits[-1] == DEFAULT_CAP and limits[-10:] == [DEFAULT_CAP] * 10


def test_a_cap_below_the_floor_never_moves():
    assert set(run_window(InFlightWindow(1), lambda limit, i: 0.020)) == {1}
    assert set(run_window(InFlightWindow(3), lambda limit, i: 0.020)) == {3}
