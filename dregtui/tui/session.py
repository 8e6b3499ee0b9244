"""The state the TUI works on: inventory, marks, filters, details cache, and what the App is
doing with the inventory. No Textual here.

All methods run on the UI thread except where noted; the inventory itself is locked. The
marks' set is :mod:`dregtui.tui.marks`, the filter text's parsing and narrowing
:mod:`dregtui.tui.filter_text`.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter

from dregtui.core.filter_index import TagIndex
from dregtui.core.inventory import Inventory
from dregtui.core.plan import build_plan
from dregtui.core.plan_model import Plan, PlanMode
from dregtui.core.policy.decisions import Outcome
from dregtui.core.referrers import is_plumbing_tag
from dregtui.core.space import Space
from dregtui.core.tags import sort_tags, variant_sort_key
from dregtui.tui.details import DetailsCache
from dregtui.tui.filter_text import (
    narrows_filter,
    parse_tag_filter,
    repository_matcher,
    term_cost,
)
from dregtui.tui.marks import GroupMark, Marks
from dregtui.tui.referrer_view import ReferrerView
from dregtui.tui.untagged import StorageState

SORTS = ("version", "name", "date", "variant")
HEAVY = 50_000  # tags from which a repository's filter may be worked out in a worker
# A big repository's filter is worked out in place when it reads fewer tags than this, weighed
# by what a term costs a tag (filter_text.term_cost): less time than a worker's round trip (a
# frame of the old rows, the worker sharing the interpreter with that paint, then a frame of
# the new ones). Typing further narrows the last rows, so most keys of a long filter are
# worked out in place.
QUICK = 400_000


@dataclass
class Session:
    registry: str
    inventory: Inventory
    details: DetailsCache = field(default_factory=DetailsCache)
    _marks: Marks = field(default_factory=Marks, repr=False)
    tag_filter: str = ""
    repo_filter: str = ""
    sort: str = "version"
    # The space accounting of the inventory (dregtui/core/space.py): built on demand, dropped by
    # ``space_changed`` when the inventory changes (a scan, a deletion, a restore).
    _space: Space | None = field(default=None, repr=False)
    # repository or namespace ("team/") -> its size, from the last accounting
    sizes: dict[str, int] = field(default_factory=dict, repr=False)
    # The last policy applied (its decisions show in the digest pane) and its file.
    policy: Outcome | None = None
    policy_path: str = ""
    # What the App is doing with the inventory, for the screens (the App sets them).
    loading_cache: bool = False  # the cache's rest is being read behind the screen
    from_cache: bool = False  # the inventory came from the cache, not from a scan of this run
    scans_on_start: bool = False  # the App scans the registry as it starts
    status_message: str = ""  # in the status bar from the start (the demo's fill says so)
    # The registry's storage when given: untagged manifests, their marks, the tags' histories.
    storage: StorageState = field(default_factory=StorageState)
    # The image graph (signatures, SBOMs...) per repository, built when first shown.
    referrers: ReferrerView = field(default_factory=ReferrerView)
    show_plumbing: bool = False  # the referrers' plumbing tags in the tags pane (else folded)
    # (repository, sort) -> (inventory revision, ordered tags); the last filter and its rows
    _orders: dict[tuple[str, str], tuple[tuple[int, int, int], list[str]]] = field(
        default_factory=dict, repr=False
    )
    # the last filter: (repository, sort, revision), its text, the positions it took, the rows
    _last_filter: tuple[tuple[object, ...], str, Sequence[int], list[str]] | None = field(
        default=None, repr=False
    )
    _indexes: dict[str, tuple[list[str], TagIndex]] = field(default_factory=dict, repr=False)
    _marked_digests: tuple[tuple[int, int], set[tuple[str, str]]] | None = field(
        default=None, repr=False
    )
    _mark_counts: tuple[int, Counter[str]] | None = field(default=None, repr=False)
    _index_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # one sort of a repository in a given order at a time: the rows' worker and the prepare
    # worker both ask for a big repository's order as it opens (each would sort it again)
    _sorting: dict[tuple[str, str], threading.Lock] = field(default_factory=dict, repr=False)

    @property
    def marks(self) -> Marks:
        return self._marks

    @marks.setter
    def marks(self, value: Iterable[tuple[str, str]]) -> None:
        self._marks = value if isinstance(value, Marks) else Marks(value)

    # -- space --------------------------------------------------------------------------

    @property
    def space(self) -> Space | None:
        """The accounting once built (``build_space``, off the UI thread) and complete; None
        before, and when the scan did not learn every manifest's size (figures from a partial
        scan would mislead)."""
        space = self._space
        return space if space is not None and space.complete else None

    def build_space(self) -> tuple[Space, dict[str, int]]:
        """Build the accounting of the inventory as it is now, and the size of every
        repository and namespace (``team/``) the tree shows (any thread: at 100,000 tags it
        is too slow for the UI thread)."""
        space = Space(self.inventory)
        sizes: dict[str, int] = {}
        if space.complete:
            namespaces: set[str] = set()
            for repo in space.repositories:
                sizes[repo] = space.usage(repo).size
                parts = repo.split("/")[:-1]
                namespaces.update("/".join(parts[: n + 1]) for n in range(len(parts)))
            for ns in namespaces:
                sizes[ns + "/"] = space.usage_of_namespace(ns).size
        return space, sizes

    def space_built(self, space: Space, sizes: dict[str, int]) -> None:
        self._space = space
        self.sizes = sizes

    def space_changed(self) -> None:
        self._space = None
        self.sizes = {}

    def marked_plan(self, mode: PlanMode | None = None) -> Plan:
        selected: dict[str, list[str]] = {}
        for repo, tag in sorted(self.marks):
            selected.setdefault(repo, []).append(tag)
        plan = build_plan(self.inventory, selected, mode or PlanMode())
        space = self._space  # the one the worker built; None until then
        if space is not None:
            plan.reclaimable_bytes = space.reclaimable(plan)
            plan.reclaimable_known = space.complete
        self.storage.add_to(plan)  # marked untagged manifests; exact frees from the storage
        return plan

    # -- tags of one repository, as the tags pane shows them --------------------------

    def ordered_tags(self, repository: str) -> list[str]:
        """The repository's tags in the current order, without the filter. Cached per
        repository and order until its tags change: a filter keystroke does not sort again.
        Two threads asking for the same order: the second waits for the first's."""
        if self.sort == "date":  # never cached: the dates come in as it is shown
            return self._ordered(repository)
        with self._index_lock:
            lock = self._sorting.setdefault((repository, self.sort), threading.Lock())
        with lock:
            return self._ordered(repository)

    def _ordered(self, repository: str) -> list[str]:
        key = (repository, self.sort)
        revision = self.inventory.revision(repository)
        cached = self._orders.get(key)
        if cached is not None and cached[0] == revision and self.sort != "date":
            return cached[1]
        tags = list(self.inventory.repositories.get(repository, {}))
        if self.sort == "name":
            ordered = sorted(tags)
        elif self.sort == "variant":
            ordered = sorted(tags, key=variant_sort_key)
        else:
            ordered = sort_tags(tags)
        if self.sort == "date":
            info = self.inventory.repositories.get(repository, {})

            def created(tag: str) -> str:
                item = info.get(tag)
                found = self.details.get(item.digest) if item else None
                return (found.created or "") if found else ""

            ordered.sort(key=created, reverse=True)
        else:
            self._orders[key] = (revision, ordered)
        return ordered

    def visible_tags(
        self, repository: str, text: str | None = None, stop: Callable[[], bool] | None = None
    ) -> list[str]:
        """The tags pane's rows: the order, then the filter (``text``, default the session's).
        Typing more of a text filter narrows the last result instead of reading every tag
        again. Safe from a worker thread (the filter of a big repository runs in one). The
        list may be the session's own order (no filter, or every tag matches): read it, never
        change it. ``stop``: asked between chunks whether the answer is still wanted (else
        FilterStopped, nothing kept)."""
        ordered = self.ordered_tags(repository)
        text = self.tag_filter if text is None else text
        if not text.strip():
            return ordered  # shared: the panes read their rows, they never change them
        parsed = parse_tag_filter(text)
        done = self._worked_out(repository, text)
        if done is not None:
            return done
        key = (repository, self.sort, self.inventory.revision(repository))
        index = self._index(repository, ordered)
        keep = self._narrowing(key, text)
        positions = parsed.filter_indexed(ordered, index, keep, stop)  # typed further: narrows
        if len(positions) == len(ordered):
            rows = ordered  # every tag: the order itself, not a million lookups
        elif isinstance(positions, range):  # one stretch (a version range in version order)
            rows = ordered[positions.start : positions.stop]
        else:
            rows = list(map(ordered.__getitem__, positions))
        self._last_filter = (key, text, positions, rows)
        return rows

    def _narrowing(self, key: tuple[object, ...], text: str) -> Sequence[int] | None:
        """The positions the last filter took, when ``text`` narrows it over the same tags
        (typed further): all a new filter need read."""
        last = self._last_filter
        return (
            last[2]
            if last is not None and last[0] == key and narrows_filter(last[1], text)
            else None
        )

    def _worked_out(self, repository: str, text: str) -> list[str] | None:
        """The rows of the last filter, when it was ``text`` over the tags as they are now."""
        last = self._last_filter
        key = (repository, self.sort, self.inventory.revision(repository))
        return last[3] if last is not None and last[0] == key and last[1] == text else None

    def _index(self, repository: str, ordered: list[str]) -> TagIndex:
        with self._index_lock:  # a worker and the UI thread make one, not two
            cached = self._indexes.get(repository)
            if cached is None or cached[0] is not ordered:
                index = TagIndex(ordered, version_order=self.sort == "version")
                cached = self._indexes[repository] = (ordered, index)
            return cached[1]

    # -- big repositories: their filters run in a worker ------------------------------

    def heavy(self, repository: str) -> bool:
        """A repository big enough that its tags are parsed behind the screen and a filter
        that is not ``quick`` goes to a worker."""
        return len(self.inventory.repositories.get(repository, ())) >= HEAVY

    def quick(self, repository: str) -> bool:
        """Is the session's filter over ``repository`` cheap enough to work out in place (its
        tags parsed, few to read)? Else a worker does it, off the UI thread."""
        text = self.tag_filter
        ordered = self._orders.get((repository, self.sort))
        index = self._indexes.get(repository)
        if ordered is None or ordered[0] != self.inventory.revision(repository):
            return False  # sorting first: half a million versions take seconds
        if not text.strip():
            return True
        if index is None or index[0] is not ordered[1]:
            return False
        if not index[1].prepared or ordered[0] != self.inventory.revision(repository):
            return False
        try:
            parsed = parse_tag_filter(text)
        except ValueError:
            return False  # the worker drops it; it is said when the filter is submitted
        keep = self._narrowing((repository, self.sort, ordered[0]), text)
        read = len(ordered[1] if keep is None else keep)
        free = index[1].answered_without_reading
        weight = sum(0 if free(sel, negated) else term_cost(sel) for sel, negated in parsed.terms)
        return read * weight < QUICK

    def check_filter(self, text: str) -> None:
        """ValueError (one sentence) when ``text`` is not a filter; cheap at any size."""
        if text.strip():
            parse_tag_filter(text)

    def ready_rows(self, repository: str) -> list[str] | None:
        """The rows of ``repository`` when they need no work (no filter, or this filter's
        result is at hand), else None."""
        cached = self._orders.get((repository, self.sort))
        if cached is None or cached[0] != self.inventory.revision(repository):
            return None
        text = self.tag_filter
        if not text.strip():
            return cached[1]
        return self._worked_out(repository, text)  # made in the worker, not copied here

    def prepare(self, repository: str) -> None:
        """Order a big repository's tags and parse them all, so its first filter is quick
        (a worker does this when the repository is opened: a million versions take seconds).
        Its referrer graph first (the tags' ✓ and the digest pane's referrers ask for it once
        the rows are in: seconds on the UI thread otherwise)."""
        self.referrers.graph(self.inventory, repository)
        self._index(repository, self.ordered_tags(repository)).prepare()

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
            with self._counting(repository):
                self.marks.discard(key)
            return False
        with self._counting(repository):
            self.marks.add(key)
        return True

    @contextlib.contextmanager
    def _counting(self, repository: str) -> Iterator[None]:
        """Marks of ``repository`` alone change: the per-repository counts follow in O(1)
        (counting every mark again would take a large part of a keystroke's time)."""
        cached = self._mark_counts
        fresh = cached is not None and cached[0] == self.marks.version
        before = len(self.marks)
        yield
        if fresh and cached is not None:
            cached[1][repository] += len(self.marks) - before
            self._mark_counts = (self.marks.version, cached[1])

    def tags_to_mark(self, repository: str) -> list[str]:
        """What marking a whole repository takes (space on the tree, m): the tags the pane
        shows for the tag filter (folded plumbing tags stay out, as in the pane), or every
        tag when there is no filter. ValueError (one sentence) when the filter is not one."""
        if not self.tag_filter.strip():
            return list(self.inventory.repositories.get(repository, {}))
        shown = self.visible_tags(repository)
        if self.show_plumbing:
            return list(shown)
        return [t for t in shown if not (t.startswith("sha256-") and is_plumbing_tag(t))]

    def toggle_repositories(self, repositories: Iterable[str]) -> GroupMark:
        """Space on a repository or namespace: mark what :meth:`tags_to_mark` takes in each,
        or unmark it all when all of it was marked already."""
        keys = {(repo, tag) for repo in repositories for tag in self.tags_to_mark(repo)}
        marking = not keys <= self.marks
        before = len(self.marks)
        if marking:
            self.marks |= keys
        else:
            self.marks -= keys
        return GroupMark(
            tags=sorted(tag for _, tag in keys),
            repositories=sorted({repo for repo, _ in keys}),
            changed=abs(len(self.marks) - before),
            marked=marking,
            tag_filter=self.tag_filter.strip(),
        )

    def mark_total(self) -> int:
        """Every mark: tags and untagged manifests."""
        return len(self.marks) + len(self.storage.marks)

    def mark_tags(self, repository: str, tags: list[str]) -> int:
        before = len(self.marks)
        with self._counting(repository):
            self.marks.update(zip(repeat(repository), tags))
        return len(self.marks) - before

    def clear_marks(self) -> None:
        self.marks.clear()
        self.storage.marks.clear()  # the untagged manifests' too

    def marked_in(self, repository: str) -> int:
        return self.mark_counts()[repository]

    def mark_counts(self) -> Counter[str]:
        """Marked tags per repository (cached until the marks change)."""
        cached = self._mark_counts
        if cached is None or cached[0] != self.marks.version:
            cached = self._mark_counts = (
                self.marks.version,
                Counter(map(itemgetter(0), self.marks)),
            )
        return cached[1]

    def marks_key(self) -> tuple[int, int]:
        """What figures derived from the marks are cached by: the marks' version and the
        inventory's changes."""
        return (self.marks.version, self.inventory.changes)

    def marked_digest_count(self) -> int | None:
        """How many digests the marks are on, when ``marked_digests`` has been worked out for
        the marks as they are (the status bar's frees worker does it, off the UI thread);
        else None."""
        cached = self._marked_digests
        return len(cached[1]) if cached is not None and cached[0] == self.marks_key() else None

    def marked_digests(self) -> set[tuple[str, str]]:
        """(repository, digest) of every marked tag; cached until the marks or the
        inventory change."""
        key = self.marks_key()
        if self._marked_digests is not None and self._marked_digests[0] == key:
            return self._marked_digests[1]
        out = set()
        for repo, tag in self.marks:
            info = self.inventory.tag_info(repo, tag)
            if info is not None:
                out.add((repo, info.digest))
        self._marked_digests = (key, out)
        return out

    def prune_marks(self) -> None:
        """Forget marks on tags that no longer exist (after a delete or rescan)."""
        self.marks = {(r, t) for r, t in self.marks if self.inventory.tag_info(r, t) is not None}
