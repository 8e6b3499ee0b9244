"""Save the current registry as a named profile in the config file (never the password)."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from dregtui.core.textsafe import clean

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ProfileScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="profile.cancel")]

    def __init__(self, settings: Any) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-box"):
            yield Static(
                Text("Save this registry as a profile (the password is never saved)", style="bold")
            )
            yield Input(placeholder="profile name, e.g. prod", id="profile-name")
            yield Static("", id="profile-error")

    def on_mount(self) -> None:
        self.query_one("#profile-name", Input).focus()

    @on(Input.Submitted, "#profile-name")
    def _save(self, event: Input.Submitted) -> None:
        from dregtui.state.config import save_profile

        name = event.value.strip()
        if not NAME.match(name):
            self.query_one("#profile-error", Static).update(
                Text("Use letters, digits, '.', '_' or '-'.", style="red")
            )
            return
        try:
            path = save_profile(name, self.settings, getattr(self.settings, "config_path", None))
        except OSError as exc:
            self.query_one("#profile-error", Static).update(
                Text(clean(f"Cannot write the config file: {exc}"), style="red")
            )
            return
        self.app.notify(clean(f"Saved profile {name} in {path}."), markup=False)
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
