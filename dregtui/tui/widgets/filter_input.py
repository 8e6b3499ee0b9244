"""The filter field under the panes, for the repositories or the tags: its footer says how to
apply and how to leave it."""

from __future__ import annotations

from typing import Literal

from textual.binding import Binding
from textual.widgets import Input

Target = Literal["repos", "tags"]


class FilterInput(Input):
    BINDINGS = [
        Binding("enter", "submit", "Apply", id="filter.apply"),
        Binding("escape", "screen.escape", "Clear and close", id="filter.close"),
    ]

    target: Target = "tags"  # what the text filters

    def open(self, target: Target, value: str) -> None:
        """Show the field with ``value`` (the filter in force) for ``target``, focused."""
        self.target = target
        repos = target == "repos"
        self.placeholder = (
            "filter repositories: text or re:REGEX"
            if repos
            else "filter tags: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        self.border_title = "filter repositories" if repos else "filter tags"
        self.value = value
        self.display = True
        self.focus()
