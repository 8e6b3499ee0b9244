"""The state the TUI works on: inventory, marks, filters, details cache. No Textual here.

All methods run on the UI thread except where noted; the inventory itself is locked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dregtui.inventory.model import Inventory, TagRef
from dregtui.plan import Plan, PlanMode, build_plan, signature_tags_for
from dregtui.policy import Outcome
from dregtui.select import SelectorError, parse_filter
from dregtui.space import Space
from dregtui.tags import sort_tags, variant_sort_key
from dregtui.tui.details import DetailsCache

SORTS = ("version", "name", "date", "variant")  # variant: grouped by variant, version order

TagPredicate = Callable[[str], bool]


def tag_matcher(text: str) -> TagPredicate:
    """The CLI's one-string selector (dregtui.select.parse_filter); ValueError when invalid."""
    if not text.strip():
        return lambda tag: True
    try:
        return parse_filter(text).matches
    except SelectorError as exc:
        raise ValueError(str(exc)) from exc


def repository_matcher(text: str) -> Callable[[str], bool]:
    text = text.strip()
    if text.startswith("re:"):
        try:
            pattern = re.compile(text[3:])
        except re.error as exc:
            raise ValueError(
                f"The filter {text!r} is not a valid regular expression ({exc})."
            ) from exc
        return lambda name: pattern.search(name) is not None
    lowered = text.lower()
    return lambda name: lowered in name.lower()


@dataclass
class Session:
    registry: str
    inventory: Inventory
    details: DetailsCache = field(default_factory=DetailsCache)
    marks: set[tuple[str, str]] = field(default_factory=set)
    tag_filter: str = ""
    repo_filter: str = ""
    sort: str = "version"
    # The space accounting of the inventory (dregtui/space.py): built on demand, dropped by
    # ``space_changed`` when the inventory changes (a scan, a deletion, a restore).
    _space: Space | None = field(default=None, repr=False)
    # The last policy applied (its decisions show in the digest pane) and its file.
    policy: Outcome | None = None
    policy_path: str = ""

    # -- space --------------------------------------------------------------------------

    @property
    def space(self) -> Space | None:
        """The accounting, when the scan learnt every manifest's size (else None: figures from
        a partial scan would mislead)."""
        if self._space is None:
            self._space = Space(self.inventory)
        return self._space if self._space.complete else None

    def space_changed(self) -> None:
        self._space = None

    def marked_plan(self, mode: PlanMode | None = None) -> Plan:
        selected: dict[str, list[str]] = {}
        for repo, tag in sorted(self.marks):
            selected.setdefault(repo, []).append(tag)
        plan = build_plan(self.inventory, selected, mode or PlanMode())
        space = self.space
        if space is not None:
            plan.reclaimable_bytes = space.reclaimable(plan)
        return plan

    # -- tags of one repository, as the tags pane shows them --------------------------

    def visible_tags(self, repository: str) -> list[str]:
        tags = list(self.inventory.repositories.get(repository, {}))
        if self.tag_filter:
            match = tag_matcher(self.tag_filter)
            tags = [t for t in tags if match(t)]
        if self.sort == "name":
            return sorted(tags)
        if self.sort == "variant":
            return sorted(tags, key=variant_sort_key)
        ordered = sort_tags(tags)
        if self.sort == "date":
            info = self.inventory.repositories.get(repository, {})

            def created(tag: str) -> str:
                item = info.get(tag)
                found = self.details.get(item.digest) if item else None
                return (found.created or "") if found else ""

            ordered.sort(key=created, reverse=True)
        return ordered

    def visible_repositories(self) -> list[str]:
        names = self.inventory.repository_names()
        if self.repo_filter:
            match = repository_matcher(self.repo_filter)
            names = [n for n in names if match(n)]
        return names

    def next_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        return self.sort

    # -- marks ----------------------------------------------------------------------

    def toggle_tag(self, repository: str, tag: str) -> bool:
        key = (repository, tag)
        if key in self.marks:
            self.marks.discard(key)
            return False
        self.marks.add(key)
        return True

    def toggle_repository(self, repository: str) -> bool:
        """Mark every tag of the repository, or unmark them all if all were marked."""
        tags = list(self.inventory.repositories.get(repository, {}))
        keys = {(repository, t) for t in tags}
        if keys and keys <= self.marks:
            self.marks -= keys
            return False
        self.marks |= keys
        return True

    def mark_tags(self, repository: str, tags: list[str]) -> int:
        before = len(self.marks)
        self.marks.update((repository, t) for t in tags)
        return len(self.marks) - before

    def clear_marks(self) -> None:
        self.marks.clear()

    def marked_in(self, repository: str) -> int:
        return sum(1 for repo, _ in self.marks if repo == repository)

    def marked_digests(self) -> set[tuple[str, str]]:
        out = set()
        for repo, tag in self.marks:
            info = self.inventory.tag_info(repo, tag)
            if info is not None:
                out.add((repo, info.digest))
        return out

    def prune_marks(self) -> None:
        """Forget marks on tags that no longer exist (after a delete or rescan)."""
        self.marks = {(r, t) for r, t in self.marks if self.inventory.tag_info(r, t) is not None}

    # -- reverse lookup ---------------------------------------------------------------

    def reverse_lookup(self, repository: str, digest: str) -> ReverseLookup:
        holders = self.inventory.holders(digest)
        same = [h for h in holders if h.repository == repository]
        other = [h for h in holders if h.repository != repository]
        parents = self.inventory.parents(digest)
        parent_refs = [ref for p in parents for ref in self.inventory.holders(p)]
        signatures = [
            TagRef(repo, tag)
            for repo, tags in list(self.inventory.repositories.items())
            for tag in signature_tags_for(digest)
            if tag in tags
        ]
        return ReverseLookup(digest, same, other, parents, parent_refs, sorted(signatures, key=str))


@dataclass
class ReverseLookup:
    digest: str
    same_repository: list[TagRef]
    other_repositories: list[TagRef]
    parent_indexes: list[str]
    parent_tags: list[TagRef]
    signatures: list[TagRef]
