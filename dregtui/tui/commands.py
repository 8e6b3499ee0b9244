"""The command palette offers the main screen's actions, built from its bindings: the same
titles, the same help and the key each one is bound to now (user keymaps applied)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding

from dregtui.tui.keys import key_display
from dregtui.tui.screens.main import MainScreen

if TYPE_CHECKING:
    from textual.screen import Screen

# Keys that are no command: quitting is Textual's own entry, the rest move around.
NOT_IN_PALETTE = {"app.quit", "app.escape", "app.next_pane", "app.previous_pane"}

PALETTE_BINDINGS = tuple(
    b for b in MainScreen.BINDINGS if isinstance(b, Binding) and b.id not in NOT_IN_PALETTE
)
# (title, help, action) of each palette entry
ACTIONS = tuple((b.description, b.tooltip, b.action) for b in PALETTE_BINDINGS)


def palette_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    keymap = getattr(app, "user_keymap", {}) or {}
    for binding in PALETTE_BINDINGS:
        key = key_display(app, binding, keymap)
        help_text = f"{binding.tooltip}  (key: {key.split(', ')[0]})"
        yield SystemCommand(
            binding.description, help_text, getattr(screen, f"action_{binding.action}")
        )
