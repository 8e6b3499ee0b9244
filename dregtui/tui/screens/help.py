"""The help screen: every key binding (with keymap overrides applied) and the filter syntax."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dregtui.tui.keys import key_display
from dregtui.tui.widgets.footer import DregFooter

FILTER_HELP = (
    "Filter syntax (tags): words must all match — text (substring), <1.4, >=1.2,<2, "
    "re:^1\\. (regex), =1.0 (exact), !latest (not). Repositories (on the tree): text or "
    "re:REGEX; a version range, =tag or !term typed on the tree filters the tags shown."
)
MOVING = (
    "tab / shift+tab: next / previous pane (tree, tags, digest, shared by). ctrl+p: the "
    "command palette, every action by name. On a short terminal (30 rows or fewer) the digest "
    "/ shared-by area is a small preview until tab or enter gives it focus.\n"
    "In the tree a namespace shows how many repositories are below it, a repository its tags "
    "(… while it is scanned); ●N counts the marked tags below.\n"
    "Untagged manifests (an overwritten tag's earlier images) are known only from the "
    "registry's storage: start with --storage PATH|s3://BUCKET[/PREFIX] or --registry-config "
    'FILE, and each repository gets an "untagged" node (enter lists them, space marks '
    'those nothing kept needs); without it the tree\'s last line says "untagged: unknown".\n'
)


def bindings_text(app: App[object]) -> Group:
    """Every binding by section (keymap overrides applied) in aligned columns, then notes."""
    from dregtui.tui.screens.ask import AskScreen
    from dregtui.tui.screens.confirm import ConfirmScreen
    from dregtui.tui.screens.journal import JournalScreen, RestoreConfirmScreen
    from dregtui.tui.screens.progress import ProgressScreen
    from dregtui.tui.screens.result import ResultScreen
    from dregtui.tui.widgets.filter_input import FilterInput
    from dregtui.tui.widgets.repo_tree import RepoTree
    from dregtui.tui.widgets.tag_list import TagList
    from dregtui.tui.widgets.untagged_list import UntaggedList

    sections = [
        ("Everywhere on the main screen", getattr(getattr(app, "main", None), "BINDINGS", [])),
        ("Repository tree", RepoTree.BINDINGS),
        ("Tags", TagList.BINDINGS),
        ("Untagged manifests", UntaggedList.BINDINGS),
        ("Filter field", FilterInput.BINDINGS),
        ("Confirmation (d)", ConfirmScreen.BINDINGS),
        ("Questions (quit with marks, clear many marks)", AskScreen.BINDINGS),
        ("While deleting", ProgressScreen.BINDINGS),
        ("Result", ResultScreen.BINDINGS),
        ("Deletion journal (J)", JournalScreen.BINDINGS),
        ("Restore? (u, or enter in the journal)", RestoreConfirmScreen.BINDINGS),
    ]
    keymap = getattr(app, "user_keymap", {}) or {}
    parts: list[RenderableType] = []
    for title, bindings in sections:
        parts.append(Text(title, style="bold underline"))
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, width=14, style="bold")
        table.add_column(ratio=1)
        table.add_column(no_wrap=True, style="dim")
        for binding in bindings:
            if isinstance(binding, Binding):
                table.add_row(
                    key_display(app, binding, keymap),
                    binding.tooltip or binding.description,
                    binding.id or "",
                )
        parts += [table, Text()]
    parts.append(Text(MOVING))
    parts.append(Text(FILTER_HELP, style="italic"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("dregtui keys", style="bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(bindings_text(self.app))
        yield DregFooter()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
