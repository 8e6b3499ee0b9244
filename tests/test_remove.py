"""The deletion engine against the real registry: plan -> execute_plan -> what the registry holds."""

from __future__ import annotations

import threading

import pytest
from support.registry import resolve

from dregtui.core.plan import build_plan
from dregtui.core.plan_model import Action, PlanMode
from dregtui.core.selection import Selection
from dregtui.ops.execute import execute_plan
from dregtui.ops.execution_result import RECLAIM_SPACE, Status
from dregtui.ops.scanner import Scanner
from dregtui.state.journal import Journal


def scan(client):
    return Scanner(client, jobs=4).scan()


def plan(client, inventory, mode=None, **selection):
    chosen = Selection.from_args(**selection).select(inventory)
    return build_plan(inventory, chosen, mode)


def test_two_tags_one_digest_default_skips(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    inv = scan(client)
    p = plan(client, inv, repositories=["app"], tags=["1.0"])
    result = execute_plan(client, p, inv)
    assert [r.status for r in result.results] == [Status.SKIPPED]
    assert "1.0.0" in result.skipped[0].message
    assert result.exit_code == 3
    assert resolve(client, "app", "1.0") == resolve(client, "app", "1.0.0") == a.digest
    assert Journal().records() == []


def test_two_tags_one_digest_no_match_all_tags_deletes_both(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    keep = pusher.image("app", "2.0")
    inv = scan(client)
    p = plan(client, inv, PlanMode(match_all_tags=False), repositories=["app"], tags=["1.0"])
    result = execute_plan(client, p, inv)
    assert result.exit_code == 0 and len(result.deleted) == 1
    assert result.deleted[0].removed_tags == ["1.0", "1.0.0"]
    assert resolve(client, "app", "1.0") is None and resolve(client, "app", "1.0.0") is None
    assert resolve(client, "app", "2.0") == keep.digest
    assert inv.tags("app") == ["2.0"]  # the inventory follows exactly
    (record,) = Journal().records()
    assert record.digest == a.digest and record.manifest == a.raw
    assert record.tags == ("1.0", "1.0.0") and record.batch == result.batch


def test_untag_removes_only_the_selected_tag_via_placeholder(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    inv = scan(client)
    p = plan(client, inv, PlanMode(untag=True), repositories=["app"], tags=["1.0"])
    assert p.items[0].action is Action.UNTAG
    result = execute_plan(client, p, inv)
    assert result.exit_code == 0, result.to_json()
    assert resolve(client, "app", "1.0") is None
    assert resolve(client, "app", "1.0.0") == a.digest
    assert client.list_tags("app") == ["1.0.0"]  # no placeholder left behind
    assert inv.tags("app") == ["1.0.0"]


def test_same_digest_in_two_repositories(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("mirror", "1.0", a)
    inv = scan(client)
    p = plan(client, inv, repositories=["app"], tags=["1.0"])
    assert p.items[0].other_repositories == ["mirror"] and p.items[0].action is Action.DELETE
    result = execute_plan(client, p, inv)
    assert result.exit_code == 0
    assert resolve(client, "app", "1.0") is None
    assert resolve(client, "mirror", "1.0") == a.digest
    assert RECLAIM_SPACE.startswith("Deleting only unlinks")


def test_multi_arch_index_and_children(client, pusher):
    index, children = pusher.index("multi", "2.0")
    pusher.tag("multi", "2.0-amd64", children[0])
    inv = scan(client)
    assert inv.children[index.digest] == tuple(c.digest for c in children)
    # a tagged child of a tagged index is never deleted
    p = plan(client, inv, repositories=["multi"], tags=["2.0-amd64"])
    assert p.items[0].action is Action.SKIP and p.items[0].parent_indexes == [index.digest]
    assert execute_plan(client, p, inv).exit_code == 3
    assert resolve(client, "multi", "2.0-amd64") == children[0].digest
    # index and child together: the index goes first, then the children: the tagged one, and
    # the untagged one that nothing references any more (issue 9: it would keep its layers)
    p = plan(client, inv, repositories=["multi"], tags=["2.0", "2.0-amd64"])
    assert [i.action for i in p.items] == [Action.DELETE] * 3
    order = []
    result = execute_plan(
        client, p, inv, jobs=4, progress=lambda d, t, r: order.append(r.item.digest)
    )
    assert result.exit_code == 0
    assert order[0] == index.digest and set(order[1:]) == {c.digest for c in children}
    assert client.list_tags("multi") == []
    assert resolve(client, "multi", children[1].digest) is None


def test_tag_moved_between_plan_and_delete_is_skipped(client, pusher):
    pusher.image("app", "1.0", seed="old")
    inv = scan(client)
    p = plan(client, inv, repositories=["app"], tags=["1.0"])
    new = pusher.image("app", "1.0", seed="new")  # someone pushes meanwhile
    result = execute_plan(client, p, inv)
    assert result.exit_code == 3
    assert "now points at" in result.skipped[0].message
    assert resolve(client, "app", "1.0") == new.digest


def test_new_tag_on_the_digest_since_the_scan_is_skipped(client, pusher):
    a = pusher.image("app", "1.0")
    inv = scan(client)
    p = plan(client, inv, repositories=["app"], tags=["1.0"])
    pusher.tag("app", "stable", a)
    result = execute_plan(client, p, inv)
    assert result.exit_code == 3 and "stable" in result.skipped[0].message
    assert resolve(client, "app", "stable") == a.digest


def test_deletion_disabled_stops_with_advice(make_registry):
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    reg = make_registry(config={"storage": {"delete": {"enabled": False}}})
    with RegistryClient(reg.url) as client:
        pusher = ImagePusher(client)
        for i in range(3):
            pusher.image("app", f"1.{i}")
        inv = scan(client)
        p = plan(client, inv, repositories=["app"], regex=[".*"])
        result = execute_plan(client, p, inv, jobs=1)
        assert result.exit_code == 1
        assert "storage.delete.enabled: true" in result.stopped
        assert len(result.failed) == 1 and len(result.not_run) == 2
        assert sorted(client.list_tags("app")) == ["1.0", "1.1", "1.2"]
        assert inv.tags("app") == ["1.0", "1.1", "1.2"]
        assert Journal().records() == []  # the record written before the refused DELETE is voided


def test_cancelled_half_way_then_rerun_completes(client, pusher):
    for i in range(6):
        pusher.image("app", f"1.{i}")
    pusher.image("app", "2.0")
    inv = scan(client)
    cancel = threading.Event()

    def stop_after_two(done, total, result):
        if done == 2:
            cancel.set()

    p = plan(client, inv, repositories=["app"], tags=["<2"])
    result = execute_plan(client, p, inv, jobs=1, progress=stop_after_two, cancel=cancel)
    assert result.cancelled and len(result.deleted) == 2 and len(result.not_run) == 4
    assert result.exit_code == 1
    assert sorted(client.list_tags("app")) == inv.tags("app")  # the inventory matches the registry
    result = execute_plan(client, plan(client, inv, repositories=["app"], tags=["<2"]), inv)
    assert result.exit_code == 0 and len(result.deleted) == 4
    assert client.list_tags("app") == ["2.0"]


def test_unwritable_journal_stops_before_any_delete(client, pusher, tmp_path):
    pusher.image("app", "1.0")
    pusher.image("app", "1.1")
    inv = scan(client)
    blocked = tmp_path / "journal-dir"
    blocked.write_text("a file where the journal's directory should be")
    p = plan(client, inv, repositories=["app"], regex=[".*"])
    result = execute_plan(client, p, inv, jobs=1, journal=Journal(blocked / "journal.jsonl"))
    assert result.exit_code == 1 and "Cannot write the journal" in result.stopped
    assert sorted(client.list_tags("app")) == ["1.0", "1.1"]


def test_untag_with_deletion_disabled_leaves_the_tag_on_the_original(nodelete_registry):
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    with RegistryClient(nodelete_registry.url) as client:
        pusher = ImagePusher(client)
        a = pusher.image("app", "1.0")
        pusher.tag("app", "1.0.0", a)
        inv = scan(client)
        p = plan(client, inv, PlanMode(untag=True), repositories=["app"], tags=["1.0"])
        result = execute_plan(client, p, inv)
        assert result.exit_code == 1 and "storage.delete.enabled" in result.stopped
        assert resolve(client, "app", "1.0") == resolve(client, "app", "1.0.0") == a.digest
        assert inv.tags("app") == ["1.0", "1.0.0"]
        assert Journal().records() == []


def test_many_concurrent_untags_and_deletes_in_one_repository(client, pusher):
    # distribution 2.8 answers 500 when DELETEs in one repository race: they must not.
    for i in range(16):
        a = pusher.image("app", f"1.{i}")
        pusher.tag("app", f"1.{i}-alias", a)
    inv = scan(client)
    p = plan(client, inv, PlanMode(untag=True), repositories=["app"], regex=[r"1\.\d+$"])
    result = execute_plan(client, p, inv, jobs=8)
    assert result.exit_code == 0 and len(result.untagged) == 16, result.to_json()
    p = plan(client, inv, repositories=["app"], regex=[".*"])
    result = execute_plan(client, p, inv, jobs=8)
    assert result.exit_code == 0 and len(result.deleted) == 16, result.to_json()
    assert client.list_tags("app") == []


def test_a_known_tag_moved_onto_the_digest_after_the_confirmation_is_never_deleted(client, pusher):
    """The plan is shown (the confirmation); then another client moves the *known* tag
    `stable` onto the planned digest. The DELETE would remove it: the item is skipped."""
    two = pusher.image("web", "2.0.0", seed="two")
    pusher.image("web", "stable", seed="stable")
    pusher.image("web", "1.0.0", seed="one")
    inv = scan(client)
    p = plan(client, inv, repositories=["web"], tags=["2.0.0", "1.0.0"])
    assert [i.action for i in p.items] == [Action.DELETE, Action.DELETE]
    pusher.tag("web", "stable", two)  # after the confirmation, before the DELETE
    result = execute_plan(client, p, inv, jobs=1)
    assert result.exit_code == 3
    (skipped,) = result.skipped
    assert skipped.item.digest == two.digest and "stable (not selected" in skipped.message
    assert resolve(client, "web", "stable") == resolve(client, "web", "2.0.0") == two.digest
    assert resolve(client, "web", "1.0.0") is None  # the untouched item still went
    assert [r.tags for r in Journal().records()] == [("1.0.0",)]
    assert inv.tag_info("web", "stable").digest == two.digest  # the cache learns the move


def test_the_journal_holds_exactly_the_tags_the_delete_removed(client, pusher):
    """--no-match-all-tags: a tag that appeared on the digest after the scan is not planned,
    so the item is skipped; the planned intersecting tags go and are all journaled."""
    a = pusher.image("api", "1.0", seed="a")
    pusher.tag("api", "one", a)
    b = pusher.image("api", "2.0", seed="b")
    inv = scan(client)
    mode = PlanMode(match_all_tags=False)
    p = plan(client, inv, mode, repositories=["api"], tags=["1.0", "2.0"])
    pusher.tag("api", "two", b)  # appears after the scan, on 2.0's digest
    result = execute_plan(client, p, inv, jobs=1)
    assert result.exit_code == 3
    assert sorted(client.list_tags("api")) == ["2.0", "two"]
    (record,) = Journal().records()
    assert record.digest == a.digest and sorted(record.tags) == ["1.0", "one"]


def test_an_untag_stranded_on_its_placeholder_is_journaled_and_restored(client, pusher):
    """The registry goes away between the placeholder PUT and its DELETE (and stays away
    while dregtui tries to point the tag back): the tag is left on the placeholder. The
    journal keeps the untag record, and restore puts the tag back on the original."""
    from dregtui.core.errors import RegistryConnectionError
    from dregtui.ops.restore import restore_batch

    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    inv = scan(client)
    p = plan(client, inv, PlanMode(untag=True), repositories=["app"], tags=["1.0"])
    real_put = client.put_manifest

    def down(*args, **kwargs):
        raise RegistryConnectionError("Cannot reach the registry (simulated outage).")

    with pytest.MonkeyPatch.context() as outage:

        def put_then_down(repository, reference, raw, media_type):
            digest = real_put(repository, reference, raw, media_type)  # the placeholder lands
            outage.setattr(client, "put_manifest", down)
            outage.setattr(client, "delete_manifest", down)
            return digest

        outage.setattr(client, "put_manifest", put_then_down)
        result = execute_plan(client, p, inv, jobs=1)
    assert result.exit_code == 1, result.to_json()
    assert resolve(client, "app", "1.0") not in (None, a.digest)  # on the placeholder
    (record,) = Journal().records()
    assert record.kind == "untag" and record.tags == ("1.0",) and record.digest == a.digest
    restored = restore_batch(client, Journal().last(client.base_url))
    assert restored.exit_code == 0, restored.to_json()
    assert resolve(client, "app", "1.0") == resolve(client, "app", "1.0.0") == a.digest


def test_cancel_during_the_recheck_of_a_big_repository_runs_nothing(client, pusher):
    """esc while every tag of a repository is HEADed before its first deletion: nothing is
    deleted, nothing journaled, and the steps said what was being re-checked."""
    for n in range(3):
        pusher.image("app", f"1.{n}", seed=f"c{n}", layers=0)
    for n in range(30):
        pusher.tag("app", f"keep-{n}", pusher.image("app", "2.0", seed="keep", layers=0))
    inv = scan(client)
    p = plan(client, inv, repositories=["app"], tags=["1.0", "1.1", "1.2"])
    cancel = threading.Event()
    steps = []

    def on_step(step):
        steps.append(step)
        if step.phase == "re-checking" and step.done >= 5:
            cancel.set()  # half-way through the HEADs of the repository's 34 tags

    result = execute_plan(client, p, inv, jobs=1, cancel=cancel, on_step=on_step)
    assert result.cancelled and not result.results and len(result.not_run) == 3
    assert steps[0].label == "re-checking the tags of 3 planned items…"
    assert any(s.label.startswith("re-checking 34 tags of app: ") for s in steps)
    assert not any(s.phase == "deleting" for s in steps)
    assert max(s.done for s in steps) < 34  # the HEADs stopped short
    assert sorted(client.list_tags("app"))[:3] == ["1.0", "1.1", "1.2"]
    assert Journal().records() == []
