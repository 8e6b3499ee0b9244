"""The Scanner against the real registry: completeness, indexes, cancel, priority, rate, errors."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest
from conftest import BIG_REPOS

from dregtui.core.errors import RegistryError
from dregtui.core.inventory import Inventory
from dregtui.ops.scanner import Scanner, ScanProgress
from dregtui.registry.client import RegistryClient


def test_full_scan_of_big_registry_with_progress(big_registry):
    seen: list[ScanProgress] = []
    completed: list[str] = []
    with RegistryClient(big_registry.url) as c:
        inv = Scanner(c, jobs=8, progress=seen.append, on_repository=completed.append).scan()
    assert len(inv.repositories) == BIG_REPOS
    assert inv.tag_count == BIG_REPOS * 3
    assert inv.scanned == set(inv.repositories)
    assert inv.scanned_at is not None
    assert sorted(completed) == sorted(inv.repositories)
    last = seen[-1]
    assert last.finished and last.repositories_done == last.repositories_total == BIG_REPOS
    assert last.tags_done == last.tags_total == BIG_REPOS * 3
    assert last.rate > 0 and last.eta == 0
    dones = [p.tags_done for p in seen]
    assert dones == sorted(dones)
    # latest and 1.0 share a digest: the reverse index knows both
    digest = inv.tag_info("ns1/repo-001", "latest").digest
    assert [(r.repository, r.tag) for r in inv.holders(digest)] == [
        ("ns1/repo-001", "1.0"),
        ("ns1/repo-001", "latest"),
    ]


def test_indexes_children_and_shared_digests_across_repositories(registry, client, pusher):
    index, children = pusher.index("multi", "v1", platforms=("linux/amd64", "linux/arm64"))
    pusher.tag("multi", "stable", index)
    pusher.tag("mirror/multi", "v1", index)
    pusher.image("plain", "1.0")
    inv = Scanner(client, jobs=4).scan()
    assert inv.children == {index.digest: tuple(ch.digest for ch in children)}
    assert inv.parents(children[0].digest) == [index.digest]
    assert [(r.repository, r.tag) for r in inv.holders(index.digest)] == [
        ("mirror/multi", "v1"),
        ("multi", "stable"),
        ("multi", "v1"),
    ]
    assert inv.tag_info("multi", "v1").media_type == "application/vnd.oci.image.index.v1+json"


def test_named_repositories_when_catalog_is_closed(small_registry):
    with RegistryClient(small_registry.url) as c:
        inv = Scanner(c).scan(repositories=["team/app-05", "team/app-07", "team/app-05"])
    assert sorted(inv.repositories) == ["team/app-05", "team/app-07"]
    assert inv.tags("team/app-05") == ["1.0", "2.0", "latest"]


def test_a_tag_vanishing_between_list_and_head_is_skipped(small_registry):
    class Racy(RegistryClient):
        def list_tags(self, repository: str) -> list[str]:
            return [*super().list_tags(repository), "deleted-meanwhile"]

    with Racy(small_registry.url) as c:
        inv = Scanner(c, jobs=4).scan()
    assert inv.tag_count == 12 * 3
    assert inv.scanned_at is not None


def test_scan_repository_refreshes_one_repository(registry, client, pusher):
    first = pusher.image("app", "1.0")
    pusher.image("app", "2.0")
    pusher.image("other", "1.0")
    scanner = Scanner(client, jobs=2)
    inv = scanner.scan()
    client.delete_manifest("app", first.digest)
    pusher.image("app", "3.0")
    scanner.scan_repository(inv, "app")
    assert inv.tags("app") == ["2.0", "3.0"]
    assert inv.holders(first.digest) == []
    assert inv.tags("other") == ["1.0"]
    assert inv.scanned_at is not None


def test_cancel_stops_promptly_and_leaves_the_inventory_incomplete(big_registry):
    with RegistryClient(big_registry.url) as c:
        scanner: Scanner

        def on_repo(repo: str) -> None:
            if len(inv.scanned) >= 3:
                scanner.cancel()

        inv = Inventory(c.base_url)
        scanner = Scanner(c, jobs=2, on_repository=on_repo)
        started = time.monotonic()
        result = scanner.scan(inv)
        elapsed = time.monotonic() - started
    assert result is inv
    assert inv.scanned_at is None
    assert 3 <= len(inv.scanned) < BIG_REPOS
    assert scanner.cancelled
    assert elapsed < 5


def test_cancel_from_another_thread(big_registry):
    with RegistryClient(big_registry.url) as c:
        scanner = Scanner(c, jobs=2, rate=200)
        timer = threading.Timer(0.3, scanner.cancel)
        timer.start()
        started = time.monotonic()
        inv = scanner.scan()
        timer.join()
    assert time.monotonic() - started < 3
    assert inv.scanned_at is None
    assert len(inv.scanned) < BIG_REPOS


def test_prioritize_moves_a_repository_to_the_front(small_registry):
    names = [f"team/app-{i:02d}" for i in range(12)]
    order: list[str] = []
    with RegistryClient(small_registry.url) as c:
        scanner = Scanner(c, jobs=1)

        def on_repo(repo: str) -> None:
            order.append(repo)
            if len(order) == 1:
                scanner.prioritize("team/app-11")

        scanner.on_repository = on_repo
        scanner.scan(repositories=names)
    assert order[0] == "team/app-00"
    assert order[1] == "team/app-11"
    assert sorted(order) == names


def test_rate_cap_limits_requests_per_second(small_registry):
    with RegistryClient(small_registry.url) as c:
        started = time.monotonic()
        inv = Scanner(c, jobs=8, rate=25).scan(repositories=["team/app-00", "team/app-01"])
        elapsed = time.monotonic() - started
    # 2 tag lists + 6 HEADs = 8 requests at 25/s: at least (8 - 1) / 25 s
    assert inv.tag_count == 6
    assert elapsed >= 0.25


def test_registry_dying_mid_scan_raises_one_registry_error(small_registry):
    def stop(progress: ScanProgress) -> None:
        if progress.repositories_done >= 2 and small_registry.process is not None:
            small_registry.stop()

    with RegistryClient(small_registry.url, retries=1) as c:
        inv = Inventory(c.base_url)
        with pytest.raises(RegistryError):
            Scanner(c, jobs=1, progress=stop).scan(inv)
    assert inv.scanned_at is None


def test_unreachable_registry_raises_registry_error():
    with RegistryClient("http://127.0.0.1:9", retries=0) as c, pytest.raises(RegistryError):
        Scanner(c).scan()


def test_nested_indexes_record_every_level(registry, client, pusher):
    import json

    from dregtui.core.oci import mediatypes

    inner, inner_children = pusher.index("nest", None, seed="inner")
    outer_raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [
                {"mediaType": inner.media_type, "digest": inner.digest, "size": len(inner.raw)}
            ],
        }
    ).encode()
    outer = client.put_manifest("nest", "v1", outer_raw, mediatypes.OCI_INDEX)
    inv = Scanner(client, jobs=2).scan()
    assert inv.children[outer] == (inner.digest,)
    assert inv.children[inner.digest] == tuple(c.digest for c in inner_children)


def test_an_invalid_catalog_entry_is_skipped_with_one_warning(fake_registry, run_cli):
    from support.fake_server import Reply, json_reply

    fake_registry.route(
        "GET", "/v2/_catalog", json_reply({"repositories": ["evil/../dotdot", "ok"]})
    )
    fake_registry.route("GET", "/v2/ok/tags/list", json_reply({"name": "ok", "tags": ["1"]}))
    raw = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
    )
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    headers = {
        "Docker-Content-Digest": digest,
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
    }
    fake_registry.route("GET", "/v2/ok/manifests/1", Reply(200, raw, headers))
    result = run_cli("-reg", fake_registry.url, "-c", "None", "list-tag-names")
    assert result.code == 0, result
    assert result.lines == ["ok 1"] or result.lines[-1].split()[-1] == "1", result
    assert result.err.count("\n") == 1, result
    assert result.err.startswith("dregtui: warning: skipping 'evil/../dotdot'")
    assert not any("dotdot" in p for _, p, _ in fake_registry.requests)


def test_an_unreadable_manifest_is_one_warning_and_the_scan_goes_on(fake_registry, run_cli):
    """A body that is not JSON (a registry cannot store one; a broken proxy can serve one):
    the tag keeps its digest (from a HEAD), its size is unknown, one warning line."""
    from support.fake_server import Reply, json_reply

    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": ["ok"]}))
    fake_registry.route("GET", "/v2/ok/tags/list", json_reply({"name": "ok", "tags": ["1"]}))
    raw = b"<html>not a manifest</html>"
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    headers = {
        "Docker-Content-Digest": digest,
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
    }
    fake_registry.route("GET", "/v2/ok/manifests/1", Reply(200, raw, headers))
    fake_registry.route("HEAD", "/v2/ok/manifests/1", Reply(200, b"", headers))
    result = run_cli("-reg", fake_registry.url, "-c", "None", "--json", "du")
    assert result.code == 0, result
    (warning,) = result.err.splitlines()
    assert warning.startswith("dregtui: warning: ok@1: ") and "size is unknown" in warning
    doc = json.loads(result.out)
    assert doc["complete"] is False
    assert doc["repositories"][0]["unknown_manifests"] == 1  # its 0 bytes are a lower bound
    text = run_cli("-reg", fake_registry.url, "-c", "None", "du")
    assert text.lines[1].split()[:2] == ["?", "?"]  # never shown as 0
    # a plan over it says its figure is a lower bound
    argv = ("-reg", fake_registry.url, "-c", "None")
    plan = run_cli(*argv, "--json", "remove-repos", "-r", "ok", "--dry-run")
    totals = json.loads(plan.out)["plan"]["totals"]
    assert totals["reclaimable_is_lower_bound"] is True
    dry = run_cli(*argv, "remove-repos", "-r", "ok", "--dry-run")
    assert "Garbage-collect then frees at least" in dry.out, dry


def test_foreign_layers_and_missing_children_are_one_warning_each(fake_registry, run_cli):
    """A Windows image's foreign layer is not in this registry's storage: left out of its
    size; an index child the registry does not have: its size unknown. One line each."""
    from support.fake_server import Reply, json_reply, manifest_reply, serve_manifest

    from dregtui.core.oci import mediatypes

    layer = {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "digest": "sha256:" + "1" * 64,
        "size": 1000,
    }
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": "sha256:" + "2" * 64,
        "size": 5_000_000,
        "urls": ["https://example"],
    }
    config = {"mediaType": mediatypes.DOCKER_CONFIG, "digest": "sha256:" + "3" * 64, "size": 200}
    win = manifest_reply(
        mediatypes.DOCKER_MANIFEST,
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.DOCKER_MANIFEST,
            "config": config,
            "layers": [foreign, layer],
        },
    )
    missing = "sha256:" + "4" * 64
    index = manifest_reply(
        mediatypes.OCI_INDEX,
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": missing, "size": 500}],
        },
    )
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": ["multi", "win"]}))
    for repo, reply in (("win", win), ("multi", index)):
        fake_registry.route("GET", f"/v2/{repo}/tags/list", json_reply({"tags": ["1"]}))
        serve_manifest(fake_registry, f"/v2/{repo}/manifests/1", reply)
    fake_registry.route("GET", f"/v2/multi/manifests/{missing}", Reply(404, b"{}"))
    result = run_cli("-reg", fake_registry.url, "-c", "None", "--json", "du")
    assert result.code == 0, result
    warnings = result.err.splitlines()
    assert len(warnings) == 2, warnings
    assert any("foreign layer" in w and w.startswith("dregtui: warning: win@") for w in warnings)
    assert any(missing in w and "size is unknown" in w for w in warnings)
    rows = {r["repository"]: r for r in json.loads(result.out)["repositories"]}
    assert rows["win"]["size_bytes"] == len(win.body) + 200 + 1000  # no foreign 5 MB
    assert rows["multi"]["unknown_manifests"] == 1
