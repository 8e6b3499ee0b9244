"""A yes/no question in a small box: for what must not happen by a slip of one key (quitting
with marks, clearing many of them). Any screen can ask one: push it with a callback."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from dregtui.tui.widgets.footer import DregFooter


class AskScreen(ModalScreen[bool]):
    """Dismisses with True on ``y``, False on ``n`` or escape. ``question`` is our own text
    (a registry's names in it go through ``clean`` first); ``detail`` a dim line under it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", tooltip="Yes: do it", id="ask.yes"),
        Binding(
            "n,escape",
            "answer(False)",
            "No",
            tooltip="No: back, nothing changed",
            id="ask.no",
        ),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box"):
            yield Static(Text(self.question, style="bold"), id="ask-question")
            if self.detail:
                yield Static(Text(self.detail, style="dim"), id="ask-detail")
        yield DregFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
