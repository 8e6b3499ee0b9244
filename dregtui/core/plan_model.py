"""Deletion plan, the model: from selected tags to what the registry will actually do, per digest.

A registry deletes manifests by digest, per repository, and a DELETE takes every tag of that
repository that points at the digest with it. So a plan has one :class:`PlanItem` per
(repository, digest) holding at least one selected tag, and states:

- ``selected_tags``: the tags the user selected on that digest;
- ``intersecting_tags``: the *other* tags of the same repository on the same digest (a DELETE
  removes them too);
- ``other_repositories``: repositories that also hold the digest: not affected (deletes are per
  repository), but their copy keeps the blobs alive, so no space is freed. Shown, never blocking
  (the classic ``--no-raise-intersecting-repo`` is accepted and is what always happens);
- ``parent_indexes``: index digests in the same repository that reference this digest as a child
  and stay tagged after the plan (deleting it would leave them dangling: such items are skipped);
- ``children``: for an index, its child manifests; ``children_deleted`` are the ones this same
  plan deletes (a DELETE item of that repository), :attr:`PlanItem.children_kept` the ones that
  stay in the repository after the index goes (:func:`children_note` says which, in words);
- ``orphaned_signatures``: ``sha256-<hex>.sig/.att/.sbom`` tags for this digest that would be
  left pointing at nothing;
- ``referrer_of`` / ``referrer_kind``: for a referrer taken along (a signature, an SBOM, a
  fallback tag's index), the manifest it refers to (deleted by this same plan) and its kind;
- ``action`` (:class:`Action`) and a human ``reason``.

Modes (:class:`PlanMode`):

- default, "match all tags" (the classic behaviour): a digest with intersecting tags outside the
  selection is skipped and reported;
- ``match_all_tags=False`` (``--no-match-all-tags``): delete anyway, intersecting tags go too;
- ``raise_intersecting_tag=True``: :func:`build_plan` raises :class:`IntersectingTagsError`
  listing every digest with intersecting tags;
- ``untag=True`` (``--untag``): remove only the selected tags (:attr:`Action.UNTAG`); a digest
  whose tags are all selected and that no tagged index needs is deleted outright.

Use: ``plan = build_plan(inventory, selection.select(inventory), PlanMode())``; then
``plan.items`` (sorted by repository, then tag order), ``plan.actionable``, ``plan.skipped``,
``plan.totals()`` and ``plan.to_json()``; carry it out with :func:`dregtui.ops.execute.execute_plan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dregtui.core.oci import mediatypes
from dregtui.core.tags import sort_tags
from dregtui.core.wording import UPPER_BOUND_NOTE, plural

SIGNATURE_SUFFIXES = (".sig", ".att", ".sbom")
_SIGNATURE_RE = re.compile(r"sha256-([0-9a-f]{64})\.(sig|att|sbom)")


class Action(StrEnum):
    DELETE = "delete"  # DELETE the manifest by digest (every tag on it in that repo goes)
    UNTAG = "untag"  # remove only the selected tags; the manifest stays
    SKIP = "skip"  # left alone for safety (reason says why)


@dataclass(frozen=True, slots=True)
class PlanMode:
    match_all_tags: bool = True
    raise_intersecting_tag: bool = False
    untag: bool = False
    # take the referrers of every deleted manifest along (--keep-referrers: False)
    referrers: bool = True

    def to_json(self) -> dict[str, bool]:
        return {
            "match_all_tags": self.match_all_tags,
            "raise_intersecting_tag": self.raise_intersecting_tag,
            "untag": self.untag,
            "referrers": self.referrers,
        }


class PlanError(Exception):
    """The plan cannot be built as asked (one readable sentence)."""


class IntersectingTagsError(PlanError):
    """``--raise-intersecting-tag``: selected digests carry tags outside the selection."""

    def __init__(self, conflicts: list[tuple[str, str, list[str]]]):
        self.conflicts = conflicts  # (repository, digest, intersecting tags)
        listing = "; ".join(
            f"{repo}@{digest[:19]} also tagged {', '.join(tags)}"
            for repo, digest, tags in conflicts
        )
        super().__init__(f"Selected tags share digests with tags outside the selection: {listing}.")


def signature_target(tag: str) -> str | None:
    """``sha256-<hex>.sig`` -> ``sha256:<hex>`` (also ``.att``/``.sbom``), else None."""
    m = _SIGNATURE_RE.fullmatch(tag)
    return f"sha256:{m.group(1)}" if m else None


def signature_tags_for(digest: str) -> tuple[str, ...]:
    base = digest.replace(":", "-", 1)
    return tuple(base + suffix for suffix in SIGNATURE_SUFFIXES)


class Why(StrEnum):
    """Why an item has its action: a stable code (``why`` in the JSON plan); each front end
    puts it into its own words (:meth:`PlanItem.reason` is the command line's)."""

    ALL_SELECTED = "all_selected"  # delete: every tag on the digest is selected
    INTERSECTING = "intersecting"  # skip: other tags on the digest were not selected
    DELETE_INTERSECTING = "delete_intersecting"  # delete: --no-match-all-tags, they go too
    UNTAG_INTERSECTING = "untag_intersecting"  # untag: the selected tags go, the others stay
    TAGGED_PARENT = "tagged_parent"  # skip: a tagged index still references the manifest
    TAGGED_PARENT_UNTAG = "tagged_parent_untag"  # untag: same, with --untag
    # delete: an untagged child of an index this plan deletes, that nothing else references
    # (left behind it would keep its layers until garbage-collect --delete-untagged)
    CHILD_OF_DELETED_INDEX = "child_of_deleted_index"
    # delete: an untagged manifest that nothing kept needs, linked before the grace period
    # (remove-untagged; dregtui/core/collect.py)
    UNTAGGED = "untagged"
    # delete: a referrer (signature, SBOM, attestation...) or the fallback index of a manifest
    # this plan deletes (``referrer_of``; dregtui/core/plan_referrers.py)
    REFERRER_OF = "referrer_of"
    # skip: a referrer whose subject or fallback index this plan does not delete (it stays)
    REFERRER_SUBJECT_STAYS = "referrer_subject_stays"


@dataclass(slots=True)
class PlanItem:
    repository: str
    digest: str
    media_type: str
    selected_tags: list[str]
    intersecting_tags: list[str] = field(default_factory=list)
    other_repositories: list[str] = field(default_factory=list)
    parent_indexes: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    children_deleted: list[str] = field(default_factory=list)
    orphaned_signatures: list[str] = field(default_factory=list)
    # a referrer taken along: the digest of its subject, and its kind (signature, sbom,
    # attestation, other, or "fallback index" for the index of a fallback tag)
    referrer_of: str = ""
    referrer_kind: str = ""
    action: Action = Action.DELETE
    why: Why = Why.ALL_SELECTED

    @property
    def reason(self) -> str:
        """The reason in the command line's words (its options)."""
        others = ", ".join(self.intersecting_tags)
        match self.why:
            case Why.ALL_SELECTED:
                return "every tag on this digest is selected"
            case Why.UNTAG_INTERSECTING:
                return f"only the selected tags go; {others} stay"
            case Why.INTERSECTING:
                return (
                    f"also tagged {others} (not selected): use --no-match-all-tags to delete "
                    "anyway or --untag to remove only the selected tags"
                )
            case Why.DELETE_INTERSECTING:
                return f"--no-match-all-tags: {others} go too"
            case Why.TAGGED_PARENT_UNTAG:
                return "a tagged index still references this manifest: only its tags go"
            case Why.CHILD_OF_DELETED_INDEX:
                parents = ", ".join(_short(p) for p in self.parent_indexes)
                return (
                    f"untagged child of the deleted index {parents}: nothing else in the "
                    "repository references it"
                )
            case Why.UNTAGGED:
                if self.parent_indexes:
                    parents = ", ".join(_short(p) for p in self.parent_indexes)
                    return f"untagged, named only by the untagged index {parents} (goes too)"
                return "untagged, and nothing kept needs it"
            case Why.REFERRER_OF:
                return f"{self.referrer_kind} of {_short(self.referrer_of)}, which goes: goes too"
            case Why.REFERRER_SUBJECT_STAYS:
                return (
                    f"{self.referrer_kind} of {_short(self.referrer_of)}: stays with what it "
                    "refers to"
                )
            case Why.TAGGED_PARENT:
                parent = self.parent_indexes[0] if self.parent_indexes else "?"
                return (
                    f"the tagged index {parent} still references this manifest: delete the "
                    "index too, or use --untag to remove only the selected tags"
                )
        return ""

    @property
    def is_index(self) -> bool:
        return mediatypes.is_index(self.media_type)

    @property
    def tags_removed(self) -> list[str]:
        """Tags that will stop resolving when this item is carried out."""
        if self.action is Action.DELETE:
            return sort_tags(self.selected_tags + self.intersecting_tags)
        if self.action is Action.UNTAG:
            return list(self.selected_tags)
        return []

    @property
    def tags_kept(self) -> list[str]:
        """Tags on this digest in this repository that remain afterwards."""
        removed = set(self.tags_removed)
        return sort_tags(
            [t for t in self.selected_tags + self.intersecting_tags if t not in removed]
        )

    @property
    def children_kept(self) -> list[str]:
        """An index's child manifests that stay in the repository (not deleted by this plan)."""
        gone = set(self.children_deleted)
        return [c for c in self.children if c not in gone]

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "media_type": self.media_type,
            "action": self.action.value,
            "why": self.why.value,
            "reason": self.reason,
            "tags": self.selected_tags,
            "intersecting_tags": self.intersecting_tags,
            "other_repositories": self.other_repositories,
            "parent_indexes": self.parent_indexes,
            "children": self.children,
            "children_deleted": self.children_deleted,
            "children_kept": self.children_kept,
            "orphaned_signatures": self.orphaned_signatures,
            "referrer_of": self.referrer_of or None,
            "referrer_kind": self.referrer_kind or None,
            "tags_removed": self.tags_removed,
        }


