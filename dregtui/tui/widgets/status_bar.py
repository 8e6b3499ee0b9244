"""The status bar: registry, scan progress or cache age, marks, filter, messages.

Parts are shortened, then dropped least important first, when the terminal is too narrow for
all of them; what the marks free stays while marks exist, at any width. It is worked out here,
in a worker of the bar's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from rich.text import Text
from textual import work
from textual.widgets import Static
from textual.worker import get_current_worker

from dregtui.core.space import human_size
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural
from dregtui.tui import messages as msg
from dregtui.tui.session import Session

SEPARATOR = " │ "


class Part(NamedTuple):
    """One part of the bar: a higher ``priority`` stays longer. A part with a ``short`` form
    takes it, when narrow, before a part of priority ``short_worth`` or more is dropped;
    ``long`` is the form it had (it comes back if a later drop makes room)."""

    priority: int
    text: Text
    short: Text | None = None
    short_worth: int = 0
    long: Text | None = None


def age(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(
        self, session: Session, *, clock: Callable[[], float], dry_run: bool, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.clock = clock  # the time the cache's age is counted to
        self.dry_run = dry_run
        self.scan: tuple[int, int] | None = None
        self.scan_tags: tuple[int, float, int] = (0, 0.0, 0)  # done, per second, listed
        self.dates: tuple[int, int] | None = None  # created dates loaded for the date order
        self.message = ""
        self.frees: int | None = None  # bytes garbage-collect frees once the marks are deleted
        self.frees_known = True  # False: some sizes are unknown, the figure is a lower bound
        self._now = 0.0
        self._frees_key: tuple[int, ...] | None = None  # the marks and accounting it is for

    def parts(self, now: float) -> list[Part]:
        """The parts in display order."""
        inv = self.session.inventory
        out: list[Part] = []
        out.append(Part(9, Text(clean(self.session.registry.split("://", 1)[-1]), style="bold")))
        if self.scan is not None:
            done, total = self.scan
            tags, rate, listed = self.scan_tags
            text = Text(f"scanning {done}/{total} repos", style="italic")
            if tags:  # the tags move while a big repository keeps the others waiting
                of = f"/{listed:,}" if listed >= tags else ""
                text.append(f", {tags:,}{of} tags, {rate:,.0f}/s")
            out.append(Part(7, text))
        elif self.session.loading_cache:
            pass  # "loading the cache: N tags…" (the message) says it all
        elif inv.scanned_at:
            state = "cached" if self.session.from_cache else "scanned"
            out.append(Part(3, Text(f"{state} {age(now - inv.scanned_at)}")))
        else:
            out.append(Part(3, Text("not scanned")))
        if self.dates is not None:
            done, total = self.dates
            out.append(Part(7, Text(f"dates {done}/{total} (esc stops)", style="italic")))
        if self.scan is None and not self.session.loading_cache:
            out.append(Part(1, Text(f"{len(inv.repositories)} repos, {inv.tag_count} tags")))
        marks = len(self.session.marks)
        untagged = len(self.session.storage.marks)
        if marks or untagged:
            digests = self.session.marked_digest_count()  # None: the frees worker is on it
            what = f"● {plural(marks, 'tag')}" if marks else f"● {untagged} untagged"
            what += f" / {plural(digests, 'digest')}" if marks and digests is not None else ""
            what += f" + {untagged} untagged" if marks and untagged else ""
            short = None
            if marks and digests is not None:  # when narrow: without the digests
                short = Text(f"● {plural(marks, 'tag')} marked", style="bold")
            # the digests go before the filter (worth 4)
            out.append(Part(8, Text(what + " marked", style="bold"), short, 4))
            if self.frees is None:
                out.append(Part(10, Text("frees …", style="bold")))  # the worker is on it
            else:
                at_least = "" if self.frees_known else ">="
                exact = " exact" if self.session.storage.collect is not None else ""
                frees = f"frees {at_least}{human_size(self.frees)}{exact}"
                out.append(Part(10, Text(frees, style="bold")))  # never dropped while marks exist
        if self.dry_run:
            out.append(Part(9, Text("dry run", style="bold reverse")))
        if self.session.repo_filter:
            text = Text("repositories: ")
            text.append(clean(self.session.repo_filter), style="italic")
            out.append(Part(4, text))
        if self.session.tag_filter:
            text = Text("filter: ")
            text.append(clean(self.session.tag_filter), style="italic")
            out.append(Part(5, text))
        if self.message:
            out.append(Part(6, Text(clean(self.message))))
        return out

    def says_rescanning(self, repository: str) -> bool:
        """The message is about a rescan of ``repository`` (started, or how far it got)."""
        text = self.message
        return text == f"rescanning {repository}" or text.startswith(f"rescanning {repository}: ")

    def update_frees(self) -> None:
        """What the marks free: worked out in a worker when the marks or the accounting
        changed (a plan of 100,000 marks is too slow for the UI thread)."""
        storage = self.session.storage
        if not self.session.marks and not storage.marks:
            self._frees_key = None
            self.frees = None
            return
        key = (
            *self.session.marks_key(),
            id(self.session._space),
            storage.marks.version,
            id(storage.collect),
        )
        if key != self._frees_key:
            self._frees_key = key
            # once the marks are painted: the worker would take the interpreter from the paint
            self.call_after_refresh(self._start_frees, key)

    def _start_frees(self, key: tuple[int, ...]) -> None:
        if key == self._frees_key:  # else the marks changed again: a newer call follows
            self._work_out_frees(key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="frees")
    def _work_out_frees(self, key: tuple[int, ...]) -> None:
        self.session.marked_digests()  # cached for the digest count
        plan = self.session.marked_plan()
        if not get_current_worker().is_cancelled:
            self.post_message(
                msg.FreesWorkedOut(key, plan.reclaimable_bytes, plan.reclaimable_known)
            )

    def on_frees_worked_out(self, message: msg.FreesWorkedOut) -> None:
        message.stop()
        if message.key != self._frees_key:
            return  # the marks changed meanwhile: a newer figure is on its way
        self.frees = message.frees
        self.frees_known = message.known
        self.refresh_status()

    def refresh_status(self) -> None:
        """Draw the parts again, the cache's age counted to now."""
        self._now = self.clock()
        self._render_parts()

    def on_resize(self) -> None:
        self._render_parts()

    def _render_parts(self) -> None:
        parts = self.parts(self._now)
        width = self.size.width or 80
        while len(parts) > 1 and _length(parts) > width:
            lowest = min(range(len(parts)), key=lambda i: (parts[i].priority, -i))
            shortable = [i for i, part in enumerate(parts) if part.short is not None]
            cheapest = min(shortable, key=lambda i: parts[i].short_worth, default=None)
            if cheapest is not None and parts[cheapest].short_worth <= parts[lowest].priority:
                part = parts[cheapest]
                short = part.short or part.text  # (shortable: it has one)
                parts[cheapest] = part._replace(text=short, short=None, long=part.text)
                continue
            del parts[lowest]
        for index, part in enumerate(parts):  # a later drop made room for the long form
            if part.long is not None:
                tried = [*parts[:index], part._replace(text=part.long), *parts[index + 1 :]]
                if _length(tried) <= width:
                    parts = tried
        text = Text(" ", no_wrap=True, overflow="ellipsis")
        for number, part in enumerate(parts):
            if number:
                text.append(SEPARATOR)
            text.append_text(part.text)
        if text != self.content:  # one line, always: a new text repaints it, no layout
            self.update(text, layout=False)


def _length(parts: list[Part]) -> int:
    return 1 + sum(len(p.text.plain) for p in parts) + len(SEPARATOR) * (len(parts) - 1)
