"""The Scanner: fills an Inventory from a registry with a pool of worker threads.

Work is split at the tag level: one task fetches a catalog page, one lists a repository's tags,
one resolves a batch of its tags (manifest GETs, or HEADs without sizes: up to the client's
``batch_size`` at once, sent pipelined on its fast lane, and a quarter of the window at most, so
that four batches at least are in flight), one fetches a batch of manifest bodies, each body
once per digest (``sizes=True``, the default: the blobs it references and their sizes; for an index its
children, which are fetched the same way); with ``sizes=False`` only index bodies (to record
their children). Workers take tasks repository by repository in catalog order, so repositories
complete roughly in order and ``on_repository`` fires early; ``prioritize(repo)`` moves a
repository to the front. Used by the CLI and the TUI (from a worker thread).

Pipelining: nothing is fetched ahead of need. The next catalog page is asked for when fewer
repositories wait to be listed than requests may be in flight, a repository's tag list when
fewer tags wait to be resolved than that; both run beside the manifest requests, in the same
window. Requests in flight: at most ``jobs`` (the cap; 64 when None), fewer while round trips
stay short, never fewer than 16 (``window.py``: the window follows the round trip); ``jobs=1``
is one request at a time, the catalog's included.

    scanner = Scanner(client, jobs=None, rate=None, progress=print)
    inventory = scanner.scan()                  # whole registry (catalog)
    inventory = scanner.scan(repositories=[..]) # registries that refuse _catalog
    scanner.scan_repository(inventory, "team/app")

``scan`` raises the first RegistryError a worker hits (after stopping the others). After
``cancel()`` it returns the partial inventory with ``scanned_at`` left at None (incomplete).
A repository that vanished (``tags/list`` 404) ends up with no tags; a tag that vanished
between the list and its HEAD is skipped. Callbacks (``progress``, ``on_repository``) run on
worker threads, one at a time; ``progress`` at most every 0.1 s plus once per repository.
One scan at a time per Scanner: refresh a repository during a full scan with a second Scanner.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dregtui.core.errors import NotFoundError, ProtocolError, RegistryError
from dregtui.core.footprints import Footprint
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import Manifest, ManifestRef
from dregtui.core.referrers import artifact_of
from dregtui.core.textsafe import clean
from dregtui.ops.scan_schedule import (
    FETCH_BODIES,
    LIST_TAGS,
    RESOLVE_TAGS,
    RepositoryScan,
    ScanSchedule,
)
from dregtui.ops.window import InFlightWindow
from dregtui.registry.client import RegistryClient
from dregtui.registry.ratelimit import RateLimiter
from dregtui.state.config import MAX_JOBS

log = logging.getLogger("dregtui.core.inventory")

PROGRESS_INTERVAL = 0.1  # seconds between two progress callbacks (plus one per repository)
DEFAULT_CAP = 64  # requests in flight at most when no --jobs is given (the window decides below)


@dataclass(frozen=True, slots=True)
class ScanProgress:
    repositories_total: int
    repositories_done: int
    tags_total: int  # tags known so far (grows as repositories are listed)
    tags_done: int
    elapsed: float
    rate: float  # tags per second
    eta: float | None  # seconds, estimated; None when unknown
    current: str | None  # the repository most recently worked on
    finished: bool = False


class ScanCancelled(RegistryError):
    """Raised inside workers to unwind after ``cancel()``; never escapes ``scan``."""


class Scanner(ScanSchedule):
    def __init__(
        self,
        client: RegistryClient,
        *,
        jobs: int | None = None,
        rate: float | None = None,
        progress: Callable[[ScanProgress], None] | None = None,
        on_repository: Callable[[str], None] | None = None,
        warn: Callable[[str], None] | None = None,
        sizes: bool = True,
    ) -> None:
        self.client = client
        self.sizes = sizes
        self.warn = warn or log.warning
        self.skipped: list[str] = []  # catalog entries that are not valid repository names
        # the cap on requests in flight (and the worker threads); the window decides below it
        self.jobs = min(MAX_JOBS, max(1, int(jobs))) if jobs is not None else DEFAULT_CAP
        self.window = InFlightWindow(self.jobs)
        self.rate = rate
        self.progress = progress
        self.on_repository = on_repository
        self._cancel = threading.Event()
        # The client's own limiter (make_client(rate=...)) covers every request; this one is
        # for library callers that hand a rate to the scanner only.
        self._limiter = RateLimiter(rate) if rate else None
        self._cond = threading.Condition()
        self._callback_lock = threading.Lock()
        self._reset()

    # -- public control -------------------------------------------------------------------

    def _throttle(self) -> None:
        if self._limiter is not None and not self._limiter.acquire(self._cancel):
            raise ScanCancelled("The scan was cancelled.")

    def cancel(self) -> None:
        """Stop the running scan promptly (between requests)."""
        self._cancel.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def prioritize(self, repository: str) -> None:
        """Scan ``repository`` next (the TUI user just opened it)."""
        with self._cond:
            state = self._states.get(repository)
            if state is None or (state.listed and not state.pending) or repository in self._urgent:
                return  # unknown, already done, or already first
            self._urgent.appendleft(repository)
            self._cond.notify()

    # -- scans ----------------------------------------------------------------------------

    def scan(
        self, inventory: Inventory | None = None, repositories: Iterable[str] | None = None
    ) -> Inventory:
        """Scan the whole registry (or the named repositories) into ``inventory``."""
        inventory = inventory if inventory is not None else Inventory(self.client.base_url)
        inventory.scanned_at = None
        seen = self._run(inventory, list(repositories) if repositories is not None else None)
        if self._cancel.is_set():
            return inventory
        for stale in set(inventory.repositories) - seen:
            inventory.remove_repository(stale)
        inventory.mark_scanned()
        return inventory

    def scan_repository(self, inventory: Inventory, repository: str) -> None:
        """Rescan one repository (after a deletion, or on the user's request)."""
        self._run(inventory, [repository])

    # -- machinery ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._reset_queue()
        self._seen: set[str] = set()
        self._error: BaseException | None = None
        self._body_seen: set[str] = set()
        # entries of fallback indexes (with an artifactType): the referrer graph warns of a
        # missing one (dregtui/core/referrers.py), the scan does not say it twice
        self._listed_referrers: set[str] = set()
        self._repos_done = 0
        self._repos_listed = 0
        self._tags_total = 0
        self._tags_done = 0
        self._current: str | None = None
        self._started = time.monotonic()
        self._last_progress = 0.0

    def _run(self, inventory: Inventory, names: list[str] | None) -> set[str]:
        """Scan ``names``, or the catalog (fetched page by page as the scan needs names)."""
        self._cancel.clear()
        with self._cond:
            self._reset()
            self.window = InFlightWindow(self.jobs)
        self._inventory = inventory
        if names is None:
            self._pages = self.client.iter_catalog_pages()
        else:
            self._add_repositories(names)
            self._catalog_done = True
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="dregtui-scan") as pool:
            workers = [pool.submit(self._worker) for _ in range(self.jobs)]
            try:
                for future in workers:
                    future.result()
            except BaseException:  # Ctrl-C while waiting: stop the workers, then re-raise
                self.cancel()
                raise
        if self._error is not None and not isinstance(self._error, ScanCancelled):
            raise self._error
        self._emit_progress(force=True, finished=not self._cancel.is_set())
        return self._seen

    def _add_repositories(self, names: Iterable[str]) -> None:
        """New catalog names (or the named repositories): each one to be listed, in order."""
        fresh: list[str] = []
        for name in names:
            if name in self._seen:
                continue
            self._seen.add(name)
            if self._valid_name(name):
                fresh.append(name)
        self._inventory.add_repositories(fresh)
        with self._cond:
            for name in fresh:
                state = RepositoryScan(name)
                self._states[name] = state
                self._unlisted.append(state)

    def _valid_name(self, name: str) -> bool:
        """A catalog entry the client refuses (``evil/../dotdot``): one warning, skipped."""
        try:
            self.client._repo_path(name)
        except RegistryError:
            self.skipped.append(name)
            self.warn(f"skipping {clean(name)!r}: not a valid repository name.")
            return False
        return True

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            if self._error is None:
                self._error = exc
            self._cancel.set()
            self._cond.notify_all()

    def _worker(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                return
            state, kind, args = task
            try:
                if state is None:
                    self._catalog_page()
                elif kind == LIST_TAGS:
                    self._list(state)
                elif kind == RESOLVE_TAGS:
                    self._heads(state, args)
                else:
                    self._bodies(state, args)
            except BaseException as exc:
                self._fail(exc)
            finally:
                with self._cond:
                    self._running -= len(args)
                    self._wake()

    def _catalog_page(self) -> None:
        self._throttle()
        assert self._pages is not None
        page = next(self._pages, None)
        if page is not None:
            self._add_repositories(page)
        with self._cond:
            self._catalog_busy = False
            if page is None:
                self._pages = None
                self._catalog_done = True
                self._cond.notify_all()

    def _sample(self, started: float) -> None:
        """Called with the lock held: one manifest request's round trip, for the window."""
        grown = self.window.sample(time.monotonic() - started)
        if grown > 0:
            self._cond.notify(grown)

    def _list(self, state: RepositoryScan) -> None:
        self._throttle()
        tags = self.client.list_tags(state.name)
        with self._cond:
            state.listed = True
            self._repos_listed += 1
            state.outstanding = len(tags)
            self._add_tasks(state, ((RESOLVE_TAGS, tag) for tag in tags), first=False)
            self._tags_total += len(tags)
            self._current = state.name
        if not tags:
            self._complete(state)

    def _heads(self, state: RepositoryScan, tags: list[str]) -> None:
        """Where each of ``tags`` points. With sizes, one GET instead of the HEAD: the same
        round trip brings the body, so a tag costs one request either way (index children,
        which no tag names, are the only extra requests). The batch goes out pipelined
        (``client.batch_size``)."""
        if self._cancel.is_set():
            return
        for _ in tags:
            self._throttle()
        started = time.monotonic()
        results: Sequence[Manifest | ManifestRef | None | RegistryError]
        if self.sizes:
            results = self.client.get_manifests(state.name, tags)
        else:
            results = self.client.head_manifests(state.name, tags)
        elapsed = time.monotonic() - started
        for tag, result in zip(tags, results, strict=True):
            manifest: Manifest | None = None
            unreadable = False
            if isinstance(result, NotFoundError):
                ref: ManifestRef | None = None
            elif isinstance(result, ProtocolError) and self.sizes:
                # an unreadable body: the digest from a HEAD
                self._unreadable(state, tag, result)
                ref = self.client.head_manifest(state.name, tag)
                unreadable = True
            elif isinstance(result, RegistryError):
                raise result
            elif isinstance(result, Manifest):
                manifest = result
                ref = ManifestRef(result.digest, result.media_type)
            else:
                ref = result
            self._resolved(state, tag, ref, manifest, None if unreadable else elapsed)

    def _resolved(
        self,
        state: RepositoryScan,
        tag: str,
        ref: ManifestRef | None,
        manifest: Manifest | None,
        elapsed: float | None,
    ) -> None:
        """One tag resolved (``ref`` None: it vanished between the list and its request);
        ``elapsed``, its batch's round trip, for the window (None: not a sample)."""
        with self._cond:
            if elapsed is not None:
                self._sample(elapsed)
            if ref is not None:  # None: the tag vanished between list and HEAD
                # interned: a digest many tags share, and each media type, is one string
                state.tags[tag] = TagInfo(sys.intern(ref.digest), sys.intern(ref.media_type))
                if elapsed is None:  # unreadable, said once: its body is not asked for again
                    self._body_seen.add(ref.digest)
                elif self._wants_body(ref.digest, ref.media_type):
                    if manifest is not None:
                        self._absorb(state, manifest)
                    else:
                        self._add_tasks(state, [(FETCH_BODIES, ref.digest)], first=True)
            state.outstanding -= 1
            self._tags_done += 1
            done = state.outstanding == 0
        if done:
            self._complete(state)
        else:
            self._emit_progress()

    def _wants_body(self, digest: str, media_type: str) -> bool:
        """Called with the lock held: True once per digest whose body the scan needs."""
        if digest in self._body_seen or not (self.sizes or mediatypes.is_index(media_type)):
            return False
        self._body_seen.add(digest)
        return True

    def _unreadable(self, state: RepositoryScan, reference: str, exc: ProtocolError) -> None:
        self.warn(f"{clean(state.name)}@{clean(reference)}: {exc} Its size is unknown.")

    def _bodies(self, state: RepositoryScan, wanted: list[str]) -> None:
        for _ in wanted:
            self._throttle()
        started = time.monotonic()
        results = self.client.get_manifests(state.name, wanted)
        elapsed = time.monotonic() - started
        for digest, result in zip(wanted, results, strict=True):
            if isinstance(result, NotFoundError):
                if digest in self._listed_referrers:
                    continue
                # an index's child the registry does not have (a tag's vanished body is a
                # race the scan of the tag already reported as gone)
                self.warn(
                    f"{clean(state.name)}@{clean(digest)}: an index refers to it but the "
                    "registry does not have it; its size is unknown."
                )
            elif isinstance(result, ProtocolError):
                self._unreadable(state, digest, result)
            elif isinstance(result, RegistryError):
                raise result
            else:
                with self._cond:
                    self._sample(elapsed)
                    self._absorb(state, result)

    def _absorb(self, state: RepositoryScan, manifest: Manifest) -> None:
        """Called with the lock held: a manifest body's footprint and, for an index, its
        children (whose bodies are fetched next)."""
        intern = sys.intern
        digest = manifest.digest
        artifact = artifact_of(manifest)
        if artifact is not None:  # a referrer (subject) or an artifact: the graph's edges
            self._inventory.set_artifact(digest, artifact)
        if manifest.is_index:
            refs = manifest.manifests
            self._inventory.set_children(digest, (d.digest for d in refs))
        else:
            layers = manifest.layers
            foreign = [d for d in layers if d.media_type in mediatypes.FOREIGN_LAYERS]
            if foreign:
                layers = tuple(d for d in layers if d not in foreign)
                self.warn(
                    f"{clean(state.name)}@{clean(digest)}: {len(foreign)} foreign layer(s) "
                    "(not stored in this registry) left out of its size."
                )
            refs = ((manifest.config,) if manifest.config else ()) + layers
        if self.sizes:
            footprint = Footprint.of(len(manifest.raw), ((intern(d.digest), d.size) for d in refs))
            self._inventory.set_footprint(digest, footprint)
        if manifest.is_index:  # children (images, or inner indexes): their bodies too
            self._listed_referrers.update(d.digest for d in manifest.manifests if d.artifact_type)
            wanted = [  # and a fallback index's referrers (their subject proves the edge)
                (FETCH_BODIES, child.digest)
                for child in manifest.manifests
                if self._wants_body(
                    child.digest, mediatypes.OCI_INDEX if child.artifact_type else child.media_type
                )
            ]
            self._add_tasks(state, reversed(wanted), first=True)

    def _complete(self, state: RepositoryScan) -> None:
        if self._cancel.is_set():
            return
        self._inventory.set_repository(state.name, state.tags)
        with self._cond:
            self._repos_done += 1
            self._current = state.name
        if self.on_repository is not None:
            with self._callback_lock:
                self.on_repository(state.name)
        self._emit_progress(force=True)

    def snapshot(self, finished: bool = False) -> ScanProgress:
        with self._cond:
            elapsed = max(time.monotonic() - self._started, 1e-6)
            rate = self._tags_done / elapsed
            repos_total = len(self._states)
            listed = self._repos_listed or 1
            estimate = self._tags_total * repos_total / listed if repos_total else 0
            remaining = max(estimate - self._tags_done, 0)
            settled = elapsed >= 0.5 and self._tags_done >= 2 * self.window.limit
            eta = remaining / rate if rate > 0 and settled else None
            return ScanProgress(
                repositories_total=repos_total,
                repositories_done=self._repos_done,
                tags_total=self._tags_total,
                tags_done=self._tags_done,
                elapsed=elapsed,
                rate=rate,
                eta=0.0 if finished else eta,
                current=self._current,
                finished=finished,
            )

    def _emit_progress(self, force: bool = False, finished: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        snap = self.snapshot(finished)
        with self._callback_lock:
            self.progress(snap)
