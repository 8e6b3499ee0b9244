"""The status bar: registry, scan progress or cache age, marks, filter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from dregtui.tui.session import Session
from dregtui.tui.text import clean


def age(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


class StatusBar(Static):
    def __init__(self, session: Session, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.scan: tuple[int, int] | None = None
        self.scan_tags: tuple[int, float] = (0, 0.0)
        self.dates: tuple[int, int] | None = None  # created dates loaded for the date order
        self.message = ""
        self.from_cache = False
        self.dry_run = False

    def refresh_status(self, now: float) -> None:
        inv = self.session.inventory
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" " + clean(self.session.registry.split("://", 1)[-1]), style="bold")
        text.append(" │ ")
        if self.scan is not None:
            done, total = self.scan
            tags, rate = self.scan_tags
            text.append(f"scanning {done}/{total} repos", style="italic")
            if tags:
                text.append(f", {tags} tags, {rate:.0f}/s", style="italic")
        elif inv.scanned_at:
            text.append(f"{'cached' if self.from_cache else 'scanned'} {age(now - inv.scanned_at)}")
        else:
            text.append("not scanned")
        if self.dates is not None:
            text.append(" │ ")
            text.append(f"dates {self.dates[0]}/{self.dates[1]} (esc stops)", style="italic")
        elif self.scan is None:
            text.append(f" │ {len(inv.repositories)} repos, {inv.tag_count} tags")
        marks = len(self.session.marks)
        if marks:
            digests = len(self.session.marked_digests())
            text.append(" │ ")
            text.append(f"● {marks} tags / {digests} digests marked", style="bold")
        if self.dry_run:
            text.append(" │ ")
            text.append("dry run", style="bold reverse")
        if self.session.tag_filter:
            text.append(" │ filter: ")
            text.append(clean(self.session.tag_filter), style="italic")
        if self.message:
            text.append(" │ " + clean(self.message))
        self.update(text)
