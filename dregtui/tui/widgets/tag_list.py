"""The tags pane: a virtual list that draws only the visible lines (tens of thousands of tags).

It loads the details (size, created) of the rows it shows itself: a queue (newest request
first) and one exclusive loader worker, cancelled when the repository changes. Details go into
the session's cache; a :class:`~dregtui.tui.messages.DetailsLoaded` bubbles up for the panes
that show them. The date order's created dates of every tag come from its
:class:`~dregtui.tui.widgets.created_dates.CreatedDatesLoader`.
"""

from __future__ import annotations

import threading

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from dregtui.core.inventory import TagInfo
from dregtui.core.referrers import is_plumbing_tag
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.tag_filter import FilterStopped
from dregtui.core.textsafe import clean
from dregtui.ops.imagefacts import ImageFacts, image_facts
from dregtui.tui import messages as msg
from dregtui.tui.session import Session
from dregtui.tui.text import fit_cells, human_size, short_digest
from dregtui.tui.widgets.created_dates import CreatedDatesLoader

DIGEST_W = 12
SIZE_W = 9
DATE_W = 10
RIGHT_GAP = 1  # a blank column after the dates: they never touch the border or the scrollbar
DETAIL_BATCH = 4  # details posted in batches of this many (one repaint each)
LINE_CACHE = 1000  # drawn lines kept (a few screens of a tall terminal)
Styles = tuple[Style, Style, Style, Style]  # base, cursor, dim, mark
# what a tag's line depends on: tag, digest, size, created day, marked, on the cursor, width,
# styles
LineKey = tuple[str, str, int | None, str, bool, bool, bool, int, Styles]
SIGNED = " ✓"  # after the tag of an image that has a signature
SIGNED_STYLE = Style(color="green", bold=True)


def fold(rows: list[str], hide: bool) -> tuple[list[str], int]:
    """The rows without the referrers' plumbing tags (when ``hide``), and how many went."""
    if not hide:
        return rows, 0
    kept = [t for t in rows if not (t.startswith("sha256-") and is_plumbing_tag(t))]
    return kept, len(rows) - len(kept)


def tag_width(width: int) -> int:
    """The tag column's width in a line of ``width`` cells (the other columns are fixed)."""
    return max(width - (2 + 1 + DIGEST_W + 1 + SIZE_W + 1 + DATE_W + RIGHT_GAP), 8)


