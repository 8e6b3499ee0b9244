"""query-*/remove-*/restore through dregtui.cli.main against the real registry."""

from __future__ import annotations

import io
import json

import pytest
from support.registry import resolve

from dregtui.ops.dates import load_known
from dregtui.state.cache import InventoryCache


@pytest.fixture
def populated(registry, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    b = pusher.image("app", "1.1")
    pusher.tag("mirror", "1.1", b)
    c = pusher.image("app", "2.0")
    pusher.tag("app", "latest", c)
    return {"1.0": a.digest, "1.1": b.digest, "2.0": c.digest}


def test_query_tags_classic_output_and_count(registry, populated, run_cli):
    r = run_cli("-reg", registry.url, "--count", "query-tags", "-r", "app", "-t", "1.0", "1.1")
    assert r.code == 3, r  # 1.0 is skipped for safety, as remove-tags --dry-run says
    assert r.lines == [
        "app  " + populated["1.1"],
        "-" * 29,
        "Number of selected digests: 1",
    ]
    assert "skipped app@" in r.err and "1.0.0" in r.err  # 1.0 shares its digest with 1.0.0


def test_query_repos_lists_every_digest_and_json_plan(registry, populated, run_cli):
    r = run_cli("-reg", registry.url, "query-repos", "-r", "app")
    assert r.code == 0, r
    assert sorted(r.lines) == sorted(f"app  {d}" for d in populated.values())
    r = run_cli("-reg", registry.url, "--json", "query-tags", "-r", "app", "-t", "1.1")
    doc = json.loads(r.out)
    (item,) = doc["items"]
    assert item["tags"] == ["1.1"] and item["other_repositories"] == ["mirror"]
    assert item["intersecting_tags"] == [] and item["action"] == "delete"


def test_bad_selector_is_one_clear_error_before_any_request(run_cli):
    r = run_cli("-reg", "http://127.0.0.1:9", "remove-tags", "-r", "app", "-re", "[")
    assert r.code == 1
    assert r.err == "dregtui: error: -re '[': unterminated character set\n"
    r = run_cli("-reg", "http://127.0.0.1:9", "remove-tags", "-r", "app")
    assert r.code == 1 and "No tags specified" in r.err


def test_dry_run_changes_nothing(registry, client, populated, run_cli):
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "1.1", "--dry-run")
    assert r.code == 3, r  # something would be skipped for safety
    assert any(line.startswith("skip    app@") for line in r.lines)
    assert any(line.startswith("delete  app@" + populated["1.1"]) for line in r.lines)
    assert resolve(client, "app", "1.1") == populated["1.1"]


def test_remove_tags_default_skips_intersecting_and_exits_3(registry, client, populated, run_cli):
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "1.1")
    assert r.code == 3, r
    assert resolve(client, "app", "1.1") is None
    assert resolve(client, "mirror", "1.1") == populated["1.1"]
    assert resolve(client, "app", "1.0") == populated["1.0"]
    assert "garbage-collect" in r.err and "dregtui restore" in r.err
    # the cache follows: a later query sees the deletion without rescanning
    cached = InventoryCache.for_registry(registry.url).load()
    assert cached is not None and "1.1" not in cached.tags("app")


def test_remove_tags_no_match_all_tags_and_untag(registry, client, populated, run_cli):
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "--untag")
    assert r.code == 0, r
    assert resolve(client, "app", "1.0") is None
    assert resolve(client, "app", "1.0.0") == populated["1.0"]
    assert "dregtui restore" in r.err and "garbage-collect" not in r.err  # untag frees nothing
    r = run_cli(
        "-reg", registry.url, "--no-raise-intersecting-repo", "remove-tags", "-r", "app",
        "-t", "2.0", "--no-match-all-tags",
    )  # fmt: skip
    assert r.code == 0, r
    assert resolve(client, "app", "2.0") is None and resolve(client, "app", "latest") is None


def test_raise_intersecting_tag_errors(registry, populated, run_cli):
    r = run_cli(
        "-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "--raise-intersecting-tag"
    )
    assert r.code == 1 and "also tagged 1.0.0" in r.err


def test_remove_repos_then_restore(registry, client, populated, run_cli):
    before = {t: resolve(client, "app", t) for t in client.list_tags("app")}
    r = run_cli("-reg", registry.url, "--count", "remove-repos", "-r", "app")
    assert r.code == 0, r
    assert client.list_tags("app") == []
    assert resolve(client, "mirror", "1.1") == populated["1.1"]
    assert r.lines[-1] == "Number of removed digests: 3"
    listing = run_cli("-reg", registry.url, "restore")
    assert listing.code == 0 and "app: 3 manifests, 5 tags" in listing.out
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0, r
    assert {t: resolve(client, "app", t) for t in client.list_tags("app")} == before
    cached = InventoryCache.for_registry(registry.url).load()
    assert cached is not None and sorted(cached.tags("app")) == sorted(before)


