"""Every registry call of the TUI runs here, in thread workers that report with messages."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker, WorkerState, get_current_worker

from dregtui.registry.errors import RegistryError
from dregtui.tui import backend
from dregtui.tui import messages as msg
from dregtui.tui.details import Details, fetch_details
from dregtui.tui.text import clean

if TYPE_CHECKING:
    from dregtui.tui.app import DregApp

DETAIL_BATCH = 4
DATE_JOBS = 16  # at most this many manifest requests at once for the date order


class WorkersMixin:
    """Mixed into DregApp: scan, details, rescan, delete and restore workers."""

    _details_queue: list[tuple[str, str]]
    _details_lock: threading.Lock
    _details_running: bool

    def _init_workers(self: DregApp) -> None:
        self._details_queue = []
        self._details_lock = threading.Lock()
        self._details_running = False  # one details worker at a time

    # -- scanning -------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def run_scan(self: DregApp, full: bool = True) -> None:
        """Catalog first (the tree fills at once), then tags in the background."""
        assert self.client is not None
        worker = get_current_worker()
        inventory = self.session.inventory
        if self.fixed_repositories is not None:
            names = list(self.fixed_repositories)
        else:
            names = self.client.list_repositories()
        if worker.is_cancelled:
            return
        self.post_message(msg.CatalogLoaded(names))
        scanner = backend.make_scanner(
            self.client,
            self.jobs,
            progress=lambda p: self.post_message(
                msg.ScanProgress(
                    p.repositories_done, p.repositories_total, tags=p.tags_done, rate=p.rate
                )
            ),
            on_repository=lambda repo: self.post_message(msg.RepositoryScanned(repo)),
        )
        self.scanner = scanner
        try:
            scanner.scan(inventory, repositories=names)
        finally:
            self.scanner = None
            self.post_message(msg.ScanProgress(0, 0, finished=True))
        if not worker.is_cancelled and inventory.scanned_at:
            # a scan of named repositories drops the others: it no longer covers the catalog
            self.whole_catalog = self.fixed_repositories is None
            self.store_inventory()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rescan")
    def rescan_repository(self: DregApp, repository: str) -> None:
        assert self.client is not None
        scanner = backend.make_scanner(
            self.client, self.jobs, progress=lambda p: None, on_repository=lambda r: None
        )
        self.rescanner = scanner
        try:
            scanner.scan_repository(self.session.inventory, repository)
        finally:
            self.rescanner = None
        if scanner.cancelled:
            return
        self.post_message(msg.RepositoryScanned(repository))
        self.store_inventory()

    # -- details (size, created, labels) for visible rows -------------------------------

    def queue_details(self: DregApp, repository: str, digests: list[str]) -> None:
        """Fetch these details (newest request first) in the one details worker."""
        with self._details_lock:
            self._details_queue.extend((repository, d) for d in digests)
            if self._details_running:
                return  # the running worker picks them up
            self._details_running = True
        self.fetch_details_worker()

    @work(thread=True, exit_on_error=False, group="details")
    def fetch_details_worker(self: DregApp) -> None:
        assert self.client is not None
        worker = get_current_worker()
        batch = []
        try:
            while not worker.is_cancelled:
                with self._details_lock:
                    if not self._details_queue:
                        self._details_running = False
                        break
                    repository, digest = self._details_queue.pop()  # newest request first
                if digest in self.session.details:
                    continue
                batch.append(fetch_details(self.client, repository, digest))
                if len(batch) >= DETAIL_BATCH:
                    self.post_message(msg.DetailsLoaded(batch))
                    batch = []
        finally:
            with self._details_lock:
                self._details_running = False
        if batch:
            self.post_message(msg.DetailsLoaded(batch))

    # -- created dates of a whole repository (sort by date) -------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="dates")
    def fetch_dates_worker(self: DregApp, repository: str, digests: list[str]) -> None:
        """Details of every digest, ``jobs`` requests at a time; cancellable (esc, sort, leave)."""
        assert self.client is not None
        client = self.client
        worker = get_current_worker()
        todo = iter(digests)
        total, done = len(digests), 0
        batch: list[Details] = []
        sent = time.monotonic()
        self.post_message(msg.DatesProgress(repository, 0, total))
        jobs = max(1, min(self.jobs, DATE_JOBS))
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dregtui-dates")
        running: set[Future[Details]] = set()
        try:
            while not worker.is_cancelled:
                while len(running) < jobs and (digest := next(todo, None)):
                    running.add(pool.submit(fetch_details, client, repository, digest))
                if not running:
                    break
                finished, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch.append(future.result())  # errors are data (Details.error)
                done += len(finished)
                if batch and (time.monotonic() - sent > 0.5 or not running):
                    self.post_message(msg.DetailsLoaded(batch))
                    self.post_message(msg.DatesProgress(repository, done, total))
                    batch, sent = [], time.monotonic()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if batch:
                self.post_message(msg.DetailsLoaded(batch))
            self.post_message(msg.DatesProgress(repository, done, total, finished=True))

    def cancel_dates(self: DregApp) -> bool:
        """Stop fetching dates; True if a fetch was running."""
        running = [w for w in self.workers if w.group == "dates" and w.is_running]
        for worker in running:
            worker.cancel()
        return bool(running)

    # -- one place for worker failures --------------------------------------------------

    def on_worker_state_changed(self: DregApp, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        error: Any = worker.error
        what = {
            "scan": "Scanning the registry failed",
            "rescan": "Rescanning failed",
            "details": "Loading manifest details failed",
            "dates": "Loading created dates failed",
            "delete": "Deleting failed",
            "restore": "Restoring failed",
        }.get(worker.group, "A background task failed")
        if isinstance(error, RegistryError):
            text = f"{what}: {error}"
        else:
            text = f"{what}: {type(error).__name__}: {error}"
        self.query_one("#status").message = ""  # type: ignore[attr-defined]
        self.notify(clean(text), title="Error", severity="error", timeout=10, markup=False)
        if worker.group == "scan":
            self.on_scan_progress(msg.ScanProgress(0, 0, finished=True))
