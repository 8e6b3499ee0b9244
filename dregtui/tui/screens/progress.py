"""Deletion in progress: a progress bar, cancellable between items."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from dregtui.tui.text import clean
from dregtui.tui.widgets.footer import DregFooter


class ProgressScreen(ModalScreen[None]):
    BINDINGS = [
        Binding(
            "escape,x",
            "cancel",
            "Cancel",
            tooltip="Cancel: items in progress finish, the rest are not run",
            id="progress.cancel",
        ),
        Binding(
            "q",
            "no_quit",
            "Quit",
            show=False,
            tooltip="Does not quit while deleting: esc cancels after the current item",
            id="progress.no_quit",
        ),
    ]

    def __init__(self, title: str, total: int, cancel: Callable[[], None]) -> None:
        super().__init__()
        self.title_text = title
        self.total = total
        self.cancel_callback = cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box"):
            yield Static(Text(self.title_text, style="bold"), id="progress-title")
            yield ProgressBar(total=self.total, id="progress-bar", show_eta=False)
            yield Static("", id="progress-label")
        yield DregFooter()

    def update_progress(self, done: int, total: int, label: str) -> None:
        bar = self.query_one("#progress-bar", ProgressBar)
        bar.update(total=total, progress=done)
        text = Text(f"{done}/{total} done · last: ", style="dim", no_wrap=True, overflow="ellipsis")
        text.append(clean(label), style="")
        self.query_one("#progress-label", Static).update(text)

    def action_no_quit(self) -> None:
        self.notify("Still deleting: esc cancels after the current item, then q quits.")

    def action_cancel(self) -> None:
        self.cancel_callback()
        self.query_one("#progress-label", Static).update(
            Text("Cancelling after the current item…", style="italic")
        )
