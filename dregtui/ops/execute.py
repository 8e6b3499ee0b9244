"""Carry out a deletion plan against the registry, safely, concurrently, with a journal.

``execute_plan(client, plan, inventory, jobs=4, progress=cb, cancel=event)`` -> ExecutionResult.

For every actionable :class:`~dregtui.core.plan.PlanItem` (indexes first, and a manifest only
after the indexes of the plan that name it, so no index is ever left pointing at a deleted
child; a manifest whose planned index was not deleted, a tag having appeared on it, is skipped),
in a thread pool:

1. Re-check right before the change: each tag the item removes is HEADed (full Accept) and must
   still point at the planned digest. Right before a repository's first change, every tag of it
   is HEADed (REFRESH_JOBS at a time: a *known* tag may have moved onto a planned digest since
   the scan, and only a HEAD shows it); before each DELETE, under the repository's lock, a fresh
   tags/list adds the tags that appeared since. A digest that now carries any tag that was not
   planned is *skipped* (exit 3), like an intersecting tag. The digest itself must resolve to
   a manifest (never DELETE a blob digest). Cost: the first deletion in a repository costs about
   one rescan of it; later ones one tags/list.
2. Journal: the raw manifest bytes, media type and exactly the tags on the digest are appended
   to the journal and fsynced (:mod:`dregtui.state.journal`) before the registry is touched.
3. DELETE by digest (:attr:`Action.DELETE`) or untag (:attr:`Action.UNTAG`: OCI delete-by-tag
   where the registry supports it, else the tag is pointed at a tiny unique placeholder manifest
   which is then deleted; its record is kept once the placeholder PUT may have happened). After
   a DELETE, a HEAD must show the manifest gone before it is reported deleted.
4. The inventory is updated for exactly what was removed, item by item, so it is right even when
   the run stops half-way (the caller saves the cache afterwards).

``progress(done, total, item_result)`` is called from worker threads after each item;
``on_step(Step)`` (:mod:`dregtui.ops.steps`) names the phase too: the re-checks, HEAD by HEAD,
then each item done.
``cancel`` (a ``threading.Event``) is checked between items: items not started are reported in
``not_run``. A :class:`DeletionDisabledError` (405), a journal that cannot be written, or an
error every further item would hit too (registry unreachable, TLS, rejected credentials) stops
the run: ``result.stopped`` holds one sentence (for 405: how to enable deletion). The result
types are in :mod:`dregtui.ops.execution_result`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from dregtui.core.errors import (
    AuthenticationError,
    DeletionDisabledError,
    NotFoundError,
    RegistryConnectionError,
    RegistryError,
    RegistryTLSError,
    ServerError,
)
from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.core.oci.mediatypes import PLACEHOLDER_ANNOTATION
from dregtui.core.oci.models import DeleteOutcome
from dregtui.core.plan_model import Action, Plan, PlanItem
from dregtui.core.registry_api import RegistryAPI
from dregtui.ops.execution_result import ExecutionResult, ItemResult, Status
from dregtui.ops.rechecks import Gone, Rechecks, Skip
from dregtui.ops.steps import DELETING, RECHECKING, OnStep, Step
from dregtui.state.journal import Journal, JournalRecord, new_id

DELETE_ATTEMPTS = 3
# Failures that every remaining item would hit too (the registry went away, credentials
# expired): the run stops instead of retrying each item against a dead registry.
FATAL_ERRORS = (RegistryConnectionError, RegistryTLSError, AuthenticationError)


class JournalError(Exception):
    """The journal could not be written: the run stops before touching the registry."""


class _Stopped(Exception):
    """Internal: the run stopped (or was cancelled) while this item waited for its turn."""


Progress = Callable[[int, int, ItemResult], None]


class _Run(Rechecks):
    def __init__(
        self,
        client: RegistryAPI,
        plan: Plan,
        inventory: Inventory,
        journal: Journal,
        batch: str,
        progress: Progress | None,
        cancel: threading.Event,
        on_step: OnStep | None = None,
    ) -> None:
        self.client = client
        self.on_step = on_step
        self.plan = plan
        self.inventory = inventory
        self.journal = journal
        self.batch = batch
        self.progress = progress
        self.cancel = cancel
        self.stop = threading.Event()
        self.stopped: str | None = None
        self.lock = threading.Lock()
        self.done = 0
        self.total = len(plan.actionable)
        # repository -> tag -> digest as the registry answers *during this run*: learned for
        # every tag right before the repository's first deletion, kept up to date after.
        self._now: dict[str, dict[str, str]] = {}
        self._repo_locks: dict[str, threading.RLock] = {}

    def repo_lock(self, repository: str) -> threading.RLock:
        """Mutations of one repository run one at a time: distribution 2.8 answers 500 when
        DELETEs in the same repository race (each walks every tag of the repository). The
        last check of an item and its DELETE run under the same lock."""
        with self.lock:
            return self._repo_locks.setdefault(repository, threading.RLock())

    def _delete_digest(self, repository: str, digest: str) -> str:
        """DELETE with a bounded retry on 5xx, each retry only after HEAD proves it is still
        there (a lost answer proves nothing either way)."""
        for attempt in range(DELETE_ATTEMPTS):
            try:
                with self.repo_lock(repository):
                    return self.client.delete_manifest(repository, digest)
            except DeletionDisabledError:
                raise
            except ServerError:
                if self.client.head_manifest(repository, digest) is None:
                    return DeleteOutcome.DELETED
                if attempt + 1 == DELETE_ATTEMPTS:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- actions ---------------------------------------------------------------------

    def _void(self, record_id: str) -> None:
        """Void a record of a change that did not happen. If even that cannot be written
        (a full disk), the record stays: restoring it re-pushes what is still there."""
        with contextlib.suppress(OSError):
            self.journal.void(record_id)

    def _record(
        self, item: PlanItem, raw: bytes, media_type: str, tags: list[str], kind: str
    ) -> JournalRecord:
        record = JournalRecord(
            batch=self.batch,
            registry=self.plan.registry,
            repository=item.repository,
            digest=item.digest,
            media_type=media_type,
            manifest=raw,
            tags=tuple(tags),
            kind=kind,
        )
        try:
            self.journal.append(record)
        except OSError as exc:
            raise JournalError(
                f"Cannot write the journal {self.journal.path} ({exc.strerror or exc}): "
                "nothing is deleted without a journal record."
            ) from exc
        return record

    def _delete(self, item: PlanItem) -> ItemResult:
        tags = self._verify_tags(item, item.tags_removed)
        if not tags and item.tags_removed:
            self._forget_tags(item, item.tags_removed)
            raise Gone(f"every planned tag of {item.repository}@{item.digest} is already gone")
        with self.repo_lock(item.repository):
            # The last look and the DELETE under one lock: no other item of this run changes
            # the repository in between, and the journal holds exactly the tags that go.
            self._check_running()
            tags = self._verify_no_other_tags(item, tags)
            raw, media_type = self._verify_manifest(item)
            record = self._record(item, raw, media_type, tags, "delete")
            try:
                outcome = self._delete_digest(item.repository, item.digest)
            except DeletionDisabledError:
                self._void(record.id)
                raise
            except RegistryError:
                # A lost answer proves nothing: look before deciding whether it happened. The
                # record stays either way (the DELETE may have been carried out).
                if self.client.head_manifest(item.repository, item.digest) is not None:
                    raise
                outcome = DeleteOutcome.DELETED
            if outcome == DeleteOutcome.NOT_FOUND:
                # the registry's own answer to the DELETE: it removed nothing
                self._void(record.id)
                self.inventory.remove_digest(item.repository, item.digest)
                raise Gone(f"{item.repository}@{item.digest} was already gone")
            if self.client.head_manifest(item.repository, item.digest) is not None:
                # Accepted, yet it still resolves: report it, and keep the record (restoring
                # a manifest that is still there changes nothing).
                return ItemResult(
                    item,
                    Status.FAILED,
                    f"the registry accepted the DELETE of {item.repository}@{item.digest} "
                    "but the manifest still resolves (its journal record is kept)",
                )
            now = self._now.get(item.repository, {})
            for tag in tags:
                now.pop(tag, None)
            # A tag on a deleted digest is gone with it. One that still resolves was never on
            # it: the registry's HEAD answered a wrong digest. Report it, and keep it out of
            # the journal (a restore would overwrite it with this manifest).
            survivors = [t for t in tags if self.client.head_manifest(item.repository, t)]
            if survivors:
                self._void(record.id)
                gone = [t for t in tags if t not in survivors]
                if gone:
                    self._record(item, raw, media_type, gone, "delete")
                self.inventory.remove_digest(item.repository, item.digest)
                return ItemResult(
                    item,
                    Status.FAILED,
                    f"{item.repository}@{item.digest} was deleted, but "
                    f"{', '.join(survivors)} still resolve: the registry answered a wrong digest "
                    "for them (they were not changed; only "
                    f"{', '.join(gone) or 'no tag'} went)",
                    gone,
                )
        removed = self.inventory.remove_digest(item.repository, item.digest)
        return ItemResult(item, Status.DELETED, "deleted", sorted(set(removed) | set(tags)))

    def _untag(self, item: PlanItem) -> ItemResult:
        tags = self._verify_tags(item, item.selected_tags)
        if not tags:
            self._forget_tags(item, item.selected_tags)
            raise Gone(f"the selected tags of {item.repository}@{item.digest} are already gone")
        raw, media_type = self._verify_manifest(item)
        self._check_running()
        record = self._record(item, raw, media_type, tags, "untag")
        removed: list[str] = []
        touched: list[str] = []  # tags a write may have reached (placeholder PUT sent)
        try:
            for tag in tags:
                self._untag_one(item.repository, tag, raw, media_type, touched)
                self.inventory.remove_tag(item.repository, tag)
                removed.append(tag)
        except RegistryError:
            # Void the record only when no write can have reached the registry: a tag left on
            # a placeholder (its DELETE failed, and so did putting the original back) must be
            # restorable from this record.
            if not removed and not touched:
                self._void(record.id)
            raise
        lost = [t for t in item.tags_kept if self.client.head_manifest(item.repository, t) is None]
        if lost:
            # The registry deleted more than the tag (its delete-by-tag removes the manifest):
            # journal the lost tags too, so `restore` brings back everything that went.
            self._forget_tags(item, lost)
            advice = "undo with `dregtui restore`"
            try:
                self._record(item, raw, media_type, lost, "delete")
            except JournalError as exc:
                advice = f"they are not in the journal ({exc})"
            return ItemResult(
                item,
                Status.FAILED,
                f"the registry also removed {', '.join(lost)}: {advice}",
                [*tags, *lost],
            )
        return ItemResult(item, Status.UNTAGGED, "untagged", tags)

    def _untag_one(
        self, repository: str, tag: str, original: bytes, media_type: str, touched: list[str]
    ) -> None:
        delete_tag = getattr(self.client, "delete_tag", None)
        if delete_tag is not None:
            try:
                with self.repo_lock(repository):
                    removed = delete_tag(repository, tag)
                if removed:
                    return
            except NotFoundError:
                return
        empty = self.client.upload_blob(repository, b"{}")
        doc = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": mediatypes.OCI_EMPTY, "digest": empty, "size": 2},
            "layers": [],
            "annotations": {PLACEHOLDER_ANNOTATION: uuid.uuid4().hex},
        }
        raw = json.dumps(doc, separators=(",", ":")).encode()
        touched.append(tag)
        with self.repo_lock(repository):
            digest = self.client.put_manifest(repository, tag, raw, mediatypes.OCI_MANIFEST)
        ref = self.client.head_manifest(repository, tag)
        if ref is None or ref.digest != digest:
            raise RegistryError(f"{repository}:{tag} changed while it was being untagged.")
        try:
            self._delete_digest(repository, digest)
        except RegistryError:
            # e.g. deletion disabled: point the tag back at the original, never leave it on
            # the placeholder.
            with self.repo_lock(repository):
                self.client.put_manifest(repository, tag, original, media_type)
            touched.remove(tag)  # back on the original: nothing of this tag to restore
            raise

    # -- driver ----------------------------------------------------------------------

    def _check_running(self) -> None:
        """Items wait for their repository's lock: one that gets it after the run stopped
        (the registry went away meanwhile) is not attempted, instead of failing slowly."""
        if self.cancel.is_set() or self.stop.is_set():
            raise _Stopped

    def run_item(self, item: PlanItem) -> ItemResult | None:
        if self.cancel.is_set() or self.stop.is_set():
            return None
        try:
            action = self._delete if item.action is Action.DELETE else self._untag
            with self.client.checking():  # each request on a connection of its own
                result = action(item)
        except _Stopped:
            return None
        except Skip as exc:
            result = ItemResult(item, Status.SKIPPED, str(exc), gone=isinstance(exc, Gone))
        except (DeletionDisabledError, JournalError) as exc:
            with self.lock:
                self.stopped = self.stopped or str(exc)
            self.stop.set()
            result = ItemResult(item, Status.FAILED, str(exc))
        except FATAL_ERRORS as exc:
            with self.lock:
                self.stopped = self.stopped or str(exc)
            self.stop.set()
            result = ItemResult(item, Status.FAILED, str(exc))
        except RegistryError as exc:
            result = ItemResult(item, Status.FAILED, str(exc))
        with self.lock:
            self.done += 1
            done = self.done
        if self.progress is not None:
            self.progress(done, self.total, result)
        if self.on_step is not None:
            self.on_step(Step(DELETING, done, self.total, item.repository, item.digest))
        return result


def execute_plan(
    client: RegistryAPI,
    plan: Plan,
    inventory: Inventory,
    *,
    jobs: int = 4,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    journal: Journal | None = None,
    batch: str | None = None,
    on_step: OnStep | None = None,
) -> ExecutionResult:
    """Carry out ``plan`` (see the module docstring). Never raises for per-item failures."""
    run = _Run(
        client,
        plan,
        inventory,
        journal or Journal(),
        batch or new_id(),
        progress,
        cancel or threading.Event(),
        on_step,
    )
    if on_step is not None and run.total:
        on_step(Step(RECHECKING, 0, run.total))
    result = ExecutionResult(run.batch)
    result.results.extend(ItemResult(i, Status.SKIPPED, i.reason) for i in plan.skipped)
    parents = _planned_parents(plan)
    gone: set[tuple[str, str]] = set()  # deleted by this run, or found already gone
    for phase in _phases(plan, parents):
        ready: list[PlanItem] = []
        for item in phase:
            named = parents.get((item.repository, item.digest), [])
            stays = [p for p in named if (item.repository, p) not in gone]
            if item.referrer_of in stays:
                why = _subject_stays(item)
                result.results.append(ItemResult(item, Status.SKIPPED, why))
            elif stays:
                result.results.append(ItemResult(item, Status.SKIPPED, _parent_stays(stays)))
            else:
                ready.append(item)
        if not ready:
            continue
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(ready)))) as pool:
            outcomes = list(pool.map(run.run_item, ready))
        for item, outcome in zip(ready, outcomes, strict=True):
            if outcome is None:
                result.not_run.append(item)
                continue
            result.results.append(outcome)
            if outcome.status is Status.DELETED or outcome.gone:
                gone.add((item.repository, item.digest))
    result.cancelled = run.cancel.is_set() and bool(result.not_run)
    result.stopped = run.stopped
    return result


def _planned_parents(plan: Plan) -> dict[tuple[str, str], list[str]]:
    """(repository, digest) of each DELETE item -> the indexes of its ``parent_indexes`` this
    plan deletes too, and the subject of a referrer taken along (it goes only after them)."""
    deleting = {(i.repository, i.digest) for i in plan.actionable if i.action is Action.DELETE}
    out: dict[tuple[str, str], list[str]] = {}
    for item in plan.actionable:
        above = [*item.parent_indexes, *([item.referrer_of] if item.referrer_of else [])]
        named = [p for p in above if (item.repository, p) in deleting]
        if named and item.action is Action.DELETE:
            out[(item.repository, item.digest)] = named
    return out


def _phases(plan: Plan, parents: dict[tuple[str, str], list[str]]) -> list[list[PlanItem]]:
    """Indexes first, and an item only after the indexes of this plan that name it: a child
    is never deleted while an index in the plan still references it (nor after that index
    was skipped and stays). Referrers taken along come after everything else, each after its
    subject (a signature of an SBOM after the SBOM), a fallback index before its entries."""
    by_key = {(i.repository, i.digest): i for i in plan.actionable}
    depth: dict[tuple[str, str], int] = {}

    def depth_of(item: PlanItem, seen: frozenset[tuple[str, str]] = frozenset()) -> int:
        key = (item.repository, item.digest)
        if key not in depth:
            above = [by_key[(item.repository, p)] for p in parents.get(key, ())]
            above = [a for a in above if (a.repository, a.digest) not in seen]
            depth[key] = 1 + max((depth_of(a, seen | {key}) for a in above), default=-1)
        return depth[key]

    hops: dict[tuple[str, str], int] = {}

    def hops_of(item: PlanItem) -> int:  # how many subjects above it (0: not a referrer)
        key = (item.repository, item.digest)
        if key not in hops:
            hops[key] = len(by_key)  # a loop (never built by a plan) ends here
            above = by_key.get((item.repository, item.referrer_of))
            hops[key] = (hops_of(above) if above is not None else 0) + bool(item.referrer_of)
        return hops[key]

    phases: dict[tuple[int, bool, int], list[PlanItem]] = {}
    for item in plan.actionable:
        phases.setdefault((hops_of(item), not item.is_index, depth_of(item)), []).append(item)
    return [phases[k] for k in sorted(phases)]


def _parent_stays(indexes: list[str]) -> str:
    named = ", ".join(d[:19] for d in indexes)
    return (
        f"the index {named} that names this manifest was not deleted (it stays): deleting "
        "this manifest would break it"
    )


def _subject_stays(item: PlanItem) -> str:
    return (
        f"the manifest {item.referrer_of[:19]} it refers to was not deleted (it stays): its "
        f"{item.referrer_kind} stays with it"
    )
