"""The main screen: the repository tree, the tags, the digest and shared-by panes, the filter.

It owns the panes, their keys and their handlers, and the deletion and policy flows
(:mod:`dregtui.tui.screens.deletion_flow`, :mod:`~dregtui.tui.screens.policy_flow`). It is given
what it needs when it is made (the session, the client, the settings, a clock); the App keeps
the scan and the cache: the scan reports here with messages, and this screen asks for scans
with messages (:class:`~dregtui.tui.messages.RescanRepository` and the like).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Input, Tree
from textual.worker import get_current_worker

from dregtui.core.registry_api import RegistryAPI
from dregtui.core.textsafe import clean
from dregtui.tui import messages as msg
from dregtui.tui.memory import freeze_loaded_objects
from dregtui.tui.screens.deletion_flow import DeletionFlow, UndoHandlers
from dregtui.tui.screens.filter_flow import FilterHandlers
from dregtui.tui.screens.help import HelpScreen
from dregtui.tui.screens.main_keys import MAIN_SCREEN_BINDINGS
from dregtui.tui.screens.marks_flow import MarkHandlers
from dregtui.tui.screens.policy_flow import PolicyFlow
from dregtui.tui.screens.profile import ProfileScreen
from dregtui.tui.screens.referrer_flow import ReferrerHandlers
from dregtui.tui.screens.start_flow import StartHandlers
from dregtui.tui.screens.storage_flow import StorageHandlers
from dregtui.tui.session import Session
from dregtui.tui.widgets.digest_pane import DigestPane
from dregtui.tui.widgets.filter_input import FilterInput
from dregtui.tui.widgets.footer import NARROW, DregFooter
from dregtui.tui.widgets.repo_tree import RepoTree
from dregtui.tui.widgets.shared_by import SharedByPanel
from dregtui.tui.widgets.status_bar import StatusBar
from dregtui.tui.widgets.tag_list import TagList
from dregtui.tui.widgets.tags_pane import TagsPane

SHORT = 30  # rows at or below which the digest/shared-by area shrinks while the tags have focus
PANES = ("repos", "tags", "digest", "reverse")  # the order tab walks
NO_PROFILE = "Nothing to save here: P saves a registry opened with -r as a profile."
SPACE_EVERY = 3.0  # seconds between two accountings while a scan runs


class MainScreen(
    FilterHandlers,
    StartHandlers,
    MarkHandlers,
    UndoHandlers,
    ReferrerHandlers,
    StorageHandlers,
    Screen[None],
):
    """Browse, filter, mark, delete. Binding ids stay ``app.*``: user keymaps name them."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT + 1, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = MAIN_SCREEN_BINDINGS

    def __init__(
        self,
        session: Session,
        *,
        client: RegistryAPI | None,
        settings: Any = None,
        clock: Callable[[], float] = time.time,
        jobs: int = 8,
        dry_run: bool = False,
        store_inventory: Callable[..., None] = lambda *changes: None,
    ) -> None:
        """``settings``: what ``P`` saves as a profile (None: not opened from settings);
        ``store_inventory`` saves the inventory to the cache, from a deletion's thread."""
        super().__init__()
        self.session = session
        self.client = client
        self.settings = settings
        self.clock = clock
        self.jobs = jobs
        self.dry_run = dry_run
        self.show_reverse_narrow = False
        self._space_asked = 0.0
        self.deletion_flow = DeletionFlow(
            self,
            session,
            client,
            dry_run=dry_run,
            store=store_inventory,
            changed=self.after_inventory_change,
        )
        self.policy_flow = PolicyFlow(
            self, session, client, jobs=jobs, say=self.show_message, marked=self._policy_marked
        )

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield RepoTree(self.session, id="repos")
            with Vertical(id="right"):
                yield TagsPane(self.session, self.client, jobs=self.jobs, id="tags-pane")
                with Horizontal(id="lower"):
                    yield DigestPane(self.session, self.client, id="digest")
                    yield SharedByPanel(self.session, id="reverse")
        yield FilterInput(
            id="filter", placeholder="filter: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        yield StatusBar(self.session, clock=self.clock, dry_run=self.dry_run, id="status")
        yield DregFooter()

    def on_mount(self) -> None:
        self.repo_tree.border_title = "repositories"
        self.query_one("#digest", DigestPane).border_title = "digest"
        self.query_one("#reverse", SharedByPanel).border_title = "shared by"
        self.query_one("#filter", Input).display = False
        self._apply_layout(self.app.size.width)
        self.repo_tree.catalog_pending = self.session.scans_on_start
        self.refresh_tree()
        self.status_bar.message = self.session.status_message
        self.update_status()
        self.repo_tree.focus()
        if self.session.inventory.scanned:  # from the cache: its sizes, in the background
            self._build_space()

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width)

    @property
    def narrow(self) -> bool:
        return self.app.size.width < NARROW

    def _apply_layout(self, width: int) -> None:
        """Breakpoints set -narrow / -short; what shows in the narrow lower area is ours."""
        narrow = width < NARROW
        self.set_class(narrow and self.show_reverse_narrow, "-show-reverse")
        self.query_one("#digest").border_subtitle = "v: shared by" if narrow else ""
        self.query_one("#reverse").border_subtitle = "v: digest" if narrow else ""
        self.tags_pane.update_header()

    # -- panes ----------------------------------------------------------------------

    @property
    def repo_tree(self) -> RepoTree:
        return self.query_one("#repos", RepoTree)

    @property
    def tags_pane(self) -> TagsPane:
        return self.query_one("#tags-pane", TagsPane)

    @property
    def tag_list(self) -> TagList:
        return self.query_one("#tags", TagList)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def refresh_tree(self) -> None:
        self.repo_tree.populate()

    # -- space: sizes in the tree, the tags, what the marks free --------------------------

    def space_changed(self) -> None:
        """The inventory changed: the sizes go until the accounting is built again, in a
        worker (at 100,000 tags it is too slow for the UI thread)."""
        self.session.space_changed()
        self._build_space()

    @work(thread=True, exclusive=True, exit_on_error=False, group="space")
    def _build_space(self) -> None:
        space, sizes = self.session.build_space()
        if not get_current_worker().is_cancelled:
            self.post_message(msg.SpaceReady(space, sizes))

    def on_space_ready(self, message: msg.SpaceReady) -> None:
        self.session.space_built(message.space, message.sizes)
        freeze_loaded_objects()
        if self.repo_tree.by_size:
            self.refresh_tree()  # the order follows the sizes (and the labels with it)
        else:
            self.repo_tree.refresh_labels()
        self.tag_list.redraw()
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)
        self.update_status()

    def show_repository(self, repository: str | None, *, keep_cursor: bool = True) -> None:
        self.tags_pane.show(repository or "", keep_cursor=keep_cursor)

    def show_tag(self, repository: str, tag: str | None) -> None:
        self.query_one("#digest", DigestPane).show_tag(repository, tag)
        info = self.session.inventory.tag_info(repository, tag) if tag else None
        shared_by = self.query_one("#reverse", SharedByPanel)
        shared_by.show_digest(repository, info.digest if info else None)

    def update_status(self) -> None:
        self.status_bar.update_frees()
        self.status_bar.refresh_status()

    def refresh_marks(self, repositories: list[str] | None = None) -> None:
        self.repo_tree.refresh_labels(repositories)
        self.tags_pane.redraw_marks()
        self.update_status()

    def jump_to(self, repository: str, tag: str) -> None:
        if self.session.tag_filter and tag not in self.session.visible_tags(repository):
            self.session.tag_filter = ""
        self.repo_tree.reveal(repository)
        self.show_repository(repository, keep_cursor=False)
        self.tag_list.select_tag(tag)
        self.tag_list.focus()

    def open_repository(self, repository: str) -> None:
        if self.tag_list.repository != repository:
            self.show_repository(repository, keep_cursor=False)
        if repository not in self.session.inventory.scanned:
            self.post_message(msg.ScanFirst(repository))
        self.tag_list.focus()

    def after_inventory_change(self) -> None:
        """A deletion or restore changed the inventory: every pane shows it."""
        self.session.prune_marks()
        self.space_changed()
        self.refresh_tree()
        tags, row = self.tag_list, self.tag_list.cursor
        # still there? a lookup, not the sorted rows (a big repository sorts for seconds)
        held = self.session.inventory.repositories.get(tags.repository, {})
        gone = bool(tags.repository) and tags.current_tag not in held
        self.show_repository(tags.repository)
        if gone and tags.rows:  # the cursor's tag was deleted: stay on the row that took its place
            tags.cursor = min(row, len(tags.rows) - 1)
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)
        self.update_status()

    # -- events from the panes --------------------------------------------------------

    @on(Tree.NodeHighlighted, "#repos")
    def _repo_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        if event.node.data and event.node.data != self.tag_list.repository:
            self.show_repository(event.node.data, keep_cursor=False)

    @on(Tree.NodeSelected, "#repos")
    def _repo_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.open_repository(event.node.data)

    @on(TagList.Highlighted)
    def _tag_highlighted(self, event: TagList.Highlighted) -> None:
        self.show_tag(event.repository, event.tag)

    @on(TagList.MarksChanged)
    def _tag_marks_changed(self) -> None:
        self.refresh_marks([self.tag_list.repository])

    @on(RepoTree.MarksChanged)
    def _tree_marks_changed(self) -> None:
        self.refresh_marks()

    @on(TagList.Opened)
    def _tag_opened(self) -> None:
        if self.narrow:
            self.show_reverse_narrow = True
            self._apply_layout(self.app.size.width)
        self.query_one("#reverse", SharedByPanel).focus()

    @on(SharedByPanel.Jump)
    def _jump(self, event: SharedByPanel.Jump) -> None:
        self.jump_to(event.repository, event.tag)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._apply_filter(event.value):
            self._close_filter()

    # -- messages from the scan (the App's workers) and from the panes' workers ------------

    def on_cache_loaded(self, message: msg.CacheLoaded) -> None:
        self.status_bar.message = ""
        if message.inventory is None:
            if message.warning:  # the rest was damaged: said once, then scanned
                self.notify(clean(message.warning), severity="warning", markup=False)
            self.post_message(msg.CacheUnusable())
            self.refresh_tree()
            self.update_status()
            return
        self.session.inventory.adopt(message.inventory)
        self.after_inventory_change()

    def on_catalog_loaded(self, message: msg.CatalogLoaded) -> None:
        self.repo_tree.catalog_pending = False
        self.session.inventory.add_repositories(message.repositories)
        self.refresh_tree()
        self.update_status()

    def on_rescan_progress(self, message: msg.RescanProgress) -> None:
        """The old tags stay usable while one repository is rescanned; the bar says how far."""
        if self.status_bar.says_rescanning(message.repository):
            done, total = message.done, message.total
            self.show_message(f"rescanning {message.repository}: {done:,}/{total:,} tags")

    def on_repository_scanned(self, message: msg.RepositoryScanned) -> None:
        if self.status_bar.says_rescanning(message.repository):
            self.status_bar.message = ""
        if self.status_bar.scan is None:  # a rescan of one repository: sizes follow now
            self.space_changed()
            self.repo_tree.refresh_labels()
        else:  # a full scan: the sizes fill in, one accounting every few seconds at most
            self.repo_tree.refresh_labels([message.repository])
            if time.monotonic() - self._space_asked > SPACE_EVERY:
                self._space_asked = time.monotonic()
                self._build_space()
        if message.repository == self.tag_list.repository:
            self.show_repository(message.repository)
        self.session.prune_marks()
        self.update_status()

    def on_scan_progress(self, message: msg.ScanProgress) -> None:
        status = self.status_bar
        status.scan = None if message.finished else (message.done, message.total)
        status.scan_tags = (message.tags, message.rate, message.tags_total)
        if message.finished:
            self.repo_tree.catalog_pending = False
            self.space_changed()
            self.refresh_tree()
            self.show_repository(self.tag_list.repository)
        self.update_status()

    def on_dates_progress(self, message: msg.DatesProgress) -> None:
        self.status_bar.dates = None if message.finished else (message.done, message.total)
        self.update_status()

    def on_details_loaded(self, message: msg.DetailsLoaded) -> None:
        """Details arrived (the tags pane's loaders put them in the cache; the pane has
        redrawn its rows)."""
        repo, tag = self.tag_list.repository, self.tag_list.current_tag
        info = self.session.inventory.tag_info(repo, tag) if tag else None
        if info and any(d.digest == info.digest for d in message.details):
            self.show_tag(repo, tag)

    def show_message(self, text: str) -> None:
        self.status_bar.message = text
        self.update_status()

    # -- tab / shift+tab: tree -> tags -> digest -> shared by ----------------------------

    def action_cycle_panes(self, step: int) -> None:
        """Tab walks the panes; when narrow, the lower area swaps to show the digest or the
        shared-by panel as focus reaches it."""
        narrow = self.narrow
        reverse = self.query_one("#reverse", SharedByPanel)
        order = list(PANES)
        if not narrow and not reverse.display:
            order.remove("reverse")  # hidden with v
        here = self.focused.id if self.focused is not None else None
        target = order[(order.index(here) + step) % len(order)] if here in order else "tags"
        pane = self.query_one(f"#{target}")
        if narrow and target in ("digest", "reverse"):
            self.show_reverse_narrow = target == "reverse"
            self._apply_layout(self.app.size.width)
            self.call_after_refresh(pane.focus)  # once the swapped-in pane is displayed
        else:
            pane.focus()

    # -- filter ---------------------------------------------------------------------

    def action_escape(self) -> None:
        field = self.query_one("#filter", Input)
        if self.tag_list.dates.cancel():
            self.notify("Stopped loading dates: undated tags are listed last.", markup=False)
        elif field.display:
            field.value = ""
            self._apply_filter("")
            self._close_filter()
        elif self.session.tag_filter or self.session.repo_filter:
            self.session.tag_filter = self.session.repo_filter = ""
            self.refresh_tree()
            self.show_repository(self.tag_list.repository)
            self.update_status()
        elif self.focused is not None and self.focused.id in ("reverse", "digest"):
            if self.has_class("-show-reverse"):
                self.action_toggle_reverse()
            self.tag_list.focus()

    # -- view -----------------------------------------------------------------------

    def action_sort(self) -> None:
        self.tags_pane.next_order()

    def action_toggle_reverse(self) -> None:
        if self.narrow:
            self.show_reverse_narrow = not self.show_reverse_narrow
            self._apply_layout(self.app.size.width)
        else:
            reverse = self.query_one("#reverse")
            reverse.display = not reverse.display

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_save_profile(self) -> None:
        if self.settings is None:
            self.notify(NO_PROFILE, markup=False)
            return
        self.app.push_screen(ProfileScreen(self.settings))

    def action_order_repositories(self) -> None:
        tree = self.repo_tree
        if not tree.by_size and not self.session.sizes:
            self.notify("No sizes yet: they come once the scan has read the manifests (R rescans).")
            return
        tree.by_size = not tree.by_size
        self.refresh_tree()
        self.status_bar.message = "repositories: largest first" if tree.by_size else ""
        self.update_status()

    # -- the flows: a retention policy's marks; plan -> confirmation -> deletion -> restore ----

    def action_apply_policy(self) -> None:
        self.policy_flow.start()

    def action_delete(self) -> None:
        self.deletion_flow.start()

    def on_policy_applied(self, message: msg.PolicyApplied) -> None:
        self.policy_flow.applied(message)

    def _policy_marked(self) -> None:
        self.refresh_marks()
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)

    # -- scanning -------------------------------------------------------------------

    def action_rescan(self) -> None:
        repo = self.repo_tree.current_repository or self.tag_list.repository
        if self.client is None or not repo or self._cache_still_loading():
            return
        self.show_message(f"rescanning {repo}")
        self.post_message(msg.RescanRepository(repo))

    def action_rescan_all(self) -> None:
        if self.client is not None and not self._cache_still_loading():
            self.post_message(msg.RescanAll())

    def _cache_still_loading(self) -> bool:
        """True (and says so) while the cache loads: a scan now would race it."""
        if self.session.loading_cache:
            self.notify("Loading the cache; the registry can be rescanned once it is in.")
        return self.session.loading_cache
