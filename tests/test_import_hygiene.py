"""The core (everything outside dregtui/tui/) never imports Textual or Rich."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import dregtui


def core_modules() -> list[str]:
    names = ["dregtui", "dregtui.cli", "dregtui.registry", "dregtui.inventory", "dregtui.commands"]
    for info in pkgutil.walk_packages(dregtui.__path__, "dregtui."):
        if info.name.startswith(("dregtui.tui", "dregtui.__main__")):
            continue
        names.append(info.name)
    return names


def test_core_imports_no_textual_or_rich():
    modules = core_modules()
    assert "dregtui.inventory.scanner" in modules and "dregtui.config" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from dregtui.cli import build_parser\n"
        "build_parser()  # registering every command must stay light too\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == []


PURE_CORE = [
    "dregtui.inventory.model",
    "dregtui.inventory.journal",
    "dregtui.registry.mediatypes",
    "dregtui.select",
    "dregtui.plan",
    "dregtui.versions",
]


def test_plan_and_selection_load_no_http_stack_and_no_settings() -> None:
    """The model, the selectors and the plan are pure: no requests/urllib3, no client, no
    config, no front end (so they can be reasoned about and tested without a network)."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {PURE_CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = ('requests', 'urllib3', 'dregtui.registry.client', 'dregtui.config',\n"
        "         'dregtui.cli', 'dregtui.commands', 'textual', 'rich')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == []
