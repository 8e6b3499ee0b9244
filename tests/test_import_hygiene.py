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
