"""DregApp: browse a registry, see who shares a digest, mark tags, delete them safely.

The App keeps what outlives a screen: the registry client, the session (inventory, marks,
filters, details, what the App is doing with the inventory), the scan and its workers, saving
the cache, and the quit guard. The main screen (:mod:`dregtui.tui.screens.main`) is given what
it needs when it is made, and asks for scans with messages; the tags pane loads its own
details; a progress screen runs a deletion or a restore.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from dregtui.core.errors import RegistryError
from dregtui.core.inventory import Inventory
from dregtui.core.textsafe import clean
from dregtui.ops.imagefacts import ImageFacts
from dregtui.ops.scanner import Scanner
from dregtui.ops.tag_changes import TagChanges
from dregtui.registry.client import RegistryClient
from dregtui.state.cache_format import CacheHeader
from dregtui.tui import messages as msg
from dregtui.tui.details import DetailsCache
from dregtui.tui.screens.ask import AskScreen
from dregtui.tui.screens.main import MainScreen
from dregtui.tui.session import Session
from dregtui.tui.text import counted

# What a failed worker was doing, by worker group (one place for every worker's failure).
FAILED = {
    "scan": "Scanning the registry failed",
    "rescan": "Rescanning failed",
    "details": "Loading manifest details failed",
    "dates": "Loading created dates failed",
    "delete": "Deleting failed",
    "restore": "Restoring failed",
    "storage": "Reading the registry's storage failed",
}


class DregApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "dregtui"
    ENABLE_COMMAND_PALETTE = True
    NOTIFICATION_TIMEOUT = 3  # toasts cover the status bar's end at 80 columns: keep them short
    DEFAULT_MODE = "main"  # the first screen is the main screen (made in __init__, below)

    def __init__(
        self,
        client: RegistryClient | None,
        *,
        inventory: Inventory | None = None,
        registry: str | None = None,
        dry_run: bool = False,
        scan: bool = True,
        jobs: int = 8,
        scan_jobs: int | None = None,
        save_cache: Callable[[Inventory, bool], None] | None = None,
        whole_catalog: bool | None = None,
        keymap: dict[str, str] | None = None,
        theme: str | None = None,
        settings: Any = None,
        details: Iterable[ImageFacts] = (),
        repositories: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        cached: CacheHeader | None = None,
        load_cache: Callable[[Callable[[str], None]], Inventory | None] | None = None,
    ) -> None:
        """``cached`` and ``load_cache``: a warm start. The tree is drawn from the cache's
        header at once; ``load_cache(warn)`` reads the rest in a worker (None: unusable, then
        the registry is scanned)."""
        super().__init__()
        url = (
            registry
            or (client.base_url if client else "")
            or (inventory.registry if inventory else "")
        )
        self.client = client
        self.session = Session(
            url,
            inventory if inventory is not None else Inventory(url),
            details=DetailsCache({d.digest: d for d in details}),
        )
        if settings is not None and (settings.storage or settings.registry_config):
            self.session.storage.given = True  # read once the inventory is in
        self.dry_run = dry_run
        self.jobs = jobs  # detail lookups in parallel
        # the scan's cap on requests in flight: ``jobs`` unless told (the CLI passes -j, or
        # the scanner's default cap without it)
        self.scan_jobs = scan_jobs if scan_jobs is not None else jobs
        self.save_cache = save_cache
        # the inventory covers the whole catalog (not only --repositories): saved with the cache
        self.whole_catalog = repositories is None if whole_catalog is None else whole_catalog
        self.settings = settings
        self.fixed_repositories = repositories
        self.clock = clock
        self.user_keymap = dict(keymap or {})
        self._theme_name = theme
        session = self.session
        self.load_cache = load_cache if cached is not None else None
        session.loading_cache = self.load_cache is not None
        if cached is not None and session.loading_cache:
            session.inventory.add_repositories(cached.repositories)
            session.status_message = f"loading the cache: {cached.counts['tags']:,} tags…"
        self.scan_allowed = scan
        scanned = inventory is not None and bool(inventory.scanned)
        session.from_cache = session.loading_cache or scanned
        session.scans_on_start = scan and client is not None and not session.from_cache
        self.scanner: Scanner | None = None
        self.rescanner: Scanner | None = None
        self.main = MainScreen(
            session,
            client=client,
            settings=settings,
            clock=clock,
            jobs=jobs,
            dry_run=dry_run,
            store_inventory=self.store_inventory,
        )
        self._modes[self.DEFAULT_MODE] = lambda: self.main

    def on_mount(self) -> None:
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if self._theme_name:
            try:
                self.theme = self._theme_name
            except Exception:  # noqa: BLE001 - an unknown theme name must not stop the app
                self.notify(
                    f"Unknown theme {clean(self._theme_name)!r}.", severity="warning", markup=False
                )
        if self.session.scans_on_start:
            self.run_scan()
        elif self.session.loading_cache:
            self._load_cache()

    # -- what scripts and the command line read and set (the state is the session's) --------

    @property
    def loading_cache(self) -> bool:
        return self.session.loading_cache

    @property
    def from_cache(self) -> bool:
        return self.session.from_cache

    @property
    def status_message(self) -> str:
        return self.session.status_message

    @status_message.setter
    def status_message(self, text: str) -> None:
        self.session.status_message = text

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_cache(self) -> None:
        """Read the cache in the background; the indexes the panes ask for are built here too
        (a million tags: seconds the UI thread never waits for)."""
        assert self.load_cache is not None
        warnings: list[str] = []
        inventory = None
        try:
            inventory = self.load_cache(warnings.append)
            if inventory is not None:
                inventory.build_indexes()
        except Exception as exc:  # noqa: BLE001 - the registry is scanned instead
            warnings.append(f"Loading the cache failed ({type(exc).__name__}: {exc}); scanning.")
        finally:
            self.session.loading_cache = False
        self.main.post_message(msg.CacheLoaded(inventory, " ".join(warnings)))

    def on_cache_unusable(self) -> None:
        """The cache's rest was damaged (the screen said so): scan as without a cache."""
        self.session.from_cache = False
        if self.scan_allowed and self.client is not None:
            self.run_scan()

    # -- the panes, for scripts and tests -------------------------------------------------

    @property
    def tag_list(self) -> Any:
        return self.main.tag_list

    @property
    def repo_tree(self) -> Any:
        return self.main.repo_tree

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from dregtui.tui.commands import palette_commands

        yield from super().get_system_commands(screen)
        if screen is self.main:
            yield from palette_commands(self, self.main)

    # -- scanning -------------------------------------------------------------------

    def _scanner(self, **callbacks: Any) -> Scanner:
        assert self.client is not None
        return Scanner(self.client, jobs=self.scan_jobs, **callbacks)

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def run_scan(self) -> None:
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
        post = self.main.post_message
        post(msg.CatalogLoaded(names))
        scanner = self._scanner(
            progress=lambda p: post(
                msg.ScanProgress(
                    p.repositories_done,
                    p.repositories_total,
                    tags=p.tags_done,
                    rate=p.rate,
                    tags_total=p.tags_total,
                )
            ),
            on_repository=lambda repo: post(msg.RepositoryScanned(repo)),
        )
        self.scanner = scanner
        try:
            scanner.scan(inventory, repositories=names)
        finally:
            self.scanner = None
            self.session.from_cache = False
            post(msg.ScanProgress(0, 0, finished=True))
        if not worker.is_cancelled and inventory.scanned_at:
            # a scan of named repositories drops the others: it no longer covers the catalog
            self.whole_catalog = self.fixed_repositories is None
            self.store_inventory()

    def on_rescan_all(self) -> None:
        if self.client is None or self.session.loading_cache:
            return
        if self.scanner is not None:
            self.scanner.cancel()
        self.run_scan()

    def on_scan_first(self, message: msg.ScanFirst) -> None:
        if self.client is None or self.session.loading_cache:
            return
        if self.scanner is not None:
            self.scanner.prioritize(message.repository)
        else:
            self.rescan_repository(message.repository)

    def on_rescan_repository(self, message: msg.RescanRepository) -> None:
        if self.client is not None:
            self.rescan_repository(message.repository)

    @work(thread=True, exclusive=True, exit_on_error=False, group="rescan")
    def rescan_repository(self, repository: str) -> None:
        post = self.main.post_message
        scanner = self._scanner(
            progress=lambda p: post(msg.RescanProgress(repository, p.tags_done, p.tags_total)),
            on_repository=lambda r: None,
        )
        self.rescanner = scanner
        try:
            scanner.scan_repository(self.session.inventory, repository)
        finally:
            self.rescanner = None
        if scanner.cancelled:
            return
        self.main.post_message(msg.RepositoryScanned(repository))
        self.store_inventory()

    def store_inventory(self, changes: TagChanges | None = None) -> None:
        """Write the inventory to the cache (any thread) when it holds a complete scan.

        ``changes``: what a deletion or a restore just changed. While a scan runs the
        inventory is incomplete and cannot replace the cache; the changes are then applied to
        the cache on disk (``save_cache.patch(changes)``, when the writer has it), so the
        command line never lists a tag the TUI deleted."""
        inventory = self.session.inventory
        if self.save_cache is None:
            return
        if inventory.scanned_at:
            self.save_cache(inventory, self.whole_catalog)
        elif changes and (patch := getattr(self.save_cache, "patch", None)) is not None:
            patch(changes)

    # -- quitting -------------------------------------------------------------------

    def registry_work_running(self) -> str:
        """'deleting' or 'restoring' while that worker runs (quitting would cut it), else ''."""
        for worker in self.workers:
            if worker.group in ("delete", "restore") and not worker.is_finished:
                return "deleting" if worker.group == "delete" else "restoring"
        return ""

    async def action_quit(self) -> None:
        """Never in the middle of a deletion or restore; marks are not dropped without a
        yes (q, ctrl+q and the palette's quit all come here)."""
        if busy := self.registry_work_running():
            self.notify(f"Still {busy}: q quits once it is done.", severity="warning")
            return
        marks = self.session.mark_total()
        if not marks:
            await self.quit_now()
            return
        if isinstance(self.screen, AskScreen):
            return  # already asking

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.quit_now()

        question = f"Quit and drop {counted(marks, 'mark')}? y/n"
        self.push_screen(AskScreen(question, "n keeps them: d deletes, c clears."), answered)

    async def quit_now(self) -> None:
        """Stop the scanners first: their threads would otherwise hold the exit up."""
        for scanner in (self.scanner, self.rescanner):
            if scanner is not None:
                scanner.cancel()
        await super().action_quit()

    # -- one place for worker failures --------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        error = worker.error
        what = FAILED.get(worker.group, "A background task failed")
        if isinstance(error, RegistryError):
            text = f"{what}: {error}"
        else:
            text = f"{what}: {type(error).__name__}: {error}"
        self.notify(clean(text), title="Error", severity="error", timeout=10, markup=False)
        with contextlib.suppress(Exception):  # the main screen may be gone (shutting down)
            self.main.show_message("")
            if worker.group == "scan":
                self.main.on_scan_progress(msg.ScanProgress(0, 0, finished=True))

    # -- called from other threads ----------------------------------------------------------

    def call_when_running(self, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback`` on the UI thread once the app runs (waits up to 10 s); else drop it."""
        deadline = time.monotonic() + 10
        while not self.is_running and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.is_running:
            with contextlib.suppress(RuntimeError):  # the app stopped meanwhile
                self.call_from_thread(callback, *args)

    def demo_fill_done(self, repository: str, error: Exception | None) -> None:
        self.main.show_message("")
        if error is not None:
            self.notify(
                clean(f"Filling {repository} failed: {error}"), severity="error", markup=False
            )
        elif self.client is not None:
            self.rescan_repository(repository)
