"""The footer: compact (less padding between keys) when the terminal is narrow."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Footer

NARROW = 100  # columns below which the layout and the footer go compact


class DregFooter(Footer):
    def on_mount(self) -> None:
        self.compact = self.app.size.width < NARROW

    def on_resize(self, event: Resize) -> None:
        self.compact = self.app.size.width < NARROW
