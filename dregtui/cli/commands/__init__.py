"""CLI commands, one module per command group. See ``dregtui.cli.main`` for the registration API.

Every module in this package that defines ``register(subparsers)`` is picked up by the CLI
(sorted by its module-level ``ORDER``, default 100, then by name). Keep module imports light:
import heavy things (Textual) inside the handler, never at module level.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    """The command modules of this package, in help order."""
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "register", None)):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
