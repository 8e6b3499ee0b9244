"""list-untagged, remove-untagged and du with the registry's storage (issue 23), against the real
registry on its filesystem storage: what they take, what stays, and their figures checked
against what distribution's own garbage-collect frees."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from support.registry import blob_sizes, gc_eligible

from dregtui.core.oci import mediatypes
from dregtui.demo.server import find_registry_binary

HOURS_AGO = 2 * 3600.0


def _age_revisions(storage, seconds: float) -> None:
    """Every revision link written ``seconds`` ago (as if pushed then)."""
    when = time.time() - seconds
    for link in storage.glob("docker/registry/v2/repositories/**/_manifests/revisions/*/*/link"):
        os.utime(link, (when, when))


def _referrer(pusher, repository: str, subject) -> str:
    """An OCI 1.1 referrer (a signature, say) of ``subject``, pushed by digest: untagged."""
    empty = pusher._blob(repository, b"{}", mediatypes.OCI_EMPTY)
    layer = pusher._blob(repository, f"signature of {subject.digest}".encode(), "text/plain")
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": empty,
        "layers": [layer],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": len(subject.raw),
        },
    }
    return pusher._put(repository, None, json.dumps(doc).encode(), mediatypes.OCI_MANIFEST).digest


@pytest.fixture
def untagged(registry, client, pusher):
    """app:latest pushed three times (two earlier images left untagged, one with a referrer);
    a referrer of the current latest; a tagged two-platform index (its children untagged,
    needed); an index pushed by digest only, with its children; a stray blob; all linked two
    hours ago. Returns (what remove-untagged takes, what must stay)."""
    old = [pusher.image("app", "latest", seed=f"app-{n}") for n in range(2)]
    latest = pusher.image("app", "latest", seed="app-2")
    pusher.image("app", "1.0", seed="app-1.0")
    old_referrer = _referrer(pusher, "app", old[0])
    kept_referrer = _referrer(pusher, "app", latest)
    _, children = pusher.index("multi/tool", "latest", seed="tool")
    orphan, orphan_children = pusher.index("multi/tool", None, seed="orphan")
    client.upload_blob("app", b"a stray upload nothing references")
    _age_revisions(registry.storage, HOURS_AGO)
    taken = {("app", p.digest) for p in old} | {("app", old_referrer)}
    taken |= {("multi/tool", p.digest) for p in [orphan, *orphan_children]}
    stays = {("app", latest.digest), ("app", kept_referrer)}
    stays |= {("multi/tool", c.digest) for c in children}
    return taken, stays


def _cli(registry, *argv: str) -> list[str]:
    return ["-reg", registry.url, "-c", "None", "--storage", str(registry.storage), *argv]


def _planned(doc) -> set[tuple[str, str]]:
    return {(i["repository"], i["digest"]) for i in doc["plan"]["items"]}


def test_list_untagged_shows_what_nothing_kept_needs(registry, pusher, untagged, run_cli):
    taken, stays = untagged
    listed = run_cli(*_cli(registry, "--json", "list-untagged"))
    assert listed.code == 0, listed
    doc = json.loads(listed.out)
    assert _planned(doc) == taken
    assert doc["plan"]["totals"]["reclaimable_exact"] is True
    text = run_cli(*_cli(registry, "list-untagged", "app"))
    assert text.code == 0, text
    assert {tuple(line.split()[:2]) for line in text.lines} == {
        ("app", d) for r, d in taken if r == "app"
    }
    assert "exact: counted in the registry's storage" in text.err
    # a push in progress: its manifests are kept for an hour, taken with 0s
    fresh = pusher.image("app", None, seed="fresh")
    kept = json.loads(run_cli(*_cli(registry, "--json", "list-untagged")).out)
    assert _planned(kept) == taken and kept["kept_by_grace"] == 1
    every = json.loads(
        run_cli(*_cli(registry, "--json", "list-untagged", "--older-than", "0s")).out
    )
    assert _planned(every) == taken | {("app", fresh.digest)}


def test_untagged_commands_need_the_storage(registry, untagged, run_cli):
    for command in ("list-untagged", "remove-untagged"):
        done = run_cli("-reg", registry.url, "-c", "None", command)
        assert done.code == 1 and done.out == ""
        assert "--storage" in done.err and done.err.count("\n") == 1, done
    wrong = run_cli("-reg", registry.url, "--storage", str(registry.storage / "nope"), "du")
    assert wrong.code == 1 and wrong.err.count("\n") == 1, wrong
    assert "does not exist" in wrong.err and "unexpected" not in wrong.err


def test_remove_untagged_frees_what_garbage_collect_frees(registry, client, untagged, run_cli):
    taken, stays = untagged
    sizes, before = blob_sizes(registry.storage), gc_eligible(registry)
    plan = json.loads(run_cli(*_cli(registry, "--json", "remove-untagged", "--dry-run")).out)
    figure = plan["plan"]["totals"]["reclaimable_bytes"]
    assert _planned(plan) == taken and figure > 0
    text = run_cli(*_cli(registry, "remove-untagged", "--dry-run")).out
    assert "index: this plan deletes its 2 child manifests too" in text
    assert text.count("named only by the untagged index") == 2
    done = run_cli(*_cli(registry, "remove-untagged", "--yes"))
    assert done.code == 0, done
    assert {tuple(line.split()[1].split("@")) for line in done.lines} == taken
    assert f"({figure} bytes, exact: counted in the registry's storage)" in done.err
    for repository, digest in taken:
        assert client.head_manifest(repository, digest) is None
    for repository, digest in stays:  # the platform manifests and the kept referrer
        assert client.get_manifest(repository, digest).digest == digest
    assert client.head_manifest("multi/tool", "latest") is not None
    freed = gc_eligible(registry) - before
    assert sum(sizes[b] for b in freed) == figure

    restored = run_cli(*_cli(registry, "restore", "--last"))
    assert restored.code == 0, restored
    for repository, digest in taken:
        assert client.head_manifest(repository, digest).digest == digest
    assert gc_eligible(registry) == before

    # restored just now: the grace period keeps them
    assert json.loads(run_cli(*_cli(registry, "--json", "list-untagged")).out)["kept_by_grace"]
    # once more, later, then the real garbage-collect (registry stopped): the same bytes go
    _age_revisions(registry.storage, HOURS_AGO)
    again = run_cli(*_cli(registry, "--json", "remove-untagged", "--yes"))
    assert again.code == 0, again
    assert json.loads(again.out)["plan"]["totals"]["reclaimable_bytes"] == figure
    registry.stop()
    subprocess.run(
        [find_registry_binary(), "garbage-collect", str(registry.workdir / "config.yml")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    after = blob_sizes(registry.storage)
    gone = set(sizes) - set(after)
    stray = sum(sizes[b] for b in before)
    assert sum(sizes[b] for b in gone) == figure + stray


def test_du_with_the_storage_counts_every_blob(registry, untagged, run_cli):
    sizes = blob_sizes(registry.storage)
    doc = json.loads(run_cli(*_cli(registry, "--json", "du")).out)
    assert doc["exact"] is True and "note" not in doc
    assert doc["total_bytes"] == sum(sizes.values())
    assert doc["unreferenced_bytes"] == sum(sizes[b] for b in gc_eligible(registry)) > 0
    every = json.loads(
        run_cli(*_cli(registry, "--json", "list-untagged", "--older-than", "0s")).out
    )
    assert doc["untagged_bytes"] == every["plan"]["totals"]["reclaimable_bytes"] > 0
    rows = {r["repository"]: r for r in doc["repositories"]}
    assert rows["app"]["untagged_bytes"] > 0 and rows["multi/tool"]["untagged_bytes"] > 0
    text = run_cli(*_cli(registry, "du", "--bytes"))
    assert text.code == 0, text
    assert text.lines[0].split()[:5] == ["SIZE", "EXCLUSIVE", "TAGS", "MANIFESTS", "UNTAGGED"]
    assert text.lines[-2].split()[0] == str(doc["unreferenced_bytes"])
    assert "unreferenced" in text.lines[-2]
    assert text.lines[-1].split()[0] == str(doc["total_bytes"])


def test_without_the_storage_du_and_plans_say_they_count_only_tags(registry, untagged, run_cli):
    base = ("-reg", registry.url, "-c", "None")
    du = run_cli(*base, "--json", "du")
    doc = json.loads(du.out)
    assert doc["exact"] is False and "counts only what tags reference" in doc["note"]
    text = run_cli(*base, "du")
    assert text.err.count("counts only what tags reference") == 1
    plan = json.loads(run_cli(*base, "--json", "query-tags", "-r", "app", "-t", "1.0").out)
    assert plan["totals"]["reclaimable_exact"] is False
    assert "counts only what tags reference" in plan["totals"]["reclaimable_note"]
    dry = run_cli(*base, "remove-tags", "-r", "app", "-t", "1.0", "--dry-run")
    assert "counts only what tags reference" in dry.out


def test_with_the_storage_a_plan_frees_exactly_what_it_says(registry, untagged, run_cli):
    """remove-tags with the storage: the figure is counted from every linked revision (the
    untagged ones the API cannot see included) and says it is exact."""
    sizes, before = blob_sizes(registry.storage), gc_eligible(registry)
    argv = _cli(registry, "--json", "remove-tags", "-r", "app", "-t", "latest", "--dry-run")
    exact = json.loads(run_cli(*argv).out)["plan"]["totals"]
    assert exact["reclaimable_exact"] is True and "reclaimable_note" not in exact
    done = run_cli(*_cli(registry, "remove-tags", "-r", "app", "-t", "latest", "--yes"))
    assert done.code == 0, done
    figure = exact["reclaimable_bytes"]
    assert f"({figure} bytes, exact: counted in the registry's storage)" in done.err
    assert sum(sizes[b] for b in gc_eligible(registry) - before) == figure


def test_a_child_stays_when_its_index_is_tagged_before_its_delete(registry, client, pusher):
    """The plan takes an untagged index and its children; a tag appears on the index before
    the run: the index is skipped (the re-check) and so are its children, never left dangling."""
    from dregtui.core.inventory import Inventory
    from dregtui.core.plan_model import Action, Plan, PlanItem, PlanMode, Why
    from dregtui.ops.execute import execute_plan
    from dregtui.ops.execution_result import Status

    index, children = pusher.index("multi", None, seed="late")
    items = [
        PlanItem(
            "multi", index.digest, index.media_type, [], action=Action.DELETE, why=Why.UNTAGGED
        )
    ] + [
        PlanItem(
            "multi",
            c.digest,
            c.media_type,
            [],
            parent_indexes=[index.digest],
            action=Action.DELETE,
            why=Why.UNTAGGED,
        )
        for c in children
    ]
    pusher.tag("multi", "latest", index)  # the push in progress ends with its tag
    result = execute_plan(client, Plan(registry.url, PlanMode(), items), Inventory(registry.url))
    assert [r.status for r in result.results] == [Status.SKIPPED] * 3
    assert "was not deleted (it stays)" in result.results[-1].message
    for pushed in [index, *children]:
        assert client.get_manifest("multi", pushed.digest).digest == pushed.digest


def test_garbage_collect_delete_untagged_breaks_what_remove_untagged_keeps(
    registry, client, pusher, run_cli
):
    """The breakage the README cites: distribution 2.8's `garbage-collect --delete-untagged`
    unlinks a tagged index's platform manifests (they are untagged); remove-untagged keeps them."""
    pusher.image("app", "latest", seed="old")
    pusher.image("app", "latest", seed="new")
    _, children = pusher.index("multi/tool", "latest", seed="tool")
    _age_revisions(registry.storage, HOURS_AGO)
    done = run_cli(*_cli(registry, "remove-untagged", "--yes"))
    assert done.code == 0 and len(done.lines) == 1, done  # the old app:latest only
    for child in children:
        assert client.head_manifest("multi/tool", child.digest) is not None
    registry.stop()
    subprocess.run(
        [
            find_registry_binary(),
            "garbage-collect",
            "--delete-untagged",
            str(registry.workdir / "config.yml"),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    registry.restart()
    assert client.head_manifest("multi/tool", "latest") is not None  # the index is still tagged
    for child in children:  # ... and names two manifests that are gone
        assert client.head_manifest("multi/tool", child.digest) is None