class TagList(ScrollView, can_focus=True):
    """Rows: mark, tag, short digest, size, created. The cursor row is highlighted."""

    DEFAULT_CSS = """
    TagList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    TagList > .taglist--cursor {
        background: $surface-lighten-1;
    }
    TagList:focus > .taglist--cursor {
        background: $accent 40%;
        text-style: bold;
    }
    TagList > .taglist--mark {
        color: $warning;
        text-style: bold;
    }
    TagList > .taglist--dim {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {"taglist--cursor", "taglist--mark", "taglist--dim", "taglist--header"}
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="tags.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="tags.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="tags.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="tags.page_down"),
        Binding("home,g", "first", "First", show=False, id="tags.first"),
        Binding("end,G", "last", "Last", show=False, id="tags.last"),
        Binding("space", "toggle_mark", "Mark", tooltip="Mark / unmark the tag", id="tags.mark"),
        Binding(
            "enter",
            "open",
            "Shared by",
            show=False,
            tooltip="Show every tag sharing this digest",
            id="tags.open",
        ),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        def __init__(self, repository: str, tag: str | None) -> None:
            super().__init__()
            self.repository = repository
            self.tag = tag

    class MarksChanged(Message):
        pass

    class Opened(Message):
        pass

    class Resized(Message):
        """The visible width changed: the column header must follow."""

    class PrepareWanted(Message):
        """A big repository was opened: the tags pane parses its tags in a worker, before a
        filter asks for them."""

        def __init__(self, repository: str) -> None:
            super().__init__()
            self.repository = repository

    def __init__(
        self,
        session: Session,
        client: RegistryAPI | None = None,
        *,
        jobs: int = 8,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.client = client
        self.dates = CreatedDatesLoader(self, session, client, jobs=jobs)  # for the date order
        self.repository = ""
        self.rows: list[str] = []
        self.folded = 0  # plumbing tags (sha256-<hex>, .sig...) left out of the rows
        self.pending = False  # the rows shown are the last ones; the filter's are on their way
        self._requested: set[str] = set()
        self._queue: list[tuple[str, str]] = []  # (repository, digest) to load, newest last
        self._lock = threading.Lock()
        self._loading = False  # a loader worker is running (it takes what is queued)
        self._styles: Styles | None = None
        self._drawn_width = 0  # the width the lines were last drawn at (the header's too)
        # drawn lines, keyed by all they depend on (toolong's LogLines keeps one too)
        self._lines: LRUCache[LineKey, Strip] = LRUCache(LINE_CACHE)

    # -- data -----------------------------------------------------------------------

    def show(self, repository: str, *, keep_cursor: bool = True) -> None:
        """(Re)load the rows of ``repository`` from the session (filter + sort applied)."""
        same = repository == self.repository
        current = self.current_tag if keep_cursor and same else None
        self.repository = repository
        self.pending = False
        if not repository:
            self.rows = []
        elif self.session.heavy(repository):
            rows = self.session.ready_rows(repository)
            if rows is None and self.session.quick(repository):
                rows = self.session.visible_tags(repository)  # the order alone, or narrowing
            if not same:  # parse its tags behind the screen before a filter asks
                self.post_message(self.PrepareWanted(repository))
            if rows is None:
                self.pending = True  # never blank: the last rows until the new ones are in
                self._work_out_rows(repository, self.session.tag_filter)
                if same:
                    return  # nothing to repaint meanwhile (the worker gets the GIL)
                rows = []
            else:
                self.workers.cancel_group(self, "filter")  # its answer would be stale
            self.rows = rows
        else:
            self.rows = self.session.visible_tags(repository)
        self.rows, self.folded = fold(self.rows, not self.session.show_plumbing)
        self.virtual_size = Size(1, len(self.rows))
        self._forget_lines()
        try:
            index = self.rows.index(current) if current is not None else 0
        except ValueError:
            index = 0
        if not same:
            self._stop_loading()
        if not (keep_cursor and same):
            self._requested.clear()
            self.scroll_to(y=0, animate=False)
        self.cursor = min(index, max(len(self.rows) - 1, 0))
        self.refresh()

    @property
    def current_tag(self) -> str | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def select_tag(self, tag: str) -> bool:
        if tag in self.rows:
            self.cursor = self.rows.index(tag)
            return True
        return False

    # -- cursor ---------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1)) if self.rows else 0

    def watch_cursor(self, value: int) -> None:
        self._cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self.repository, self.current_tag))
        self.call_after_refresh(self._request_details)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= max(self.scrollable_content_region.height - 1, 1)

    def action_page_down(self) -> None:
        self.cursor += max(self.scrollable_content_region.height - 1, 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.rows) - 1

    def action_toggle_mark(self) -> None:
        tag = self.current_tag
        if tag is None:
            return
        self.session.toggle_tag(self.repository, tag)
        self.post_message(self.MarksChanged())
        self.cursor += 1

    def action_open(self) -> None:
        self.post_message(self.Opened())

    def focus(self, scroll_visible: bool = True) -> TagList:
        """While the pane lists untagged manifests in place of the tags, they take it."""
        if not self.display and self.parent is not None:
            for other in self.parent.query("#untagged"):
                if other.display:
                    other.focus(scroll_visible)
                    return self
        super().focus(scroll_visible)
        return self

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int):
            self.cursor = int(self.scroll_y) + offset
            self.focus()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.call_after_refresh(self._request_details)

    def _cursor_into_view(self) -> None:
        top = int(self.scroll_y)
        height = max(self.scrollable_content_region.height, 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def on_resize(self) -> None:
        self.virtual_size = Size(1, len(self.rows))
        self._forget_lines()
        self.call_after_refresh(self._cursor_into_view)  # the pane shrank under the cursor
        self._request_details()
        self.call_after_refresh(self.post_message, self.Resized())

    # -- lazy details -----------------------------------------------------------------

    def _visible_range(self) -> range:
        top = int(self.scroll_y)
        return range(top, min(top + self.size.height, len(self.rows)))

    def _request_details(self) -> None:
        if self.client is None:
            return
        tags = self.session.inventory.repositories.get(self.repository, {})
        digests = [tags[self.rows[i]].digest for i in self._visible_range() if self.rows[i] in tags]
        missing = [d for d in self.session.details.missing(digests) if d not in self._requested]
        if not missing:
            return
        self._requested.update(missing)
        with self._lock:
            self._queue.extend((self.repository, d) for d in missing)
            if self._loading:
                return  # the running loader takes them
            self._loading = True
        self._load_details()

    def _stop_loading(self) -> None:
        """Another repository: what was queued for the old one is dropped, its loader stops."""
        with self._lock:
            self._queue.clear()
            self._loading = False
        self.workers.cancel_group(self, "details")
        self._requested.clear()

    @work(thread=True, exclusive=True, exit_on_error=False, group="details")
    def _load_details(self) -> None:
        assert self.client is not None
        worker = get_current_worker()
        batch: list[ImageFacts] = []
        try:
            while not worker.is_cancelled:
                with self._lock:
                    if not self._queue:
                        self._loading = False
                        break
                    repository, digest = self._queue.pop()  # newest request first
                if digest in self.session.details:
                    continue
                details = image_facts(self.client, repository, digest)
                self.session.details.put(details)
                batch.append(details)
                if len(batch) >= DETAIL_BATCH:
                    self.post_message(msg.DetailsLoaded(batch))
                    batch = []
        except BaseException:
            with self._lock:
                self._loading = False  # the next request starts a new loader
            raise
        finally:
            if batch:
                self.post_message(msg.DetailsLoaded(batch))

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter")
    def _work_out_rows(self, repository: str, text: str) -> None:
        """A big repository's filter, off the UI thread. A newer keystroke starts another;
        this one's answer is then stale: it stops at its next chunk, or is dropped (the
        session caches an answer by its text)."""
        worker = get_current_worker()
        try:
            self.session.visible_tags(repository, text, lambda: worker.is_cancelled)
        except ValueError:
            return  # said when the filter is submitted
        except FilterStopped:
            return  # a newer keystroke's worker is on it
        self.post_message(msg.RowsReady(repository, text))

    # -- drawing ----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._styles = None  # worked out once a frame, not once a line
        width = self.scrollable_content_region.width
        if width != self._drawn_width:  # a scrollbar came or went: the header follows
            self._drawn_width = width
            self.post_message(self.Resized())
        return super().render_lines(crop)

    def redraw(self) -> None:
        """The rows' data (details, sizes) or the marks changed: draw every line again."""
        self._forget_lines()
        self.refresh()

    def _forget_lines(self) -> None:
        """A line's key holds all it depends on, so a kept line is never stale; the cache is
        emptied when the rows, their width or what they show changed, to hold only lines that
        may be drawn again."""
        self._lines.clear()

    def _line_styles(self) -> Styles:
        """(base, cursor, dim, mark) for this frame's lines."""
        if self._styles is None:
            base = self.rich_style
            dim_color = Style(color=self.get_component_rich_style("taglist--dim").color)
            mark = Style(color=self.get_component_rich_style("taglist--mark").color, bold=True)
            cursor = base + self.get_component_rich_style("taglist--cursor")
            self._styles = (base, cursor, base + dim_color, mark)
        return self._styles

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        styles = self._line_styles()
        base, cursor, base_dim, mark = styles
        if index >= len(self.rows):
            if y == 0 and not self.rows:
                note = (
                    "  no tags match the filter (esc clears it)"
                    if self.session.tag_filter
                    else "  no tags (r rescans the repository)"
                )
                if not self.repository:
                    note = "  pick a repository on the left (enter opens it)"
                return Strip([Segment(note, base_dim)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        tag = self.rows[index]
        info = self.session.inventory.tag_info(self.repository, tag)
        details = self.session.details.get(info.digest) if info else None
        digest = info.digest if info else ""
        size = self._image_size(info, details)
        created = details.created_day if details else ""
        marked = (self.repository, tag) in self.session.marks
        on_cursor = index == self.cursor
        signed = bool(digest) and self.session.referrers.signed(
            self.session.inventory, self.repository, digest
        )
        key = (tag, digest, size, created, marked, on_cursor, signed, width, styles)
        line = self._lines.get(key)
        if line is None:
            line = self._line_cache_miss(key)
            self._lines[key] = line
        return line

    def _line_cache_miss(self, key: LineKey) -> Strip:
        """Draw one tag's line from what it depends on (the line cache's key)."""
        tag, digest, size, created, marked, on_cursor, signed, width, styles = key
        base, cursor, base_dim, mark = styles
        style = cursor if on_cursor else base
        dim = style if on_cursor else base_dim
        mark_style = style + mark
        tag_w = tag_width(width)
        segments = [
            Segment("● " if marked else "  ", mark_style),
            Segment(
                fit_cells(clean(tag), tag_w - len(SIGNED) if signed else tag_w),
                mark_style if marked else style,
            ),
            *([Segment(SIGNED, style + SIGNED_STYLE)] if signed else []),
            Segment(" " + (short_digest(digest) if digest else "").ljust(DIGEST_W), dim),
            Segment(" " + human_size(size).rjust(SIZE_W), style),
            Segment(" " + set_cell_size(clean(created), DATE_W), dim),
        ]
        return Strip(segments).crop_extend(0, width, style)

    def _image_size(self, info: TagInfo | None, details: ImageFacts | None) -> int | None:
        """The image's size: from the scan (each blob once), else from its loaded details."""
        space = self.session.space
        if info is not None and space is not None:
            size = space.manifest_size(info.digest)
            if size is not None:
                return size
        return details.size if details else None

    @staticmethod
    def header(width: int) -> str:
        tag_w = tag_width(width)
        return (
            "  "
            + "tag".ljust(tag_w)
            + " "
            + "digest".ljust(DIGEST_W)
            + " "
            + "size".rjust(SIZE_W)
            + " "
            + "created".ljust(DATE_W)
        )