def test_deletion_disabled_is_one_sentence_exit_1(make_registry, run_cli):
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    reg = make_registry(config={"storage": {"delete": {"enabled": False}}})
    with RegistryClient(reg.url) as c:
        ImagePusher(c).image("app", "1.0")
    r = run_cli("-reg", reg.url, "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 1
    assert "storage.delete.enabled: true" in r.err and "Traceback" not in r.err


def test_tty_asks_and_no_keeps_everything(registry, client, populated, run_cli, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.1")
    assert r.code == 1 and "Proceed? [y/N]" in r.err and "Nothing removed" in r.err
    assert resolve(client, "app", "1.1") == populated["1.1"]
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.1")
    assert r.code == 0 and resolve(client, "app", "1.1") is None
    monkeypatch.setattr("sys.stdin", Tty(""))
    r = run_cli(
        "-reg", registry.url, "remove-tags", "-r", "app", "-t", "2.0", "-x", "latest", "--yes"
    )
    assert r.code == 0 and "Nothing to remove" in r.err


def test_keep_last_counts_images_not_tags(registry, client, pusher, run_cli):
    for i in range(3):
        image = pusher.image("svc", f"1.{i}")
    pusher.tag("svc", "1.2.0", image)  # one image, two tags: counts once, like Harbor/GitLab
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "svc", "--keep-last", "2")
    assert r.code == 0, r
    assert sorted(client.list_tags("svc")) == ["1.1", "1.2", "1.2.0"]
    r = run_cli("remove-tags", "--help")
    assert "two tags on one image count once" in " ".join(r.out.split())


def test_keep_last_and_older_than(registry, client, pusher, run_cli):
    for i, day in enumerate(["2020-01-01", "2021-01-01", "2022-01-01", "2099-01-01"]):
        pusher.image("svc", f"1.{i}", created=f"{day}T00:00:00Z")
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "svc", "--keep-last", "2")
    assert r.code == 0, r
    assert sorted(client.list_tags("svc")) == ["1.2", "1.3"]
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "svc", "--older-than", "30d")
    assert r.code == 0, r
    assert client.list_tags("svc") == ["1.3"]
    # created dates are kept by digest between runs (they never change)
    known = load_known(registry.url)
    assert known[resolve(client, "svc", "1.3")].startswith("2099-01-01")


def test_catalog_refused_scans_the_named_repositories(token_registry, run_cli):
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    issuer = token_registry.issuer
    issuer.users["carol"] = "cleaner"
    issuer.rights["carol"] = {"pull", "push", "delete"}  # no catalog
    with RegistryClient(token_registry.url, username="alice", password="wonderland") as c:
        pusher = ImagePusher(c)
        pusher.image("app", "1.0")
        keep = pusher.image("app", "2.0")
        auth = ("-reg", token_registry.url, "-u", "carol", "-p", "cleaner")
        r = run_cli(*auth, "remove-tags", "-r", "app", "-t", "1.0")
        assert r.code == 0, r
        assert "does not list its repositories" in r.err
        assert c.list_tags("app") == ["2.0"]
        assert resolve(c, "app", "2.0") == keep.digest


def test_repo_regex_and_signatures_taken_along_or_orphaned(registry, pusher, run_cli):
    a = pusher.image("team/api", "1.0")
    signature = pusher.signature("team/api", a.digest)
    pusher.image("team/web", "1.0")
    pusher.image("other", "1.0")
    r = run_cli("-reg", registry.url, "--json", "query-tags", "-rre", "team/", "-t", "1.0")
    doc = json.loads(r.out)
    sig = a.digest.replace(":", "-") + ".sig"
    assert [(i["repository"], i["tags_removed"], i["referrer_of"]) for i in doc["items"]] == [
        ("team/api", ["1.0"], None),
        ("team/api", [sig], a.digest),  # the signature goes with its image (issue 24)
        ("team/web", ["1.0"], None),
    ]
    assert doc["items"][0]["orphaned_signatures"] == []
    r = run_cli("-reg", registry.url, "remove-tags", "-rre", "team/a", "-t", "1.0", "--dry-run")
    assert r.code == 0, r
    assert f"delete  team/api@{signature.digest}  signature of {a.digest[:19]}" in r.out
    argv = ("remove-tags", "-rre", "team/a", "-t", "1.0", "--dry-run", "--keep-referrers")
    r = run_cli("-reg", registry.url, *argv)
    assert r.code == 0 and f"left orphaned: {sig}" in r.out


