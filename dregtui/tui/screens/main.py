"""The main screen: the repository tree, the tags, the digest and shared-by panes, the filter.

It owns the panes, their keys and their handlers, the created-dates worker of the date order,
and the deletion flow (plan -> confirmation -> progress -> result -> restore). The App keeps
the client, the session, the scan and the cache; the scan reports here with messages.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static, Tree
from textual.worker import get_current_worker

from dregtui.core.errors import RegistryError
from dregtui.core.plan import Plan, PlanMode
from dregtui.core.policy.rules import Policy
from dregtui.core.wording import plural
from dregtui.tui import deletion
from dregtui.tui import messages as msg
from dregtui.tui.details import Details, fetch_details
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.session import Session
from dregtui.tui.text import clean
from dregtui.tui.widgets.digest_pane import DigestPane
from dregtui.tui.widgets.filter_input import FilterInput
from dregtui.tui.widgets.footer import NARROW, DregFooter
from dregtui.tui.widgets.repo_tree import RepoTree
from dregtui.tui.widgets.reverse_panel import ReversePanel
from dregtui.tui.widgets.status_bar import StatusBar
from dregtui.tui.widgets.tag_list import TagList

if TYPE_CHECKING:
    from dregtui.tui.app import DregApp

SHORT = 30  # rows at or below which the digest/shared-by area shrinks while the tags have focus
DATE_JOBS = 16  # at most this many manifest requests at once for the date order
PANES = ("repos", "tags", "digest", "reverse")  # the order tab walks


FILTERING_NOTE = 0.15  # seconds a big repository's filter runs before the title says so
SPACE_EVERY = 3.0  # seconds between two accountings while a scan runs


class MainScreen(Screen[None]):
    """Browse, filter, mark, delete. Binding ids stay ``app.*``: user keymaps name them."""

    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (NARROW, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [
        (0, "-short"),
        (SHORT + 1, "-tall"),
    ]

    # The footer shows the keys of everyday work (it must fit 80 columns); every binding is in
    # the help screen (?) and, with a tooltip, in the command palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="Filter repositories or tags (selector syntax)",
            id="app.filter",
        ),
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
        Binding("question_mark", "help", "Help", tooltip="Show every key", id="app.help"),
        Binding("q", "app.quit", "Quit", id="app.quit"),
        Binding(
            "c",
            "clear_marks",
            "Clear marks",
            show=False,
            tooltip="Unmark every tag",
            id="app.clear_marks",
        ),
        Binding(
            "s",
            "sort",
            "Sort: version, name, date, variant",
            show=False,
            tooltip="Cycle the tag order: version, name, date, grouped by variant",
            id="app.sort",
        ),
        Binding(
            "o",
            "order_repositories",
            "Repositories: by name / largest first",
            show=False,
            tooltip="Order the repository tree by name or by size (largest first)",
            id="app.order_repositories",
        ),
        Binding(
            "v",
            "toggle_reverse",
            "Shared by / digest",
            show=False,
            tooltip="Show or hide the reverse-lookup panel",
            id="app.toggle_reverse",
        ),
        Binding(
            "r",
            "rescan",
            "Rescan repository",
            show=False,
            tooltip="Scan the selected repository again",
            id="app.rescan",
        ),
        Binding(
            "R",
            "rescan_all",
            "Rescan all",
            show=False,
            tooltip="Scan the whole registry again",
            id="app.rescan_all",
        ),
        Binding(
            "p",
            "apply_policy",
            "Apply a policy",
            show=False,
            tooltip="Load a retention policy file: the tags it deletes become marks",
            id="app.apply_policy",
        ),
        Binding(
            "P",
            "save_profile",
            "Save registry as profile",
            show=False,
            tooltip="Write the registry settings to the config file",
            id="app.save_profile",
        ),
        Binding(
            "escape",
            "escape",
            "Back",
            show=False,
            tooltip="Back: close or clear the filter, stop loading dates, back to the tags",
            id="app.escape",
        ),
        Binding("tab", "cycle_panes(1)", "Next pane", show=False, id="app.next_pane"),
        Binding(
            "shift+tab", "cycle_panes(-1)", "Previous pane", show=False, id="app.previous_pane"
        ),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.show_reverse_narrow = False
        self._reverse_wanted: tuple[str, str | None] | None = None  # shown after the paint
        self._filter_target = "tags"
        self._last_resort = 0.0
        self._space_asked = 0.0
        self._frees_key: tuple[int, ...] | None = None
        self._tags_header: tuple[Text, str, int] | None = None  # the tags pane's, as shown
        # "filtering…" in the tags pane's title: a timer until a filter has taken a while,
        # then True; None when no filter is running
        self._filtering_note: Timer | bool | None = None

    @property
    def dreg(self) -> DregApp:
        """The App, with the client, the scan and the settings (this screen runs in no other)."""
        return cast("DregApp", self.app)

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield RepoTree(self.session, id="repos")
            with Vertical(id="right"):
                with Vertical(id="tags-pane"):
                    yield Static(id="tags-header")
                    yield TagList(self.session, client=self.dreg.client, id="tags")
                with Horizontal(id="lower"):
                    yield DigestPane(id="digest")
                    yield ReversePanel(id="reverse")
        yield FilterInput(
            id="filter", placeholder="filter: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        yield StatusBar(self.session, id="status")
        yield DregFooter()

    def on_mount(self) -> None:
        self.repo_tree.border_title = "repositories"
        self.query_one("#digest", DigestPane).border_title = "digest"
        self.query_one("#reverse", ReversePanel).border_title = "shared by"
        self.query_one("#filter", Input).display = False
        self._apply_layout(self.app.size.width)
        self.repo_tree.catalog_pending = self.dreg.scans_on_start
        self.refresh_tree()
        self.status_bar.message = self.dreg.status_message
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
        self._update_tags_header()

    # -- panes ----------------------------------------------------------------------

    @property
    def repo_tree(self) -> RepoTree:
        return self.query_one("#repos", RepoTree)

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
        worker (at 100,000 tags it takes half a second: never on the UI thread)."""
        self.session.space_changed()
        self._build_space()

    @work(thread=True, exclusive=True, exit_on_error=False, group="space")
    def _build_space(self) -> None:
        space, sizes = self.session.build_space()
        if not get_current_worker().is_cancelled:
            self.post_message(msg.SpaceReady(space, sizes))

    def on_space_ready(self, message: msg.SpaceReady) -> None:
        self.session.space_built(message.space, message.sizes)
        _settle_memory()
        if self.repo_tree.by_size:
            self.refresh_tree()  # the order follows the sizes (and the labels with it)
        else:
            self.repo_tree.refresh_labels()
        self.tag_list.refresh()
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)
        self.update_status()

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
        repo = tag_list.repository
        total = len(self.session.inventory.repositories.get(repo, {}))
        title = Text(clean(repo) if repo else "tags", no_wrap=True)
        shown = len(tag_list.rows)
        title.append(f"  {shown}/{total}" if self.session.tag_filter else f"  {total}", style="dim")
        if repo and repo not in self.session.inventory.scanned:
            title.append("  loading…" if self.dreg.loading_cache else "  scanning…", style="italic")
        elif tag_list.pending:
            if self._filtering_note is None:  # said once the filter has taken a while
                self._filtering_note = self.set_timer(FILTERING_NOTE, self._note_filtering)
            elif self._filtering_note is True:
                title.append("  filtering…", style="italic")
        if not tag_list.pending:
            self._stop_filtering_note()
        width = tag_list.scrollable_content_region.width or max(self.app.size.width - 30, 40)
        subtitle = f"s: sort by {self.session.sort}"
        header = (title, subtitle, width)
        if header == self._tags_header:
            return  # a keystroke repaints the panes it changed, not the whole screen
        self._tags_header = header
        pane = self.query_one("#tags-pane")
        pane.border_title = title
        pane.border_subtitle = subtitle
        header_line = Text(TagList.header(width), style="bold")
        self.query_one("#tags-header", Static).update(header_line, layout=False)  # one line

    def _note_filtering(self) -> None:
        self._filtering_note = True
        self._update_tags_header()

    def _stop_filtering_note(self) -> None:
        if isinstance(self._filtering_note, Timer):
            self._filtering_note.stop()
        self._filtering_note = None

    def show_tag(self, repository: str, tag: str | None) -> None:
        info = self.session.inventory.tag_info(repository, tag) if tag else None
        details = self.session.details.get(info.digest) if info else None
        policy = self.session.policy
        decision = policy.decision(repository, tag) if policy and tag else None
        space = self.session.space if info else None
        total = space.manifest_size(info.digest) if space and info else None
        self.query_one("#digest", DigestPane).show(repository, tag, info, details, decision, total)
        # the reverse lookup of a digest a thousand tags share takes a while to list: it
        # follows the paint of the panes a key changed, once for a burst of keys
        first = self._reverse_wanted is None
        self._reverse_wanted = (repository, info.digest if info else None)
        if first:
            self.call_after_refresh(self._show_reverse)

    def _show_reverse(self) -> None:
        wanted, self._reverse_wanted = self._reverse_wanted, None
        if wanted is None:
            return
        repository, digest = wanted
        lookup = self.session.reverse_lookup(repository, digest) if digest else None
        self.query_one("#reverse", ReversePanel).show(lookup)

    def update_status(self) -> None:
        status = self.status_bar
        self._update_frees()
        status.from_cache = self.dreg.from_cache
        status.loading = self.dreg.loading_cache
        status.dry_run = self.dreg.dry_run
        status.refresh_status(self.dreg.clock())

    def _update_frees(self) -> None:
        """What the marks free, for the status bar: worked out in a worker when the marks or
        the accounting changed (a plan of 100,000 marks takes a second or more)."""
        marks = self.session.marks
        if not marks:
            self._frees_key = None
            self.status_bar.frees = None
            return
        key = (*self.session.marks_key(), id(self.session._space))
        if key != self._frees_key:
            self._frees_key = key
            # once the marks are painted: the worker would take the interpreter from the paint
            self.call_after_refresh(self._start_frees, key)

    def _start_frees(self, key: tuple[int, ...]) -> None:
        if key == self._frees_key:  # else the marks changed again: a newer call follows
            self._work_out_frees(key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="frees")
    def _work_out_frees(self, key: tuple[int, ...]) -> None:
        self.session.marked_digests()  # cached for the status bar's digest count
        plan = self.session.marked_plan()
        if not get_current_worker().is_cancelled:
            self.post_message(
                msg.FreesWorkedOut(key, plan.reclaimable_bytes, plan.reclaimable_known)
            )

    def on_frees_worked_out(self, message: msg.FreesWorkedOut) -> None:
        if message.key != self._frees_key:
            return  # the marks changed meanwhile: a newer figure is on its way
        self.status_bar.frees = message.frees
        self.status_bar.frees_known = message.known
        self.status_bar.refresh_status(self.dreg.clock())

    def refresh_marks(self, repositories: list[str] | None = None) -> None:
        self.repo_tree.refresh_labels(repositories)
        self.tag_list.refresh()
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
            self.dreg.scan_first(repository)
        self.tag_list.focus()

    def after_inventory_change(self) -> None:
        """A deletion or restore changed the inventory: every pane shows it."""
        self.session.prune_marks()
        self.space_changed()
        self.refresh_tree()
        tags, row = self.tag_list, self.tag_list.cursor
        gone = bool(tags.repository) and tags.current_tag not in self.session.visible_tags(
            tags.repository
        )
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

    @on(TagList.Resized)
    def _tags_resized(self) -> None:
        self._update_tags_header()

    @on(TagList.PrepareWanted)
    def _prepare_wanted(self, event: TagList.PrepareWanted) -> None:
        self._prepare_tags(event.repository)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prepare")
    def _prepare_tags(self, repository: str) -> None:
        self.session.prepare(repository)
        _settle_memory()

    def on_rows_ready(self, message: msg.RowsReady) -> None:
        if (
            message.repository == self.tag_list.repository
            and message.text == self.session.tag_filter
        ):
            self.show_repository(message.repository)

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
        self.query_one("#reverse", ReversePanel).focus()

    @on(ReversePanel.Jump)
    def _jump(self, event: ReversePanel.Jump) -> None:
        self.jump_to(event.repository, event.tag)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value, quiet=True)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._apply_filter(event.value, quiet=False):
            self._close_filter()

    # -- messages from the scan (the App's workers) and from the panes' workers ------------

    def on_cache_loaded(self, message: msg.CacheLoaded) -> None:
        self.status_bar.message = ""
        if message.inventory is None:
            self.dreg.cache_unusable(message.warning)
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
        if self._rescanning(message.repository):
            done, total = message.done, message.total
            self.show_message(f"rescanning {message.repository}: {done:,}/{total:,} tags")

    def _rescanning(self, repository: str) -> bool:
        text = self.status_bar.message
        return text == f"rescanning {repository}" or text.startswith(f"rescanning {repository}: ")

    def on_repository_scanned(self, message: msg.RepositoryScanned) -> None:
        if self._rescanning(message.repository):
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
        status.scan_tags = (message.tags, message.rate)
        if message.finished:
            self.repo_tree.catalog_pending = False
            self.space_changed()
            self.refresh_tree()
            self.show_repository(self.tag_list.repository)
        self.update_status()

    def on_dates_progress(self, message: msg.DatesProgress) -> None:
        self.status_bar.dates = None if message.finished else (message.done, message.total)
        if message.finished and message.repository == self.tag_list.repository:
            self.resort_by_date()  # the final date order
        self.update_status()

    def on_details_loaded(self, message: msg.DetailsLoaded) -> None:
        """Details arrived (the tags pane's loader or the date worker put them in the cache)."""
        if self.session.sort == "date" and time.monotonic() - self._last_resort > 1.0:
            self._last_resort = time.monotonic()  # re-sorting a huge list: at most once a second
            self.resort_by_date()
        self.tag_list.refresh()
        repo, tag = self.tag_list.repository, self.tag_list.current_tag
        info = self.session.inventory.tag_info(repo, tag) if tag else None
        if info and any(d.digest == info.digest for d in message.details):
            self.show_tag(repo, tag)

    def resort_by_date(self) -> None:
        """New dates arrived: sort again; a cursor still on the first row stays at the top, else
        it follows its tag."""
        at_top = self.tag_list.cursor == 0
        self.show_repository(self.tag_list.repository, keep_cursor=not at_top)

    def show_message(self, text: str) -> None:
        self.status_bar.message = text
        self.update_status()

    # -- tab / shift+tab: tree -> tags -> digest -> shared by ----------------------------

    def action_cycle_panes(self, step: int) -> None:
        """Tab walks the panes; when narrow, the lower area swaps to show the digest or the
        shared-by panel as focus reaches it."""
        narrow = self.narrow
        reverse = self.query_one("#reverse", ReversePanel)
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

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        repos = isinstance(self.focused, RepoTree)
        self._filter_target = "repos" if repos else "tags"
        field.placeholder = (
            "filter repositories: text or re:REGEX"
            if repos
            else "filter tags: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        field.border_title = "filter repositories" if repos else "filter tags"
        field.value = self.session.repo_filter if repos else self.session.tag_filter
        field.display = True
        field.focus()

    def _apply_filter(self, value: str, *, quiet: bool) -> bool:
        try:
            if self._filter_target == "repos":
                self.session.repo_filter = value
                self.session.visible_repositories()
                self.refresh_tree()
            else:
                self.session.tag_filter = value
                self.session.check_filter(value)
                self.show_repository(self.tag_list.repository)
        except ValueError as exc:
            if not quiet:
                self.notify(clean(exc), severity="error", markup=False)
            return False
        self.update_status()
        return True

    def _close_filter(self) -> None:
        self.query_one("#filter", Input).display = False
        (self.repo_tree if self._filter_target == "repos" else self.tag_list).focus()

    def action_escape(self) -> None:
        field = self.query_one("#filter", Input)
        if self.cancel_dates():
            self.notify("Stopped loading dates: undated tags are listed last.", markup=False)
        elif field.display:
            field.value = ""
            self._apply_filter("", quiet=True)
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

    # -- marks ----------------------------------------------------------------------

    def action_mark_matching(self) -> None:
        """Mark every tag the filter shows (in every filtered repository from the tree)."""
        if isinstance(self.focused, RepoTree) and self.session.repo_filter:
            repositories = self.session.visible_repositories()
        elif self.tag_list.repository:
            repositories = [self.tag_list.repository]
        else:
            self.notify("Open a repository first.", severity="warning")
            return
        if self.tag_list.pending and self.tag_list.repository in repositories:
            self.notify("Still filtering: m marks what matches once the rows are in.")
            return
        added = 0
        for repo in repositories:
            added += self.session.mark_tags(repo, self.session.visible_tags(repo))
        self.refresh_marks(repositories)
        self.notify(f"Marked {added} more tags.", markup=False)

    def action_clear_marks(self) -> None:
        self.session.clear_marks()
        self.refresh_marks()

    # -- view -----------------------------------------------------------------------

    def action_sort(self) -> None:
        if self.session.next_sort() == "date":
            self.load_dates(self.tag_list.repository)
        else:
            self.cancel_dates()
        self.show_repository(self.tag_list.repository, keep_cursor=False)  # from the top

    def action_toggle_reverse(self) -> None:
        if self.narrow:
            self.show_reverse_narrow = not self.show_reverse_narrow
            self._apply_layout(self.app.size.width)
        else:
            reverse = self.query_one("#reverse")
            reverse.display = not reverse.display

    def action_help(self) -> None:
        from dregtui.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_save_profile(self) -> None:
        from dregtui.tui.screens.profile import ProfileScreen

        if self.dreg.settings is None:
            self.notify("No settings to save (the registry was not opened from settings).")
            return
        self.app.push_screen(ProfileScreen(self.dreg.settings))

    def action_order_repositories(self) -> None:
        tree = self.repo_tree
        if not tree.by_size and not self.session.sizes:
            self.notify("No sizes yet: they come once the scan has read the manifests (R rescans).")
            return
        tree.by_size = not tree.by_size
        self.refresh_tree()
        self.status_bar.message = "repositories: largest first" if tree.by_size else ""
        self.update_status()

    # -- retention policies ------------------------------------------------------------

    def action_apply_policy(self) -> None:
        from dregtui.tui.screens.policy import PolicyScreen

        def loaded(policy: Policy | None) -> None:
            if policy is not None:
                self.session.policy_path = policy.path
                self.status_bar.message = f"applying {policy.path}"
                self.update_status()
                self._evaluate_policy(policy)

        self.app.push_screen(PolicyScreen(self.session.policy_path or "policy.toml"), loaded)

    @work(thread=True, exclusive=True, exit_on_error=False, group="policy")
    def _evaluate_policy(self, policy: Policy) -> None:
        """Off the UI thread: a rule that judges dates fetches image configs."""
        from dregtui.core.policy.decisions import evaluate
        from dregtui.core.policy.rules import PolicyError
        from dregtui.ops.dates import CreatedDates

        created = None
        if policy.needs_dates and self.dreg.client is not None:
            created = CreatedDates(self.dreg.client, jobs=self.dreg.jobs)
        try:
            outcome = evaluate(policy, self.session.inventory, created=created)
        except (PolicyError, RegistryError) as exc:
            self.post_message(msg.PolicyApplied(error=str(exc)))
            return
        self.post_message(msg.PolicyApplied(outcome))

    def on_policy_applied(self, message: msg.PolicyApplied) -> None:
        self.status_bar.message = ""
        if message.error:
            self.notify(clean(message.error), severity="error", markup=False)
            self.update_status()
            return
        outcome = message.outcome
        self.session.policy = outcome
        selected = outcome.selected()
        self.session.marks = {(repo, tag) for repo, tags in selected.items() for tag in tags}
        for warning in outcome.warnings:
            self.notify(clean(warning), severity="warning", markup=False)
        tags, repositories = (
            plural(len(self.session.marks), "tag"),
            plural(len(selected), "repository"),
        )
        self.notify(
            clean(
                f"{outcome.policy.path}: {tags} to delete in {repositories} marked (d shows the plan)"
            ),
            markup=False,
        )
        self.refresh_marks()
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)

    # -- scanning -------------------------------------------------------------------

    def action_rescan(self) -> None:
        repo = self.repo_tree.current_repository or self.tag_list.repository
        if self.dreg.client is None or not repo or self.dreg.busy_loading():
            return
        self.show_message(f"rescanning {repo}")
        self.dreg.rescan_repository(repo)

    def action_rescan_all(self) -> None:
        self.dreg.rescan_all()

    # -- created dates of a whole repository (the date order) ------------------------------

    def load_dates(self, repository: str) -> None:
        """The date order needs every tag's created date: fetch the missing ones (worker)."""
        if self.dreg.client is None or not repository:
            return
        tags = self.session.inventory.repositories.get(repository, {})
        missing = self.session.details.missing([i.digest for i in list(tags.values())])
        if missing:
            self._fetch_dates(repository, missing)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dates")
    def _fetch_dates(self, repository: str, digests: list[str]) -> None:
        """Details of every digest, ``jobs`` requests at a time; cancellable (esc, sort, leave)."""
        client = self.dreg.client
        assert client is not None
        worker = get_current_worker()
        todo = iter(digests)
        total, done = len(digests), 0
        batch: list[Details] = []
        sent = time.monotonic()
        self.post_message(msg.DatesProgress(repository, 0, total))
        jobs = max(1, min(self.dreg.jobs, DATE_JOBS))
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
                    details = future.result()  # errors are data (Details.error)
                    self.session.details.put(details)
                    batch.append(details)
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

    def cancel_dates(self) -> bool:
        """Stop fetching dates; True if a fetch was running."""
        running = [w for w in self.workers if w.group == "dates" and w.is_running]
        for worker in running:
            worker.cancel()
        return bool(running)

    # -- deletion: plan -> confirmation -> progress -> result -> restore --------------------

    def action_delete(self) -> None:
        session = self.session
        session.prune_marks()
        if not session.marks:
            self.notify("Nothing marked: mark tags with space (or m for the filter's matches).")
            return

        def build(mode: PlanMode) -> Plan:
            return session.marked_plan(mode)

        def confirmed(mode: PlanMode | None) -> None:
            if mode is not None and self.dreg.client is not None:
                self._run_deletion(build(mode))

        self.app.clear_notifications()  # a toast ("Marked 500 more tags.") would cover the totals
        self.app.push_screen(ConfirmScreen(build, dry_run=self.dreg.dry_run), confirmed)

    def _run_deletion(self, plan: Plan) -> None:
        app = self.dreg
        assert app.client is not None
        job = partial(
            deletion.execute, app.client, self.session.inventory, plan, app.store_inventory
        )
        screen = ProgressScreen("Deleting…", len(plan.actionable), job, group="delete")
        app.push_screen(screen, partial(self._deleted, plan))

    def _deleted(self, plan: Plan, result: deletion.DeleteResult | None) -> None:
        self.after_inventory_change()
        if result is None:  # the worker failed: the App said why
            return
        complete = not result.cancelled and all(
            o.status in ("deleted", "untagged") for o in result.outcomes
        )
        screen = ResultScreen(
            result.outcomes,
            batch=result.batch,
            cancelled=result.cancelled,
            frees=plan.reclaimable_bytes if complete and plan.reclaimable_known else None,
        )
        screen.restore = partial(self._run_restore, screen)
        self.app.push_screen(screen)

    def _run_restore(self, result_screen: ResultScreen, batch: str) -> None:
        app = self.dreg
        assert app.client is not None
        job = partial(
            deletion.restore, app.client, self.session.inventory, batch, app.store_inventory
        )
        done: Callable[[list[msg.Outcome] | None], None] = partial(self._restored, result_screen)
        app.push_screen(ProgressScreen("Restoring…", None, job, group="restore"), done)

    def _restored(self, result_screen: ResultScreen, outcomes: list[msg.Outcome] | None) -> None:
        self.after_inventory_change()
        if outcomes is None:
            return
        if result_screen.is_attached:
            result_screen.restored(outcomes)
        restored = sum(1 for o in outcomes if o.status == "restored")
        manifests = "manifest" if restored == 1 else "manifests"
        self.notify(f"Restored {restored} {manifests} from the journal.", markup=False)


def _settle_memory() -> None:
    """What exists now (the inventory, its accounting, parsed tags) has no reference cycles
    and stays: the cyclic collector stops walking it. At a million tags one full collection
    took a few hundred milliseconds, a keystroke's whole budget, whenever it came."""
    gc.freeze()
