"""The command palette offers a screen's actions, built from its bindings: the same titles, the
same help and the key each one is bound to now (user keymaps applied)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from dregtui.tui.keys import key_display
from dregtui.tui.screens.main_keys import MAIN_SCREEN_BINDINGS

# Keys that are no command: quitting is Textual's own entry, the rest move around.
NOT_IN_PALETTE = {"app.quit", "app.escape", "app.next_pane", "app.previous_pane"}


def palette_bindings(bindings: list[BindingType]) -> tuple[Binding, ...]:
    """The bindings that are palette entries."""
    return tuple(b for b in bindings if isinstance(b, Binding) and b.id not in NOT_IN_PALETTE)


# (title, help, action) of each of the main screen's palette entries
ACTIONS = tuple(
    (b.description, b.tooltip, b.action) for b in palette_bindings(MAIN_SCREEN_BINDINGS)
)


def palette_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    """An entry for each of ``screen``'s bindings (its class's ``BINDINGS``) that is a command."""
    keymap = getattr(app, "user_keymap", {}) or {}
    for binding in palette_bindings(type(screen).BINDINGS):
        key = key_display(app, binding, keymap)
        help_text = f"{binding.tooltip}  (key: {key.split(', ')[0]})"
        yield SystemCommand(
            binding.description, help_text, getattr(screen, f"action_{binding.action}")
        )
