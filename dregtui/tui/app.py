"""DregApp: browse a registry, see who shares a digest, mark tags, delete them safely."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static, Tree

from dregtui.inventory.model import Inventory
from dregtui.registry.client import RegistryClient
from dregtui.tui import messages as msg
from dregtui.tui.actions import ActionsMixin
from dregtui.tui.deletion import DeletionMixin
from dregtui.tui.details import Details, DetailsCache
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.session import Session
from dregtui.tui.text import clean
from dregtui.tui.widgets.digest_pane import DigestPane
from dregtui.tui.widgets.filter_input import FilterInput
from dregtui.tui.widgets.footer import NARROW, DregFooter
from dregtui.tui.widgets.repo_tree import RepoTree
from dregtui.tui.widgets.reverse_panel import ReversePanel
from dregtui.tui.widgets.status_bar import StatusBar
from dregtui.tui.widgets.tag_list import TagList
from dregtui.tui.workers import WorkersMixin

SHORT = 30  # rows at or below which the digest/shared-by area shrinks while the tags have focus


class DregApp(WorkersMixin, DeletionMixin, ActionsMixin, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "dregtui"
    ENABLE_COMMAND_PALETTE = True
    NOTIFICATION_TIMEOUT = 3  # toasts cover the status bar's end at 80 columns: keep them short

    # The footer shows the keys of everyday work (it must fit 80 columns); every binding is in
    # the help screen (?) and the command palette.
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding(
            "m",
            "mark_matching",
            "Mark matching",
            tooltip="Mark every tag the filter shows",
            id="app.mark_matching",
        ),
        Binding(
            "d", "delete", "Delete", tooltip="Delete the marked tags (plan first)", id="app.delete"
        ),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("c", "clear_marks", "Clear marks", show=False, id="app.clear_marks"),
        Binding("s", "sort", "Sort: version, name, date", show=False, id="app.sort"),
        Binding("v", "toggle_reverse", "Shared by / digest", show=False, id="app.toggle_reverse"),
        Binding("r", "rescan", "Rescan repository", show=False, id="app.rescan"),
        Binding("R", "rescan_all", "Rescan all", show=False, id="app.rescan_all"),
        Binding("P", "save_profile", "Save registry as profile", show=False, id="app.save_profile"),
        Binding(
            "escape",
            "escape",
            "Back: close or clear the filter, stop loading dates, back to the tags",
            show=False,
            id="app.escape",
        ),
    ]

    def __init__(
        self,
        client: RegistryClient | None,
        *,
        inventory: Inventory | None = None,
        registry: str | None = None,
        dry_run: bool = False,
        scan: bool = True,
        jobs: int = 8,
        save_cache: Callable[[Inventory, bool], None] | None = None,
        whole_catalog: bool | None = None,
        keymap: dict[str, str] | None = None,
        theme: str | None = None,
        settings: Any = None,
        details: Iterable[Details] = (),
        repositories: list[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._init_workers()
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
        self.dry_run = dry_run
        self.scan_on_start = scan
        self.jobs = jobs
        self.save_cache = save_cache
        # the inventory covers the whole catalog (not only --repositories): saved with the cache
        self.whole_catalog = repositories is None if whole_catalog is None else whole_catalog
        self.settings = settings
        self.fixed_repositories = repositories
        self.clock = clock
        self.user_keymap = dict(keymap or {})
        self._theme_name = theme
        self.from_cache = inventory is not None and bool(inventory.scanned)
        self.scanner: Any = None
        self.rescanner: Any = None
        self.show_reverse_narrow = False
        self.status_message = ""
        self._last_resort = 0.0

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield RepoTree(self.session, id="repos")
            with Vertical(id="right"):
                with Vertical(id="tags-pane"):
                    yield Static(id="tags-header")
                    yield TagList(self.session, id="tags")
                with Horizontal(id="lower"):
                    yield DigestPane(id="digest")
                    yield ReversePanel(id="reverse")
        yield FilterInput(
            id="filter", placeholder="filter: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        yield StatusBar(self.session, id="status")
        yield DregFooter()

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
        self.query_one("#repos", RepoTree).border_title = "repositories"
        self.query_one("#digest", DigestPane).border_title = "digest"
        self.query_one("#reverse", ReversePanel).border_title = "shared by"
        self.query_one("#filter", Input).display = False
        self._apply_layout(self.size.width)
        scanning = self.scan_on_start and self.client is not None and not self.from_cache
        self.repo_tree.catalog_pending = scanning
        self.refresh_tree()
        self.query_one("#status", StatusBar).message = self.status_message
        self.update_status()
        self.query_one("#repos", RepoTree).focus()
        if self.scan_on_start and self.client is not None and not self.from_cache:
            self.run_scan()

    def on_resize(self, event: Any) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int | None = None) -> None:
        narrow = width < NARROW
        height = self.size.height if height is None else height
        self.screen.set_class(height <= SHORT, "-short")  # lower area small until focused
        self.screen.set_class(narrow, "-narrow")
        self.screen.set_class(narrow and self.show_reverse_narrow, "-show-reverse")
        self.query_one("#digest").border_subtitle = "v: shared by" if narrow else ""
        self.query_one("#reverse").border_subtitle = "v: digest" if narrow else ""
        self._update_tags_header()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """On a pushed screen (confirm, progress, result, help) the main-screen keys rest."""
        if self.screen is self.screen_stack[0] or action.startswith("app."):
            return True
        if action == "quit":
            return not isinstance(self.screen, ProgressScreen)
        return action in (
            "command_palette",
            "help_quit",
            "toggle_dark",
            "screenshot",
            "bell",
            "focus_next",
            "focus_previous",
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from dregtui.tui.commands import palette_commands

        yield from super().get_system_commands(screen)
        yield from palette_commands(self)

    async def _on_message(self, message: Message) -> None:
        """A message still queued while the app shuts down may find its panes gone."""
        try:
            await super()._on_message(message)
        except NoMatches:
            if self.is_running:
                raise

    # -- panes ----------------------------------------------------------------------

    @property
    def repo_tree(self) -> RepoTree:
        return self.query_one("#repos", RepoTree)

    @property
    def tag_list(self) -> TagList:
        return self.query_one("#tags", TagList)

    def refresh_tree(self) -> None:
        self.repo_tree.populate()

    def show_repository(self, repository: str | None, *, keep_cursor: bool = True) -> None:
        if repository != self.tag_list.repository:
            self.cancel_dates()
            if self.session.sort == "date":
                self.load_dates(repository or "")
        self.tag_list.show(repository or "", keep_cursor=keep_cursor)
        self._update_tags_header()
        self.call_after_refresh(self._update_tags_header)

    def _update_tags_header(self) -> None:
        tag_list = self.tag_list
        pane = self.query_one("#tags-pane")
        repo = tag_list.repository
        total = len(self.session.inventory.repositories.get(repo, {}))
        title = Text(clean(repo) if repo else "tags", no_wrap=True)
        shown = len(tag_list.rows)
        title.append(f"  {shown}/{total}" if self.session.tag_filter else f"  {total}", style="dim")
        if repo and repo not in self.session.inventory.scanned:
            title.append("  scanning…", style="italic")
        pane.border_title = title
        pane.border_subtitle = f"s: sort by {self.session.sort}"
        width = tag_list.scrollable_content_region.width or max(self.size.width - 30, 40)
        self.query_one("#tags-header", Static).update(Text(TagList.header(width), style="bold"))

    def show_tag(self, repository: str, tag: str | None) -> None:
        info = self.session.inventory.tag_info(repository, tag) if tag else None
        details = self.session.details.get(info.digest) if info else None
        self.query_one("#digest", DigestPane).show(repository, tag, info, details)
        lookup = self.session.reverse_lookup(repository, info.digest) if info else None
        self.query_one("#reverse", ReversePanel).show(lookup)

    def update_status(self) -> None:
        status = self.query_one("#status", StatusBar)
        status.from_cache = self.from_cache
        status.dry_run = self.dry_run
        status.refresh_status(self.clock())

    def refresh_marks(self, repositories: list[str] | None = None) -> None:
        self.repo_tree.refresh_labels(repositories)
        self.tag_list.refresh()
        self.update_status()

    # -- events from the panes --------------------------------------------------------

    @on(Tree.NodeHighlighted, "#repos")
    def _repo_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        if event.node.data and event.node.data != self.tag_list.repository:
            self.show_repository(event.node.data, keep_cursor=False)

    @on(Tree.NodeSelected, "#repos")
    def _repo_selected(self, event: Tree.NodeSelected[str]) -> None:
        repository = event.node.data
        if repository:
            self.open_repository(repository)

    def open_repository(self, repository: str) -> None:
        if self.tag_list.repository != repository:
            self.show_repository(repository, keep_cursor=False)
        if repository not in self.session.inventory.scanned and self.client is not None:
            if self.scanner is not None:
                self.scanner.prioritize(repository)
            else:
                self.rescan_repository(repository)
        self.tag_list.focus()

    @on(TagList.Highlighted)
    def _tag_highlighted(self, event: TagList.Highlighted) -> None:
        self.show_tag(event.repository, event.tag)

    @on(TagList.Resized)
    def _tags_resized(self) -> None:
        self._update_tags_header()

    @on(TagList.NeedDetails)
    def _need_details(self, event: TagList.NeedDetails) -> None:
        if self.client is not None:
            self.queue_details(event.repository, event.digests)

    @on(TagList.MarksChanged)
    @on(RepoTree.MarksChanged)
    def _marks_changed(self, event: Any) -> None:
        self.refresh_marks(
            [self.tag_list.repository] if isinstance(event, TagList.MarksChanged) else None
        )

    @on(TagList.Opened)
    def _tag_opened(self) -> None:
        if self.screen.has_class("-narrow"):
            self.show_reverse_narrow = True
            self._apply_layout(self.size.width)
        self.query_one("#reverse", ReversePanel).focus()

    @on(ReversePanel.Jump)
    def _jump(self, event: ReversePanel.Jump) -> None:
        self.jump_to(event.repository, event.tag)

    def jump_to(self, repository: str, tag: str) -> None:
        if self.session.tag_filter and tag not in self.session.visible_tags(repository):
            self.session.tag_filter = ""
        self.repo_tree.reveal(repository)
        self.show_repository(repository, keep_cursor=False)
        self.tag_list.select_tag(tag)
        self.tag_list.focus()

    async def action_quit(self) -> None:
        """Never in the middle of a deletion or restore; stop the scanners first: their threads
        would otherwise hold the exit up."""
        if busy := self.registry_work_running():
            self.notify(f"Still {busy}: q quits once it is done.", severity="warning")
            return
        for scanner in (self.scanner, self.rescanner):
            if scanner is not None:
                scanner.cancel()
        await super().action_quit()

    def store_inventory(self) -> None:
        """Write the inventory to the cache (any thread) when it holds a complete scan."""
        inventory = self.session.inventory
        if self.save_cache is not None and inventory.scanned_at:
            self.save_cache(inventory, self.whole_catalog)

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
        status = self.query_one("#status", StatusBar)
        status.message = ""
        if error is not None:
            self.notify(
                clean(f"Filling {repository} failed: {error}"), severity="error", markup=False
            )
        elif self.client is not None:
            self.rescan_repository(repository)
        self.update_status()

    # -- messages from workers --------------------------------------------------------

    def on_catalog_loaded(self, message: msg.CatalogLoaded) -> None:
        self.repo_tree.catalog_pending = False
        self.session.inventory.add_repositories(message.repositories)
        self.refresh_tree()
        self.update_status()

    def on_repository_scanned(self, message: msg.RepositoryScanned) -> None:
        status = self.query_one("#status", StatusBar)
        if status.message == f"rescanning {message.repository}":
            status.message = ""
        self.repo_tree.refresh_labels([message.repository])
        if message.repository == self.tag_list.repository:
            self.show_repository(message.repository)
        self.session.prune_marks()
        self.update_status()

    def on_scan_progress(self, message: msg.ScanProgress) -> None:
        status = self.query_one("#status", StatusBar)
        status.scan = None if message.finished else (message.done, message.total)
        status.scan_tags = (message.tags, message.rate)
        if message.finished:
            self.from_cache = False
            self.repo_tree.catalog_pending = False
            self.refresh_tree()
            self.show_repository(self.tag_list.repository)
        self.update_status()

    def on_dates_progress(self, message: msg.DatesProgress) -> None:
        status = self.query_one("#status", StatusBar)
        status.dates = None if message.finished else (message.done, message.total)
        if message.finished and message.repository == self.tag_list.repository:
            self.resort_by_date()  # the final date order
        self.update_status()

    def resort_by_date(self) -> None:
        """New dates arrived: sort again; a cursor still on the first row stays at the top, else
        it follows its tag."""
        at_top = self.tag_list.cursor == 0
        self.show_repository(self.tag_list.repository, keep_cursor=not at_top)

    def on_details_loaded(self, message: msg.DetailsLoaded) -> None:
        for item in message.details:
            self.session.details.put(item)
        if self.session.sort == "date" and time.monotonic() - self._last_resort > 1.0:
            self._last_resort = time.monotonic()  # re-sorting a huge list: at most once a second
            self.resort_by_date()
        self.tag_list.refresh()
        repo, tag = self.tag_list.repository, self.tag_list.current_tag
        info = self.session.inventory.tag_info(repo, tag) if tag else None
        if info and any(d.digest == info.digest for d in message.details):
            self.show_tag(repo, tag)
