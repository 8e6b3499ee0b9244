"""A deletion or a restore in progress: the screen runs the job in its own thread worker and
dismisses with the job's result (``None`` when the job failed: the App says why).

A job is ``job(progress, cancel) -> result``: it calls ``progress(done, total, label)`` from its
thread (the label names the phase: ``re-checking 3,000 tags of ci/builds: 1,200 done``,
``deleting 12/40: team/app @ sha256:…``) and looks at ``cancel`` (a ``threading.Event``) between
items. The bar follows each phase's own count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState

from dregtui.core.textsafe import clean
from dregtui.tui import messages as msg
from dregtui.tui.widgets.footer import DregFooter

T = TypeVar("T")
Progress = Callable[[int, int, str], None]
Job = Callable[[Progress, threading.Event], T]


class ProgressScreen(ModalScreen[T | None], Generic[T]):
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

    def __init__(
        self,
        title: str,
        total: int | None,
        job: Job[T],
        *,
        group: str = "delete",
        label: str = "starting…",
    ) -> None:
        """``label``: what shows until the job reports its first step."""
        super().__init__()
        self.first_label = label
        self.title_text = title
        self.total = total
        self.job = job
        self.group = group  # the App's quit guard looks for "delete" and "restore" workers
        self.cancel_event = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box"):
            yield Static(Text(self.title_text, style="bold"), id="progress-title")
            yield ProgressBar(total=self.total, id="progress-bar", show_eta=False)
            yield Static(Text(self.first_label, style="dim"), id="progress-label")
        yield DregFooter()

    def on_mount(self) -> None:
        self.run_worker(
            self._work, thread=True, exclusive=True, exit_on_error=False, group=self.group
        )

    def _work(self) -> None:
        def progress(done: int, total: int, label: str) -> None:
            self.post_message(msg.DeleteProgress(done, total, label))

        result = self.job(progress, self.cancel_event)
        self.app.call_from_thread(self.dismiss, result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == self.group and event.state is WorkerState.ERROR:
            self.dismiss(None)  # the event goes on to the App, which tells the user

    def on_delete_progress(self, message: msg.DeleteProgress) -> None:
        self.update_progress(message.done, message.total, message.label)

    def update_progress(self, done: int, total: int, label: str) -> None:
        bar = self.query_one("#progress-bar", ProgressBar)
        bar.update(total=total, progress=done)
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.cancel_event.is_set():
            text.append("Cancelling after the current item… ", style="italic")
        text.append(clean(label))
        self.query_one("#progress-label", Static).update(text)

    @property
    def doing(self) -> str:
        return "restoring" if self.group == "restore" else "deleting"

    def action_no_quit(self) -> None:
        self.notify(f"Still {self.doing}: esc cancels after the current item, then q quits.")

    def action_cancel(self) -> None:
        if self.group == "restore":
            self.notify("A restore runs to its end: every journaled manifest goes back.")
            return
        self.cancel_event.set()
        self.query_one("#progress-label", Static).update(
            Text("Cancelling after the current item…", style="italic")
        )
