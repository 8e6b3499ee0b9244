"""The footer: compact (less padding between keys) when the terminal is narrow; without the
palette's key when very narrow."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Footer

NARROW = 100  # columns below which the layout and the footer go compact
# Columns below which the palette's key (docked right) goes: over keys wider than the footer
# Textual left their last column showing beside it (``▏^p palette`` + ``e``). ctrl+p still works,
# and the help screen lists it.
NO_PALETTE_KEY = 60


class DregFooter(Footer):
    def on_mount(self) -> None:
        self._fit(self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._fit(self.app.size.width)

    def _fit(self, width: int) -> None:
        self.compact = width < NARROW
        palette = width >= NO_PALETTE_KEY
        if palette != self.show_command_palette:
            self.show_command_palette = palette
            self.refresh(recompose=True)  # the keys are made in compose