@dataclass(slots=True)
class Plan:
    registry: str
    mode: PlanMode
    items: list[PlanItem]
    # Bytes garbage-collect frees once the plan has run (dregtui/core/space.py), when known.
    reclaimable_bytes: int | None = None
    # False when some manifests' sizes are unknown (unreadable bodies): the figure counts only
    # the known ones, a lower bound
    reclaimable_known: bool = True
    # True when the figure was counted in the registry's storage (every revision, tagged or
    # not, and every blob's size): exact, not an upper bound
    reclaimable_exact: bool = False
    # The repositories this plan leaves without a tag (every tag they hold is removed)
    emptied: list[str] = field(default_factory=list)

    @property
    def actionable(self) -> list[PlanItem]:
        return [i for i in self.items if i.action is not Action.SKIP]

    @property
    def skipped(self) -> list[PlanItem]:
        return [i for i in self.items if i.action is Action.SKIP]

    @property
    def empty(self) -> bool:
        return not self.items

    def totals(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for item in self.items:
            counts[item.action.value] += 1
        extra = (
            {}
            if self.reclaimable_bytes is None
            else {
                "reclaimable_bytes": self.reclaimable_bytes,
                "reclaimable_is_lower_bound": not self.reclaimable_known,
            }
        )
        return {
            "items": len(self.items),
            "manifests_deleted": counts["delete"],
            "untagged": counts["untag"],
            "skipped": counts["skip"],
            "tags_removed": sum(len(i.tags_removed) for i in self.items),
            "repositories": len({i.repository for i in self.actionable}),
            "shared_with_other_repositories": sum(
                1 for i in self.actionable if i.other_repositories
            ),
        } | extra

    def totals_json(self) -> dict[str, Any]:
        """The totals, and what a figure counted from tags alone says of itself."""
        totals: dict[str, Any] = dict(self.totals())
        if self.reclaimable_bytes is not None:
            totals["reclaimable_exact"] = self.reclaimable_exact
            if not self.reclaimable_exact:
                totals["reclaimable_note"] = UPPER_BOUND_NOTE
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "mode": self.mode.to_json(),
            "totals": self.totals_json(),
            "items": [i.to_json() for i in self.items],
        }


def _short(digest: str) -> str:
    return digest[:19]  # sha256: and 12 hex digits, as IntersectingTagsError names digests


def children_note(item: PlanItem) -> str:
    """For the DELETE of an index: which child manifests this plan deletes too and which stay in
    the repository (one line, CLI and TUI); '' for anything else."""
    if not item.children or item.action is not Action.DELETE:
        return ""
    gone, kept = item.children_deleted, item.children_kept
    if not gone:
        return f"index: its {plural(len(kept), 'child manifest')} stay in the repository"
    deleted = ", ".join(_short(c) for c in gone)
    if not kept:
        return f"index: this plan deletes its {plural(len(gone), 'child manifest')} too: {deleted}"
    stay = "stays" if len(kept) == 1 else "stay"
    return (
        f"index: of its {plural(len(item.children), 'child manifest')}, this plan deletes "
        f"{deleted}; {', '.join(_short(c) for c in kept)} {stay} in the repository"
    )
