"""The tags pane: its title (repository, counts, what is going on), the column header, the list.

It shows a repository's rows: a big repository's tags are parsed in a worker first, and the
date order re-sorts as the dates arrive.
The title says how many tags the filter shows, and "scanning…", "loading…" or "filtering…"
while the rows are not all in yet; "filtering…" only once a filter has taken a while.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from dregtui.core.registry_api import RegistryAPI
from dregtui.core.textsafe import clean
from dregtui.tui import messages as msg
from dregtui.tui.memory import freeze_loaded_objects
from dregtui.tui.session import Session
from dregtui.tui.widgets.tag_list import TagList
from dregtui.tui.widgets.untagged_list import UntaggedList, header

FILTERING_NOTE = 0.15  # seconds a big repository's filter runs before the title says so
RESORT_EVERY = 1.0  # seconds: a huge list is re-sorted by date at most this often as dates arrive


class TagsPane(Vertical):
    """Holds the :class:`TagList` (``#tags``) under its column header (``#tags-header``)."""

    DEFAULT_CSS = """
    TagsPane {
        height: 1fr;
    }
    TagsPane > #tags-header {
        height: 1;
        color: $text-muted;
        background: $boost;
    }
    """

    def __init__(
        self,
        session: Session,
        client: RegistryAPI | None,
        *,
        jobs: int,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.client = client
        self.jobs = jobs
        self._shown: tuple[Text, str, int] | None = None  # title, subtitle, width as shown
        # "filtering…" in the title: a timer until a filter has taken a while, then True;
        # None when no filter is running
        self._filtering_note: Timer | bool | None = None
        self._last_resort = 0.0

    def compose(self) -> ComposeResult:
        yield Static(id="tags-header")
        yield TagList(self.session, client=self.client, jobs=self.jobs, id="tags")
        yield UntaggedList(self.session, id="untagged")

    def on_mount(self) -> None:
        self.untagged_list.display = False

    @property
    def tag_list(self) -> TagList:
        return self.query_one("#tags", TagList)

    @property
    def untagged_list(self) -> UntaggedList:
        return self.query_one("#untagged", UntaggedList)

    @property
    def showing_untagged(self) -> bool:
        return bool(self.untagged_list.display)

    def show_untagged(self, repository: str) -> None:
        """The untagged manifests of ``repository`` in place of its tags."""
        untagged = self.untagged_list
        untagged.show(repository)
        self.tag_list.display = False
        untagged.display = True
        self._shown = None
        self.update_header()
        self.call_after_refresh(self.update_header)  # once the list has its width

    def redraw_marks(self) -> None:
        """The marks changed: both lists show them."""
        self.tag_list.redraw()
        if self.showing_untagged:
            self.untagged_list.redraw()

    def show(self, repository: str, *, keep_cursor: bool = True) -> None:
        """Show the rows of ``repository`` (filter and order applied); the date order loads
        the created dates it needs."""
        tag_list = self.tag_list
        if self.showing_untagged:
            self.untagged_list.display = False
            tag_list.display = True
            self._shown = None
        if repository != tag_list.repository:
            tag_list.dates.cancel()
            if self.session.sort == "date":
                tag_list.dates.load(repository)
        tag_list.show(repository, keep_cursor=keep_cursor)
        self.update_header()
        self.call_after_refresh(self.update_header)

    def next_order(self) -> None:
        """The next tag order, from the top; the date order loads the dates it needs."""
        if self.session.next_sort() == "date":
            self.tag_list.dates.load(self.tag_list.repository)
        else:
            self.tag_list.dates.cancel()
        self.show(self.tag_list.repository, keep_cursor=False)

    def resort_by_date(self) -> None:
        """New dates arrived: sort again; a cursor still on the first row stays at the top, else
        it follows its tag."""
        at_top = self.tag_list.cursor == 0
        self.show(self.tag_list.repository, keep_cursor=not at_top)

    @on(TagList.Resized)
    def _tags_resized(self) -> None:
        self.update_header()

    @on(TagList.PrepareWanted)
    def _prepare_wanted(self, event: TagList.PrepareWanted) -> None:
        self._prepare_tags(event.repository)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prepare")
    def _prepare_tags(self, repository: str) -> None:
        self.session.prepare(repository)
        freeze_loaded_objects()

    def on_rows_ready(self, message: msg.RowsReady) -> None:
        """A big repository's filter answered: shown if it is still the one asked for."""
        if (
            message.repository == self.tag_list.repository
            and message.text == self.session.tag_filter
        ):
            self.show(message.repository)

    def on_dates_progress(self, message: msg.DatesProgress) -> None:
        if message.finished and message.repository == self.tag_list.repository:
            self.resort_by_date()  # the final date order

    def on_details_loaded(self) -> None:
        if self.session.sort == "date" and time.monotonic() - self._last_resort > RESORT_EVERY:
            self._last_resort = time.monotonic()
            self.resort_by_date()
        self.tag_list.redraw()

    def update_header(self) -> None:
        """The title, the subtitle (the order) and the column header, for the rows shown."""
        tag_list = self.tag_list
        if self.showing_untagged:
            self._untagged_header()
            return
        repo = tag_list.repository
        total = len(self.session.inventory.repositories.get(repo, {}))
        title = Text(clean(repo) if repo else "tags", no_wrap=True)
        shown = len(tag_list.rows)
        folded = tag_list.folded
        count = f"  {shown}/{total}" if self.session.tag_filter else f"  {total - folded}"
        title.append(count + (f" (+{folded} hidden)" if folded else ""), style="dim")
        if repo and repo not in self.session.inventory.scanned:
            title.append(
                "  loading…" if self.session.loading_cache else "  scanning…", style="italic"
            )
        elif tag_list.pending:
            if self._filtering_note is None:  # said once the filter has taken a while
                self._filtering_note = self.set_timer(FILTERING_NOTE, self._note_filtering)
            elif self._filtering_note is True:
                title.append("  filtering…", style="italic")
        if not tag_list.pending:
            self._stop_filtering_note()
        width = tag_list.scrollable_content_region.width or max(self.app.size.width - 30, 40)
        subtitle = f"sorted by {self.session.sort} · s"  # the state, then the key that changes it
        header = (title, subtitle, width)
        if header == self._shown:
            return  # a keystroke repaints the panes it changed, not the whole screen
        self._shown = header
        self.border_title = title
        self.border_subtitle = subtitle
        header_line = Text(TagList.header(width), style="bold")
        self.query_one("#tags-header", Static).update(header_line, layout=False)  # one line

    def _untagged_header(self) -> None:
        untagged = self.untagged_list
        title = Text(clean(untagged.repository), no_wrap=True)
        title.append(f"  untagged {len(untagged.manifests)}", style="dim")
        width = untagged.scrollable_content_region.width or max(self.app.size.width - 30, 40)
        self.border_title = title
        self.border_subtitle = "space: mark"
        self.query_one("#tags-header", Static).update(
            Text(header(width), style="bold"), layout=False
        )

    def _note_filtering(self) -> None:
        self._filtering_note = True
        self.update_header()

    def _stop_filtering_note(self) -> None:
        if isinstance(self._filtering_note, Timer):
            self._filtering_note.stop()
        self._filtering_note = None
