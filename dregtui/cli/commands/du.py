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


def run_du(args: argparse.Namespace, ctx: Context) -> int:
    from dregtui.core.space import Space, Usage, human_size

    inventory = ctx.inventory()
    space = Space(inventory)
    rows: list[Usage] = []
    members: list[str] = []
    for name in dict.fromkeys(args.repo):
        repos = space.members(name)
        if not repos:
            if name.endswith("/"):
                raise UsageError(f"The registry has no repository under {name!r}.")
            raise UsageError(
                f"The registry has no repository {name!r} (a namespace ends in /: {name}/)."
            )
        members += repos
        rows.append(space.usage_of_namespace(name) if name.endswith("/") else space.usage(name))
    if not args.repo:
        rows = [u for u in space.usages() if u.tags]
        members = [u.name for u in rows]
    keys = {
        "size": lambda u: (-u.size, u.name),
        "exclusive": lambda u: (-u.exclusive, u.name),
        "name": lambda u: (u.name,),
        "tags": lambda u: (-u.tags, u.name),
    }
    rows.sort(key=keys[args.sort])
    total = space.combined(members, "total")
    if ctx.settings.json:
        doc = {
            "registry": inventory.registry,
            "total_bytes": total.size,
            "complete": space.complete,
            "repositories": [u.to_json() for u in rows],
        }
        ctx.out(json.dumps(doc, indent=2))
        return 0

    def size(n: int, usage: Usage) -> str:
        """A size that misses unreadable manifests is a lower bound; none known: '?'."""
        if usage.unknown and not n:
            return "?"
        text = str(n) if args.bytes else human_size(n)
        return ">=" + text if usage.unknown else text

    table = [("SIZE", "EXCLUSIVE", "TAGS", "MANIFESTS", "REPOSITORY")]
    table += [
        (size(u.size, u), size(u.exclusive, u), str(u.tags), str(u.manifests), clean(u.name))
        for u in rows
    ]
    table.append(
        (
            size(total.size, total),
            size(total.exclusive, total),
            str(total.tags),
            str(total.manifests),
            "total (each blob counted once)",
        )
    )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [row[i].rjust(widths[i]) for i in range(4)]
        ctx.out("  ".join(cells) + "  " + row[4])
    if not space.complete:
        ctx.warn(
            "some manifests could not be read during the scan: sizes marked >= are lower "
            "bounds, ? unknown (run with --refresh to rescan)."
        )
    return 0
