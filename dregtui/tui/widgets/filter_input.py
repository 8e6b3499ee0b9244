"""The filter field under the panes: its footer says how to apply and how to leave it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS = [
        Binding("enter", "submit", "Apply", id="filter.apply"),
        Binding("escape", "screen.escape", "Clear and close", id="filter.close"),
    ]
