"""Building a deletion plan: :func:`build_plan` (the model, and what each field means, is in
:mod:`dregtui.core.plan_model`; its names are importable from here too).

Use: ``plan = build_plan(inventory, selection.select(inventory), PlanMode())``; then
``plan.items`` (sorted by repository, then tag order), ``plan.actionable``, ``plan.skipped``,
``plan.totals()`` and ``plan.to_json()``; carry it out with :func:`dregtui.ops.execute.execute_plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.core.plan_model import (
    Action,
    IntersectingTagsError,
    Plan,
    PlanItem,
    PlanMode,
    Why,
    signature_tags_for,
)
from dregtui.core.plan_referrers import referrers_taken_along
from dregtui.core.referrers import ReferrerGraph
from dregtui.core.tags import sort_key, sort_tags


def build_plan(
    inventory: Inventory,
    selected: Mapping[str, Iterable[Any]],
    mode: PlanMode | None = None,
    graph: ReferrerGraph | None = None,
) -> Plan:
    """Build the plan for ``selected`` (repository -> tag names or TagRefs).

    Raises :class:`IntersectingTagsError` in ``raise_intersecting_tag`` mode. ``graph``: the
    referrers (built from ``inventory`` when needed and not given).
    """
    mode = mode or PlanMode()
    items: list[PlanItem] = []
    # repository -> (the selected names, digest -> those of them on it)
    chosen: dict[str, tuple[set[str], dict[str, list[str]]]] = {}
    for repo, wanted in selected.items():
        names = {getattr(t, "tag", t) for t in wanted}
        tags = inventory.repositories.get(repo, {})
        by_digest: dict[str, list[str]] = {}
        for name in names:
            info = tags.get(name)
            if info is not None:
                by_digest.setdefault(info.digest, []).append(name)
        chosen[repo] = (names, by_digest)
    holding = inventory.repositories_holding(d for _, by in chosen.values() for d in by)
    for repo in sorted(chosen):
        names, by_digest = chosen[repo]
        tags = inventory.repositories.get(repo, {})
        tags_by_digest: dict[str, list[str]] = {}
        for name, info in tags.items():
            tags_by_digest.setdefault(info.digest, []).append(name)
        for digest, on_it in by_digest.items():
            on_digest = sort_tags(tags_by_digest.get(digest, []))
            items.append(
                PlanItem(
                    repository=repo,
                    digest=digest,
                    media_type=tags[on_it[0]].media_type,
                    selected_tags=sort_tags(on_it),
                    intersecting_tags=[t for t in on_digest if t not in names],
                    other_repositories=[r for r in holding.get(digest, ()) if r != repo],
                    children=list(inventory.children.get(digest, ())),
                    orphaned_signatures=[t for t in signature_tags_for(digest) if t in tags],
                )
            )
    conflicts = [
        (i.repository, i.digest, i.intersecting_tags) for i in items if i.intersecting_tags
    ]
    if mode.raise_intersecting_tag and conflicts:
        raise IntersectingTagsError(conflicts)
    for item in items:
        _decide(item, mode)
    parents_of = _parents_of(inventory)
    _protect_index_children(inventory, items, mode, parents_of)
    items += _children_taken_along(inventory, items, parents_of)
    if mode.referrers:
        items += referrers_taken_along(inventory, items, graph)
    deleted = {(i.repository, i.digest) for i in items if i.action is Action.DELETE}
    removed = {(i.repository, t) for i in items for t in i.tags_removed}
    for item in items:
        if item.action is not Action.DELETE:
            item.orphaned_signatures = []
        else:
            item.children_deleted = [c for c in item.children if (item.repository, c) in deleted]
            tags = inventory.repositories.get(item.repository, {})
            item.orphaned_signatures = [
                t
                for t in item.orphaned_signatures
                if t in tags
                and (item.repository, tags[t].digest) not in deleted
                and (item.repository, t) not in removed  # only those left behind
            ]
    first_tag = {(i.repository, i.digest): i.selected_tags[0] for i in items if i.selected_tags}
    by_key = {(i.repository, i.digest): i for i in items}

    def order(item: PlanItem) -> tuple[Any, ...]:
        # a child taken along comes right after the (first) index that takes it, a referrer
        # after its subject
        root, hops = item, 0
        while root.referrer_of and (root.repository, root.referrer_of) in by_key:
            root, hops = by_key[(root.repository, root.referrer_of)], hops + 1
            if hops > len(items):
                break
        anchor = root.digest
        if not root.selected_tags and root.parent_indexes:
            anchor = root.parent_indexes[0]
        tag = first_tag.get((item.repository, anchor), "")
        parented = bool(root.parent_indexes)
        return (item.repository, sort_key(tag), anchor, parented, hops, item.digest)

    items.sort(key=order)
    emptied = [
        repo
        for repo in sorted(chosen)
        if (tags := inventory.repositories.get(repo, {}))
        and all((repo, t) in removed for t in tags)
    ]
    return Plan(inventory.registry, mode, items, emptied=emptied)


def _decide(item: PlanItem, mode: PlanMode) -> None:
    if not item.intersecting_tags:
        item.action, item.why = Action.DELETE, Why.ALL_SELECTED
    elif mode.untag:
        item.action, item.why = Action.UNTAG, Why.UNTAG_INTERSECTING
    elif mode.match_all_tags:
        item.action, item.why = Action.SKIP, Why.INTERSECTING
    else:
        item.action, item.why = Action.DELETE, Why.DELETE_INTERSECTING


def _parents_of(inventory: Inventory) -> dict[str, list[str]]:
    """Child manifest digest -> the index digests that reference it (the whole registry)."""
    parents_of: dict[str, list[str]] = {}
    for index_digest, kids in inventory.children.items():
        for kid in kids:
            parents_of.setdefault(kid, []).append(index_digest)
    return parents_of


def _children_taken_along(
    inventory: Inventory, items: list[PlanItem], parents_of: Mapping[str, list[str]]
) -> list[PlanItem]:
    """DELETE items for the untagged children of the indexes this plan deletes that no index
    remaining in the repository references (nested indexes too). A child that is tagged, or
    already an item of the plan, or still referenced by an index that stays, stays itself.
    Children are carried out after their indexes (execute.py runs indexes first)."""
    by_repo: dict[str, list[PlanItem]] = {}
    for item in items:
        by_repo.setdefault(item.repository, []).append(item)
    added: list[PlanItem] = []
    for repo, repo_items in sorted(by_repo.items()):
        deleting = [i for i in repo_items if i.action is Action.DELETE]
        todo = [(i.digest, i.media_type) for i in deleting if i.is_index]
        if not todo:
            continue
        tagged = inventory.digests(repo)
        in_plan = {i.digest for i in repo_items}
        gone = {i.digest for i in deleting}
        taken: dict[str, PlanItem] = {}
        while todo:
            index, index_type = todo.pop(0)
            for child in inventory.children.get(index, ()):
                if child in tagged or child in in_plan:
                    continue
                if child in taken:
                    taken[child].parent_indexes.append(index)
                    continue
                # the digests of indexes that stay: tagged ones the plan does not delete
                holders = [p for p in parents_of.get(child, ()) if p in tagged and p not in gone]
                if holders:
                    continue
                nested = inventory.children.get(child)
                media_type = (
                    index_type
                    if nested is not None
                    else mediatypes.DOCKER_MANIFEST
                    if index_type == mediatypes.DOCKER_MANIFEST_LIST
                    else mediatypes.OCI_MANIFEST
                )
                taken[child] = PlanItem(
                    repository=repo,
                    digest=child,
                    media_type=media_type,
                    selected_tags=[],
                    parent_indexes=[index],
                    children=list(nested or ()),
                    why=Why.CHILD_OF_DELETED_INDEX,
                )
                gone.add(child)
                if nested is not None:
                    todo.append((child, media_type))
        added += taken.values()
    # the other repositories with a tag on each, in one pass for all (not the reverse index)
    holding = inventory.repositories_holding(i.digest for i in added)
    for item in added:
        item.other_repositories = [r for r in holding.get(item.digest, ()) if r != item.repository]
    return added


def _protect_index_children(
    inventory: Inventory,
    items: list[PlanItem],
    mode: PlanMode,
    parents_of: Mapping[str, list[str]],
) -> None:
    """Never delete a child of an index that stays tagged after the plan (until a fixpoint)."""
    if not parents_of:
        return
    tagged: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        deleted = {(i.repository, i.digest) for i in items if i.action is Action.DELETE}
        for item in items:
            if item.action is not Action.DELETE or item.digest not in parents_of:
                continue
            if item.repository not in tagged:
                tagged[item.repository] = inventory.digests(item.repository)
            parents = sorted(
                p
                for p in parents_of[item.digest]
                if p in tagged[item.repository] and (item.repository, p) not in deleted
            )
            if not parents:
                continue
            item.parent_indexes = parents
            changed = True
            if mode.untag:
                item.action, item.why = Action.UNTAG, Why.TAGGED_PARENT_UNTAG
            else:
                item.action, item.why = Action.SKIP, Why.TAGGED_PARENT
