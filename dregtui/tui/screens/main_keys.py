"""The main screen's keys. Binding ids stay ``app.*``: user keymaps name them.

The footer shows the keys of everyday work (it must fit 80 columns); every binding is in the
help screen (?) and, with a tooltip, in the command palette.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_SCREEN_BINDINGS: list[BindingType] = [
    Binding(
        "slash",
        "filter",
        "Filter",
        tooltip="Filter repositories or tags (selector syntax)",
        id="app.filter",
        # before the key reaches a pane: what is typed right after it lands in the field
        priority=True,
    ),
    Binding(
        "m",
        "mark_matching",
        "Mark matching",
        tooltip="Mark every tag the filter shows (all of the repository without a filter)",
        id="app.mark_matching",
    ),
    Binding(
        "d", "delete", "Delete", tooltip="Delete the marked tags (plan first)", id="app.delete"
    ),
    Binding("question_mark", "help", "Help", tooltip="Show every key", id="app.help"),
    Binding("q", "app.quit", "Quit", id="app.quit"),
    Binding(
        "c",
        "clear_marks",
        "Clear marks",
        show=False,
        tooltip="Unmark every tag, saying how many (asks first when more than 20)",
        id="app.clear_marks",
    ),
    Binding(
        "s",
        "sort",
        "Sort: version, name, date, variant",
        show=False,
        tooltip="Cycle the tag order: version, name, date, grouped by variant",
        id="app.sort",
    ),
    Binding(
        "o",
        "order_repositories",
        "Repositories: by name / largest first",
        show=False,
        tooltip="Order the repository tree by name or by size (largest first)",
        id="app.order_repositories",
    ),
    Binding(
        "v",
        "toggle_reverse",
        "Shared by / digest",
        show=False,
        tooltip="Show or hide the reverse-lookup panel",
        id="app.toggle_reverse",
    ),
    Binding(
        "r",
        "rescan",
        "Rescan repository",
        show=False,
        tooltip="Scan the selected repository again",
        id="app.rescan",
    ),
    Binding(
        "R",
        "rescan_all",
        "Rescan all",
        show=False,
        tooltip="Scan the whole registry again",
        id="app.rescan_all",
    ),
    Binding(
        "p",
        "apply_policy",
        "Apply a policy",
        show=False,
        tooltip="Load a retention policy file: the tags it deletes become marks",
        id="app.apply_policy",
    ),
    Binding(
        "P",
        "save_profile",
        "Save registry as profile",
        show=False,
        tooltip="Write the registry settings to the config file",
        id="app.save_profile",
    ),
    Binding(
        "escape",
        "escape",
        "Back",
        show=False,
        tooltip="Back: close or clear the filter, stop loading dates, back to the tags",
        id="app.escape",
    ),
    Binding(
        "z",
        "toggle_plumbing",
        "Plumbing tags",
        show=False,
        tooltip="Show or fold the referrers' plumbing tags (sha256-<hex>, .sig, .att, .sbom)",
        id="app.toggle_plumbing",
    ),
    Binding(
        "u",
        "restore_last",
        "Restore the last deletion",
        show=False,
        tooltip="Put back this registry's newest deletion not restored yet (asks first)",
        id="app.restore_last",
    ),
    Binding(
        "J",
        "journal",
        "Deletion journal",
        show=False,
        tooltip="List this registry's deletions, newest first; restore any one of them",
        id="app.journal",
    ),
    Binding("tab", "cycle_panes(1)", "Next pane", show=False, id="app.next_pane"),
    Binding("shift+tab", "cycle_panes(-1)", "Previous pane", show=False, id="app.previous_pane"),
]
