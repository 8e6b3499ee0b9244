"""Referrers go with their image: the plan items for the signatures, SBOMs, attestations (and
their own referrers, recursively) and the fallback tag of every manifest a plan deletes.

Edges come from :func:`dregtui.core.referrers.build_graph` (per repository; broken edges are
not edges). Only a DELETE takes referrers along: an untag-only item, a skipped one and every
manifest that stays keep theirs. A referrer listed in its subject's fallback index names that
index in ``parent_indexes``, so the executor deletes the index first; every item taken along
names its subject in ``referrer_of``, and is carried out only once that subject is gone.
A fallback index that also carries the fallback tag of a manifest that stays is skipped, and so
is each referrer under it (nothing is deleted that a manifest staying still points at).
"""

from __future__ import annotations

from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.core.plan_model import Action, PlanItem, Why
from dregtui.core.referrers import FALLBACK_TAG, ReferrerGraph, build_graph
from dregtui.core.tags import sort_tags

FALLBACK_KIND = "fallback index"


def referrers_taken_along(
    inventory: Inventory, items: list[PlanItem], graph: ReferrerGraph | None = None
) -> list[PlanItem]:
    """The items to add to ``items`` so every deleted manifest's referrers go too."""
    by_repo: dict[str, list[PlanItem]] = {}
    for item in items:
        by_repo.setdefault(item.repository, []).append(item)
    added: list[PlanItem] = []
    for repo, repo_items in sorted(by_repo.items()):
        deleting = sorted(i.digest for i in repo_items if i.action is Action.DELETE)
        if not deleting:
            continue
        if graph is None:  # only the repositories the plan deletes in (a registry may be big)
            graph = build_graph(inventory, by_repo)
        tags = inventory.repositories.get(repo, {})
        tags_on: dict[str, list[str]] = {}
        for name, tag_info in tags.items():
            tags_on.setdefault(tag_info.digest, []).append(name)
        in_plan = {i.digest for i in repo_items}
        taken: dict[str, PlanItem] = {}
        queue = list(deleting)
        while queue:
            subject = queue.pop(0)
            fallback = graph.fallback_tags.get((repo, subject))
            info = tags.get(fallback) if fallback is not None else None
            index = info.digest if info is not None else None
            if info is not None and info.digest not in in_plan and info.digest not in taken:
                item = _item(inventory, repo, info.digest, subject, FALLBACK_KIND, [])
                item.intersecting_tags = sort_tags(tags_on.get(info.digest, []))
                item.media_type = info.media_type or mediatypes.OCI_INDEX
                taken[info.digest] = item
            listed = inventory.children.get(index, ()) if index is not None else ()
            for ref in graph.referrers(repo, subject):
                if ref.digest in in_plan or ref.digest in taken:
                    continue
                on = tags_on.get(ref.digest, [])
                item = _item(inventory, repo, ref.digest, subject, ref.kind.value, on)
                if on:
                    item.media_type = tags[on[0]].media_type or item.media_type
                if ref.digest in listed and index is not None:
                    item.parent_indexes = [index]
                taken[ref.digest] = item
                queue.append(ref.digest)
        going = set(deleting) | set(taken)
        _keep_shared_fallback_indexes(taken, going)
        added += taken.values()
    holding = inventory.repositories_holding(i.digest for i in added)
    for item in added:
        item.other_repositories = [r for r in holding.get(item.digest, ()) if r != item.repository]
    return added


def _item(
    inventory: Inventory, repo: str, digest: str, subject: str, kind: str, on: list[str]
) -> PlanItem:
    children = inventory.children.get(digest)
    return PlanItem(
        repository=repo,
        digest=digest,
        media_type=mediatypes.OCI_INDEX if children is not None else mediatypes.OCI_MANIFEST,
        selected_tags=[],
        intersecting_tags=sort_tags(on),
        children=list(children or ()),
        referrer_of=subject,
        referrer_kind=kind,
        why=Why.REFERRER_OF,
    )


def _keep_shared_fallback_indexes(taken: dict[str, PlanItem], going: set[str]) -> None:
    """A taken item carrying a fallback tag of a manifest that stays is skipped, and every
    item under a skipped one (its subject or its index stays) too, until nothing changes."""
    for item in taken.values():
        for tag in item.intersecting_tags:
            m = FALLBACK_TAG.fullmatch(tag)
            if m and f"sha256:{m.group(1)}" not in going:
                item.action, item.why = Action.SKIP, Why.REFERRER_SUBJECT_STAYS
    changed = True
    while changed:
        changed = False
        staying = {d for d, i in taken.items() if i.action is Action.SKIP}
        for item in taken.values():
            if item.action is Action.SKIP:
                continue
            if item.referrer_of in staying or staying.intersection(item.parent_indexes):
                item.action, item.why = Action.SKIP, Why.REFERRER_SUBJECT_STAYS
                changed = True
