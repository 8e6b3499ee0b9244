"""The command palette offers the same actions as the keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding

from dregtui.tui.screens.help import KEY_NAMES

if TYPE_CHECKING:
    from dregtui.tui.app import DregApp

ACTIONS = (
    ("Filter", "Filter repositories or tags (selector syntax)", "filter"),
    ("Mark matching tags", "Mark every tag the filter shows", "mark_matching"),
    ("Clear marks", "Unmark every tag", "clear_marks"),
    ("Delete marked tags", "Review the deletion plan, then delete", "delete"),
    ("Rescan repository", "Scan the selected repository again", "rescan"),
    ("Rescan all", "Scan the whole registry again", "rescan_all"),
    ("Sort tags", "Cycle the tag order: version, name, date", "sort"),
    ("Toggle shared-by panel", "Show or hide the reverse-lookup panel", "toggle_reverse"),
    ("Save registry as profile", "Write the registry settings to the config file", "save_profile"),
    ("Show keys", "The help screen", "help"),
)


def palette_commands(app: DregApp) -> Iterator[SystemCommand]:
    keys = {b.action: b for b in app.__class__.BINDINGS if isinstance(b, Binding)}
    keymap = getattr(app, "user_keymap", {}) or {}
    for title, help_text, action in ACTIONS:
        binding = keys.get(action)
        if binding is not None:
            key = keymap.get(binding.id or "", binding.key).split(",")[0]
            help_text += f"  (key: {KEY_NAMES.get(key, key)})"
        yield SystemCommand(title, help_text, getattr(app, f"action_{action}"))
