"""Apply a retention policy: its deletions become marks (dregtui/core/policy/ decides them)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from dregtui.core.policy.rules import Policy, PolicyError
from dregtui.core.textsafe import clean
from dregtui.state.policy_file import load_policy
from dregtui.tui.widgets.footer import DregFooter


class PolicyScreen(ModalScreen[Policy | None]):
    """Asks for the policy file and validates it (no request); dismisses with the policy."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="policy.cancel")]

    def __init__(self, last_path: str = "") -> None:
        super().__init__()
        self.last_path = last_path

    def compose(self) -> ComposeResult:
        with Vertical(id="policy-box"):
            yield Static(
                Text("Apply a retention policy: what it deletes becomes marks", style="bold")
            )
            yield Input(
                self.last_path, placeholder="policy file, e.g. policy.toml", id="policy-path"
            )
            yield Static(
                Text("Nothing is deleted here: d shows the plan first.", style="dim"),
                id="policy-error",
            )
        yield DregFooter()  # its own keys, not the main screen's behind it

    def on_mount(self) -> None:
        self.query_one("#policy-path", Input).focus()

    @on(Input.Submitted, "#policy-path")
    def _load(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            return
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            self.query_one("#policy-error", Static).update(Text(clean(str(exc)), style="red"))
            return
        self.dismiss(policy)

    def action_cancel(self) -> None:
        self.dismiss(None)
