"""The command palette offers the same actions as the keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

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
    for title, help_text, action in ACTIONS:
        yield SystemCommand(title, help_text, getattr(app, f"action_{action}"))
