"""``du``: which repositories hold the space (sizes from the scan; see ``dregtui/core/space.py``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.core.textsafe import clean

ORDER = 15
SORTS = ("size", "exclusive", "name", "tags")


def register(subparsers: Any) -> None:
    from dregtui.cli.commands._options import add_output_options

    p = subparsers.add_parser(
        "du",
        help="show how much storage each repository holds",
        description="Show, per repository, the bytes its manifests reference (size: shared "
        "blobs counted once) and the bytes no other repository references (exclusive: "
        "roughly what deleting the repository frees), largest first, with a total line. "
        "A name ending in / (team/) is a namespace: one line for everything under it.",
    )
    p.add_argument(
        "repo", nargs="*", help="repositories or namespaces (team/) to show (default: all)"
    )
    p.add_argument(
        "--sort", choices=SORTS, default="size", help="order of the lines (default: size)"
    )
    p.add_argument("--bytes", action="store_true", help="exact byte counts instead of KiB/MiB")
    add_output_options(p)
    p.set_defaults(handler=run_du)


DU_NOTE = (
    "du counts only what tags reference: untagged manifests (the API cannot list them) and "
    "blobs nothing references hold more (--storage or --registry-config counts them)"
)


def run_du(args: argparse.Namespace, ctx: Context) -> int:
    from dregtui.core.space import Space, Usage, human_size

    view = ctx.storage_view()
    if view is not None:
        from dregtui.ops.storage_inventory import inventory_from_view

        inventory = inventory_from_view(view, ctx.registry_url)
    else:
        inventory = ctx.inventory()
    space = Space(inventory)
    rows: list[Usage] = []
    members: list[str] = []
    groups: dict[str, list[str]] = {}  # a line's name -> its repositories
    for name in dict.fromkeys(args.repo):
        repos = space.members(name)
        if not repos:
            if name.endswith("/"):
                raise UsageError(f"The registry has no repository under {name!r}.")
            raise UsageError(
                f"The registry has no repository {name!r} (a namespace ends in /: {name}/)."
            )
        members += repos
        groups[name] = repos
        rows.append(space.usage_of_namespace(name) if name.endswith("/") else space.usage(name))
    if not args.repo:
        rows = [u for u in space.usages() if u.tags or (view and u.name in view.repositories)]
        members = [u.name for u in rows]
        groups = {u.name: [u.name] for u in rows}
    keys = {
        "size": lambda u: (-u.size, u.name),
        "exclusive": lambda u: (-u.exclusive, u.name),
        "name": lambda u: (u.name,),
        "tags": lambda u: (-u.tags, u.name),
    }
    rows.sort(key=keys[args.sort])
    total = space.combined(members, "total")
    # With the storage: the bytes only untagged manifests hold, and (for the whole registry)
    # the blobs nothing references; the total is then every blob in the storage.
    untagged: dict[str, int] = {}
    untagged_total = unreferenced = total_bytes = None
    if view is not None:
        from dregtui.core.collect import Marks, untagged_bytes, untagged_space

        marks = Marks(view)
        whole = untagged_space(marks)
        untagged = {name: untagged_bytes(marks, repos) for name, repos in groups.items()}
        if args.repo:
            untagged_total = untagged_bytes(marks, members)
        else:
            untagged_total, unreferenced = whole.untagged, whole.unreferenced
            total_bytes = whole.total
    if ctx.settings.json:
        doc: dict[str, Any] = {
            "registry": inventory.registry,
            "total_bytes": total.size if total_bytes is None else total_bytes,
            "complete": space.complete,
            "exact": view is not None,
        }
        if view is None:
            doc["note"] = DU_NOTE
        else:
            doc["tagged_bytes"] = total.size
            doc["untagged_bytes"] = untagged_total
            if unreferenced is not None:
                doc["unreferenced_bytes"] = unreferenced
        doc["repositories"] = [
            u.to_json() | ({"untagged_bytes": untagged[u.name]} if view is not None else {})
            for u in rows
        ]
        ctx.out(json.dumps(doc, indent=2))
        return 0

    def size(n: int, usage: Usage) -> str:
        """A size that misses unreadable manifests is a lower bound; none known: '?'."""
        if usage.unknown and not n:
            return "?"
        text = str(n) if args.bytes else human_size(n)
        return ">=" + text if usage.unknown else text

    def plain(n: int) -> str:
        return str(n) if args.bytes else human_size(n)

    extra = view is not None
    table = [("SIZE", "EXCLUSIVE", "TAGS", "MANIFESTS") + (("UNTAGGED",) if extra else ())]
    names = ["REPOSITORY"]
    for u in rows:
        cells = (size(u.size, u), size(u.exclusive, u), str(u.tags), str(u.manifests))
        table.append(cells + ((plain(untagged[u.name]),) if extra else ()))
        names.append(clean(u.name))
    if unreferenced is not None:
        table.append((plain(unreferenced), "", "", "") + ("",))
        names.append(
            "unreferenced: no manifest references them (the next garbage-collect frees them)"
        )
    cells = (
        size(total.size, total) if total_bytes is None else plain(total_bytes),
        size(total.exclusive, total),
        str(total.tags),
        str(total.manifests),
    )
    table.append(cells + ((plain(untagged_total or 0),) if extra else ()))
    names.append(
        "total (every blob in the storage, each once)"
        if total_bytes is not None
        else "total (each blob counted once)"
    )
    columns = len(table[0])
    widths = [max(len(row[i]) for row in table) for i in range(columns)]
    for row, name in zip(table, names, strict=True):
        ctx.out("  ".join(row[i].rjust(widths[i]) for i in range(columns)) + "  " + name)
    if not space.complete:
        ctx.warn(
            "some manifests could not be read during the scan: sizes marked >= are lower "
            "bounds, ? unknown (run with --refresh to rescan)."
        )
    if view is None:
        ctx.stderr.write(f"dregtui: note: {DU_NOTE}.\n")
    return 0
