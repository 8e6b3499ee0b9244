"""The help screen: every key binding (with keymap overrides applied) and the filter syntax."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

FILTER_HELP = (
    "Filter syntax (tags): words must all match — text (substring), <1.4, >=1.2,<2, "
    "re:^1\\. (regex), =1.0 (exact), !latest (not). Repositories: text or re:REGEX."
)


def bindings_text(app: object) -> Text:
    from dregtui.tui.widgets.repo_tree import RepoTree
    from dregtui.tui.widgets.tag_list import TagList

    text = Text()
    sections = [
        ("Everywhere", app.__class__.BINDINGS),
        ("Repository tree", RepoTree.BINDINGS),
        ("Tags", TagList.BINDINGS),
    ]
    keymap = getattr(app, "user_keymap", {}) or {}
    for title, bindings in sections:
        text.append(f"{title}\n", style="bold underline")
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            keys = keymap.get(binding.id or "", binding.key)
            shown = ", ".join(
                k.replace("question_mark", "?").replace("slash", "/") for k in keys.split(",")
            )
            text.append(f"  {shown:<16}", style="bold")
            text.append(f"{binding.description}")
            if binding.id:
                text.append(f"  ({binding.id})", style="dim")
            text.append("\n")
        text.append("\n")
    text.append("  enter on a repository opens it; enter on a tag shows who shares its digest;\n")
    text.append("  tab moves to the next pane; ctrl+p opens the command palette.\n\n")
    text.append(FILTER_HELP, style="italic")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("dregtui keys", style="bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(bindings_text(self.app))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
