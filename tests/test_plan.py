"""Deletion plans built from inventories: intersecting tags, other repositories, indexes, modes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.plan import build_plan
from dregtui.core.plan_model import Action, IntersectingTagsError, PlanMode, Why, signature_target
from dregtui.core.selection import Selection

IMG = mediatypes.OCI_MANIFEST
IDX = mediatypes.OCI_INDEX


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def make() -> Inventory:
    inv = Inventory("http://registry.test")
    inv.set_repository(
        "app",
        {
            "1.0": TagInfo(d(1), IMG),
            "1.0.0": TagInfo(d(1), IMG),  # intersecting with 1.0
            "1.1": TagInfo(d(2), IMG),  # also held by mirror
            "2.0": TagInfo(d(3), IDX),  # index with children d(4), d(5)
            "2.0-amd64": TagInfo(d(4), IMG),  # tagged child of the index
            d(2).replace(":", "-") + ".sig": TagInfo(d(9), IMG),
        },
    )
    inv.set_repository("mirror", {"1.1": TagInfo(d(2), IMG)})
    inv.set_children(d(3), [d(4), d(5)])
    return inv


def plan_for(tags, mode=None, repos=("app",)):
    inv = make()
    selected = Selection.from_args(repositories=repos, tags=tags).select(inv)
    return build_plan(inv, selected, mode)


def item(plan, digest):
    return next(i for i in plan.items if i.digest == digest)


def test_intersecting_tags_skip_by_default():
    plan = plan_for(["1.0"])
    it = item(plan, d(1))
    assert it.action is Action.SKIP
    assert it.selected_tags == ["1.0"] and it.intersecting_tags == ["1.0.0"]
    assert "--no-match-all-tags" in it.reason
    assert plan.totals()["skipped"] == 1


def test_no_match_all_tags_deletes_and_lists_what_goes():
    it = item(plan_for(["1.0"], PlanMode(match_all_tags=False)), d(1))
    assert it.action is Action.DELETE
    assert it.tags_removed == ["1.0", "1.0.0"]


def test_untag_removes_only_the_selected_tags():
    it = item(plan_for(["1.0"], PlanMode(untag=True)), d(1))
    assert it.action is Action.UNTAG and it.tags_removed == ["1.0"] and it.tags_kept == ["1.0.0"]
    # every tag selected: deleted outright even in untag mode
    assert item(plan_for(["1.0", "1.0.0"], PlanMode(untag=True)), d(1)).action is Action.DELETE


def test_raise_intersecting_tag_lists_them():
    with pytest.raises(IntersectingTagsError, match=r"app@sha256:0000000000.* also tagged 1\.0\.0"):
        plan_for(["1.0"], PlanMode(raise_intersecting_tag=True))


def test_other_repositories_are_shown_never_blocking():
    plan = plan_for(["1.1"])
    it = item(plan, d(2))
    assert it.action is Action.DELETE and it.other_repositories == ["mirror"]
    assert plan.totals()["shared_with_other_repositories"] == 1
    # its cosign signature goes with it (issue 24) ...
    sig = d(2).replace(":", "-") + ".sig"
    assert it.orphaned_signatures == []
    taken = [i for i in plan.items if i.referrer_of == d(2)]
    assert [(i.intersecting_tags, i.referrer_kind, i.why) for i in taken] == [
        ([sig], "signature", Why.REFERRER_OF)
    ]
    assert taken[0].tags_removed == [sig] and taken[0].action is Action.DELETE
    # ... unless the referrers are kept (--keep-referrers): then it is left orphaned
    kept = item(plan_for(["1.1"], PlanMode(referrers=False)), d(2))
    assert kept.orphaned_signatures == [sig]
    assert signature_target(kept.orphaned_signatures[0]) == d(2)


def test_child_of_a_tagged_index_is_never_deleted():
    it = item(plan_for(["2.0-amd64"]), d(4))
    assert it.action is Action.SKIP and it.parent_indexes == [d(3)]
    assert item(plan_for(["2.0-amd64"], PlanMode(untag=True)), d(4)).action is Action.UNTAG
    # deleting the index in the same plan frees the child
    plan = plan_for(["2.0", "2.0-amd64"])
    assert item(plan, d(4)).action is Action.DELETE
    index = item(plan, d(3))
    assert index.action is Action.DELETE and index.children == [d(4), d(5)] and index.is_index
    # and its untagged child goes after it, so no manifest is left for --delete-untagged
    assert index.children_deleted == [d(4), d(5)]
    child = item(plan, d(5))
    assert (child.action, child.why, child.selected_tags) == (
        Action.DELETE,
        Why.CHILD_OF_DELETED_INDEX,
        [],
    )
    assert [i.digest for i in plan.items].index(d(5)) > [i.digest for i in plan.items].index(d(3))


def test_a_child_taken_along_names_the_other_repositories_that_tag_it():
    """The untagged child of a deleted index may be tagged elsewhere (a mirror that copied
    one platform): the plan says so, learned in one pass over the tags (not the reverse
    index, 105 MB at a million tags)."""
    inv = make()
    inv.set_repository("mirror", {"1.1": TagInfo(d(2), IMG), "amd64": TagInfo(d(5), IMG)})
    selected = Selection.from_args(repositories=["app"], tags=["2.0", "2.0-amd64"]).select(inv)
    plan = build_plan(inv, selected)
    child = item(plan, d(5))
    assert child.why is Why.CHILD_OF_DELETED_INDEX and child.other_repositories == ["mirror"]
    assert item(plan, d(3)).other_repositories == []
    assert inv._by_digest is None  # what the plan asked built no index


def test_whole_repository_plan_and_json():
    inv = make()
    selected = Selection.from_args(repositories=["app"], all_tags=True).select(inv)
    plan = build_plan(inv, selected)
    assert {i.action for i in plan.items} == {Action.DELETE}
    # 5 tagged digests, and the index's untagged child d(5) goes with it
    assert plan.totals()["manifests_deleted"] == 6
    child = item(plan, d(5))
    assert child.why is Why.CHILD_OF_DELETED_INDEX and child.parent_indexes == [d(3)]
    doc = json.loads(json.dumps(plan.to_json()))
    assert doc["registry"] == "http://registry.test"
    first = doc["items"][0]
    assert set(first) >= {
        "repository",
        "digest",
        "tags",
        "intersecting_tags",
        "other_repositories",
        "action",
    }


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "team/c", "team/d"]),
        st.dictionaries(st.sampled_from("uvwxyz"), st.integers(1, 5), max_size=4),
        min_size=1,
    ),
    st.booleans(),
)
def test_the_repositories_holding_a_digest_are_the_reverse_indexs(repos, indexed) -> None:  # type: ignore[no-untyped-def]
    """A plan learns which other repositories hold a digest in one pass over the tags (the
    whole reverse index cost 105 MB at a million tags), or from the index when it is built:
    the same answer either way, and the same plan."""
    inv = Inventory("http://r")
    for repo, tags in repos.items():
        inv.set_repository(repo, {t: TagInfo(d(n)) for t, n in tags.items()})
    if indexed:
        inv.build_indexes()
    wanted = [d(n) for n in range(7)]
    plan = build_plan(inv, {r: list(t) for r, t in repos.items() if t})  # before holders()
    holding = inv.repositories_holding(wanted)
    assert holding == {
        digest: tuple(sorted({h.repository for h in holders}))
        for digest in wanted
        if (holders := inv.holders(digest))
    }
    for item in plan.items:
        held = {h.repository for h in inv.holders(item.digest)} - {item.repository}
        assert item.other_repositories == sorted(held)
