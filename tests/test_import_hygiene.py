"""The core (everything outside dregtui/tui/) never imports Textual or Rich."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import dregtui


def core_modules() -> list[str]:
    names = [
        "dregtui",
        "dregtui.cli.main",
        "dregtui.registry",
        "dregtui.core.inventory",
        "dregtui.cli.commands",
    ]
    for info in pkgutil.walk_packages(dregtui.__path__, "dregtui."):
        if info.name.startswith(("dregtui.tui", "dregtui.__main__")):
            continue
        names.append(info.name)
    return names


def modules_loaded_by(modules: list[str], prefixes: tuple[str, ...], extra: str = "") -> list[str]:
    """Import ``modules`` in a fresh interpreter; the loaded modules that start with ``prefixes``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"{extra}"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return list(json.loads(out))


def test_core_imports_no_textual_or_rich():
    modules = core_modules()
    assert "dregtui.ops.scanner" in modules and "dregtui.state.config" in modules
    # registering every command must stay light too
    extra = "from dregtui.cli.main import build_parser\nbuild_parser()\n"
    assert modules_loaded_by(modules, ("textual", "rich"), extra) == []


PURE_CORE = [
    "dregtui.core.inventory",
    "dregtui.state.journal",
    "dregtui.core.oci.mediatypes",
    "dregtui.core.oci.models",
    "dregtui.core.oci.digests",
    "dregtui.ops.imagefacts",
    "dregtui.core.selectors",
    "dregtui.core.selection",
    "dregtui.core.tag_filter",
    "dregtui.core.filter_index",
    "dregtui.core.plan",
    "dregtui.core.tags",
    "dregtui.core.tags",
]
HEAVY = (
    "requests",
    "urllib3",
    "dregtui.registry.client",
    "dregtui.state.config",
    "dregtui.cli.main",
    "dregtui.cli.commands",
    "textual",
    "rich",
)


def test_plan_and_selection_load_no_http_stack_and_no_settings() -> None:
    """The model, the selectors and the plan are pure: no requests/urllib3, no client, no
    config, no front end (so they can be reasoned about and tested without a network)."""
    assert modules_loaded_by(PURE_CORE, HEAVY) == []


def test_no_import_cycle_anywhere_in_the_package() -> None:
    """No module of dregtui imports, through any chain, a module that imports it back (imports
    inside functions count; imports for type checking only do not)."""
    import grimp

    graph = grimp.build_graph("dregtui", exclude_type_checking_imports=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []
