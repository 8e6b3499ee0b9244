"""The filter field under the panes, for the repositories or the tags: its title says which it
filters, its bottom line says what is wrong with the text as it is typed, and its footer says
how to apply and how to leave it."""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Input

Target = Literal["repos", "tags"]

PLACEHOLDERS = {
    "repos": "filter repositories: text or re:REGEX (<1.4, =x, !x filter the tags)",
    "tags": "filter tags: text, <1.4, >=1.2,<2, re:^1\\., =1.0, !latest",
}


class FilterInput(Input):
    BINDINGS = [
        Binding("enter", "submit", "Apply", id="filter.apply"),
        Binding("escape", "screen.escape", "Clear and close", id="filter.close"),
    ]

    origin: Target = "tags"  # the pane it was opened from (focus goes back there)
    target: Target = "tags"  # what the text filters now (a tag-shaped text on the tree: tags)
    problem: str | None = None  # what is wrong with the text, shown under it

    def open(self, target: Target, value: str) -> None:
        """Show the field with ``value`` (the filter in force) for ``target``, focused."""
        self.origin = target
        self.value = value
        self.show_target(target)
        self.show_problem(None)
        self.display = True
        # focused now, not once the keys already queued are handled (``focus()`` waits its
        # turn): with the / binding's priority, what is typed right after / lands here
        self.screen.set_focus(self)

    def show_target(self, target: Target) -> None:
        """Say in the title which the text filters; a tag filter typed on the tree says why."""
        self.target = target
        self.placeholder = PLACEHOLDERS[target]
        if target == "repos":
            self.border_title = "filter repositories"
        elif self.origin == "repos":
            self.border_title = "filter tags (a version, =tag or !term filters tags)"
        else:
            self.border_title = "filter tags"

    def show_problem(self, problem: str | None) -> None:
        """What is wrong with the text, on the field's bottom line, until it is right."""
        self.problem = problem
        self.set_class(problem is not None, "-invalid")
        self.border_subtitle = Text(problem, style="bold") if problem else ""
