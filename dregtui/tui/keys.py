"""Key names as the footer writes them (``App.get_key_display``), user keymaps applied."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.app import App
from textual.binding import Binding


def key_display(app: App[Any], binding: Binding, keymap: dict[str, str] | None = None) -> str:
    """Every key of ``binding``, comma-separated (``?``, ``esc, x``, ``^p``)."""
    keys = (keymap or {}).get(binding.id or "", binding.key)
    plain = dataclasses.replace(binding, key_display=None)
    return ", ".join(
        app.get_key_display(dataclasses.replace(plain, key=key.strip())) for key in keys.split(",")
    )