def test_restore_by_id_without_registry_option(registry, client, populated, run_cli):
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.1")
    assert r.code == 0, r
    batch = r.err.split("dregtui restore ", 1)[1].split()[0]
    listing = run_cli("--json", "restore")
    assert [b["batch"] for b in json.loads(listing.out)] == [batch]
    r = run_cli("restore", batch[:8])
    assert r.code == 0, r
    assert r.out.startswith("restored  app@" + populated["1.1"])
    assert resolve(client, "app", "1.1") == populated["1.1"]
    r = run_cli("restore", "nope")
    assert r.code == 1 and "no deletion batch or record 'nope'" in r.err


def test_ctrl_c_half_way_then_rerun_completes(registry, client, pusher, run_cli, monkeypatch):
    import os
    import signal
    import threading

    import dregtui.cli.commands.remove as remove

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT reaches only the main thread")
    for i in range(6):
        pusher.image("app", f"1.{i}")
    real = remove.execute_plan

    def interrupted_after_two(*args, **kwargs):
        inner = kwargs["on_step"]

        def on_step(step):
            inner(step)
            if step.phase == "deleting" and step.done == 2:
                os.kill(os.getpid(), signal.SIGINT)

        kwargs["on_step"] = on_step
        return real(*args, **kwargs)

    monkeypatch.setattr(remove, "execute_plan", interrupted_after_two)
    r = run_cli("-reg", registry.url, "-j", "1", "remove-tags", "-r", "app", "-re", ".*")
    assert r.code == 130, r
    deleted = [line for line in r.lines if line.startswith("deleted ")]
    assert 2 <= len(deleted) <= 3  # the signal lands while the next item may be starting
    assert "interrupted" in r.err and f"not attempted: {6 - len(deleted)} items" in r.err
    assert len(client.list_tags("app")) == 6 - len(deleted)
    monkeypatch.setattr(remove, "execute_plan", real)
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-re", ".*")
    assert r.code == 0, r
    assert len(r.lines) == 6 - len(deleted) and client.list_tags("app") == []


def test_index_plan_says_which_children_it_deletes_and_which_stay(
    registry, client, pusher, run_cli
):
    """Deleting an index takes along its untagged children (else they keep their layers until
    garbage-collect --delete-untagged); a tagged child stays; restore brings back all."""
    index, (amd64, arm64) = pusher.index("multi", "1.0")
    pusher.tag("multi", "amd64", amd64)
    argv = ("-reg", registry.url, "remove-tags", "-r", "multi", "-t", "1.0")
    r = run_cli(*argv, "--dry-run")
    assert r.code == 0, r
    note = (
        "        index: of its 2 child manifests, this plan deletes "
        f"{arm64.digest[:19]}; {amd64.digest[:19]} stays in the repository"
    )
    child = (
        f"delete  multi@{arm64.digest}  untagged: untagged child of the deleted index "
        f"{index.digest[:19]}: nothing else in the repository references it"
    )
    assert r.lines[:3] == [f"delete  multi@{index.digest}  tags: 1.0", note, child], r
    r = run_cli("-reg", registry.url, "--json", "query-tags", "-r", "multi", "-t", "1.0")
    doc = {i["digest"]: i for i in json.loads(r.out)["items"]}
    assert doc[index.digest]["children_deleted"] == [arm64.digest]
    assert doc[index.digest]["children_kept"] == [amd64.digest]
    assert doc[arm64.digest]["why"] == "child_of_deleted_index"
    assert doc[arm64.digest]["parent_indexes"] == [index.digest]
    assert json.loads(r.out)["totals"]["manifests_deleted"] == 2
    r = run_cli(*argv, "--yes")
    assert r.code == 0, r
    # the registry holds what the plan said: the index and arm64 gone, amd64 still tagged
    assert client.list_tags("multi") == ["amd64"]
    assert client.head_manifest("multi", index.digest) is None
    assert client.head_manifest("multi", arm64.digest) is None
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0, r
    assert client.head_manifest("multi", "1.0").digest == index.digest
    assert client.head_manifest("multi", arm64.digest).digest == arm64.digest


def test_query_exits_3_like_dry_run_when_something_would_be_skipped(
    registry, client, populated, run_cli
):
    # 1.0 shares its digest with 1.0.0 (not selected): skipped for safety by both commands
    sel = ("-r", "app", "-t", "1.0", "1.1")
    for argv in (
        ("query-tags", *sel),
        ("--json", "query-tags", *sel),
        ("remove-tags", *sel, "--dry-run"),
        ("--json", "remove-tags", *sel, "--dry-run"),
    ):
        r = run_cli("-reg", registry.url, *argv)
        assert r.code == 3, (argv, r)
    for argv in (
        ("query-tags", "-r", "app", "-t", "1.1"),
        ("remove-tags", "-r", "app", "-t", "1.1", "--dry-run"),
    ):
        assert run_cli("-reg", registry.url, *argv).code == 0
    assert resolve(client, "app", "1.0") == populated["1.0"]  # nothing changed
    help_text = " ".join(run_cli("query-tags", "--help").out.split())
    assert "query-* and remove-* --dry-run give the same code for the same selection" in help_text


def test_keep_last_skips_an_image_that_also_carries_an_unselected_tag(
    registry, client, pusher, run_cli
):
    images = [pusher.image("svc", f"1.{i}") for i in range(5)]
    pusher.tag("svc", "lts", images[0])  # pins the oldest image: --keep-last did not select it
    argv = ("-reg", registry.url, "remove-tags", "-r", "svc", "--keep-last", "3")
    r = run_cli(*argv, "--dry-run", "--no-match-all-tags")
    assert r.code == 0, r
    assert r.lines[:2] == [
        f"delete  svc@{images[0].digest}  tags: 1.0, lts",
        "        not selected, deleted too: lts",
    ]
    assert run_cli("-reg", registry.url, "query-tags", "-r", "svc", "--keep-last", "3").code == 3
    r = run_cli(*argv, "--yes")
    assert r.code == 3, r  # skipped for safety, like -t 1.0 would be
    assert f"skipped svc@{images[0].digest}: also tagged lts (not selected)" in r.err
    assert sorted(client.list_tags("svc")) == ["1.0", "1.2", "1.3", "1.4", "lts"]
    r = run_cli(*argv, "--untag", "--yes")  # only the version tag goes; lts keeps the image
    assert r.code == 0, r
    assert sorted(client.list_tags("svc")) == ["1.2", "1.3", "1.4", "lts"]
    assert resolve(client, "svc", "lts") == images[0].digest


def test_older_than_treats_unselected_tags_as_intersecting(registry, client, pusher, run_cli):
    old = pusher.image("svc", "1.0", created="2020-01-01T00:00:00Z")
    pusher.tag("svc", "lts", old)
    pusher.image("svc", "1.1", created="2021-01-01T00:00:00Z")
    pusher.image("svc", "commit-abc", created="2020-01-01T00:00:00Z")
    pusher.image("svc", "1.2", created="2099-01-01T00:00:00Z")
    argv = ("-reg", registry.url, "remove-tags", "-r", "svc", "--older-than", "30d")
    r = run_cli(*argv, "--yes")
    assert r.code == 3, r
    assert f"skipped svc@{old.digest}: also tagged lts (not selected)" in r.err
    assert (
        "--older-than without -t/-re considers version tags only: 1 image without one left "
        "alone (add -re '.*' to consider every tag but latest)." in r.err
    )
    assert sorted(client.list_tags("svc")) == ["1.0", "1.2", "commit-abc", "lts"]
    r = run_cli(*argv, "--no-match-all-tags", "--yes")
    assert r.code == 0, r
    assert sorted(client.list_tags("svc")) == ["1.2", "commit-abc"]
    r = run_cli(*argv, "-re", ".*", "--yes")  # every tag but latest: the commit image goes
    assert r.code == 0, r
    assert client.list_tags("svc") == ["1.2"]


def test_json_plan_items_carry_a_stable_why_code(registry, populated, run_cli):
    """Scripts read `why`; the sentence in `reason` is the command line's wording."""
    r = run_cli("-reg", registry.url, "--json", "query-tags", "-r", "app", "-t", "1.0", "1.1")
    whys = {tuple(i["tags"]): (i["action"], i["why"]) for i in json.loads(r.out)["items"]}
    assert whys == {("1.0",): ("skip", "intersecting"), ("1.1",): ("delete", "all_selected")}
    r = run_cli(
        "-reg", registry.url, "--json", "query-tags", "-r", "app", "-t", "1.0", "--untag"
    )  # fmt: skip
    (item,) = json.loads(r.out)["items"]
    assert (item["action"], item["why"]) == ("untag", "untag_intersecting")
    assert item["reason"] == "only the selected tags go; 1.0.0 stay"
