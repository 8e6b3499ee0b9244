"""``list-repo-names`` and ``list-tag-names``: the classic dregutil listing commands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from dregtui.cli.commands._context import Context, UsageError
from dregtui.core.errors import CatalogUnavailableError
from dregtui.core.referrers import plumbing_subject
from dregtui.core.textsafe import clean

ORDER = 10


def register(subparsers: Any) -> None:
    from dregtui.cli.commands._options import add_output_options

    p = subparsers.add_parser(
        "list-repo-names",
        help="list the repositories that hold at least one tag",
        description="List the names of all repositories that hold at least one tag.",
    )
    add_output_options(p)
    p.set_defaults(handler=run_list_repo_names)

    p = subparsers.add_parser(
        "list-tag-names",
        help="list the tags of every (or the named) repositories",
        description="List the tags of each repository in version order, optionally only of "
        "the named repositories.",
    )
    p.add_argument("repo", nargs="*", help="repository names to list (default: all)")
    p.add_argument("--reverse-sort", action="store_true", help="newest version first")
    p.add_argument(
        "--image-names",
        action="store_true",
        help="print image references (registry/repository:tag) instead of columns",
    )
    add_output_options(p)
    p.set_defaults(handler=run_list_tag_names)


def run_list_repo_names(args: argparse.Namespace, ctx: Context) -> int:
    inventory = ctx.inventory()
    names = [repo for repo in inventory.repository_names() if inventory.repositories[repo]]
    if ctx.settings.json:
        doc = [{"repository": r, "tags": len(inventory.repositories[r])} for r in names]
        ctx.out(json.dumps(doc, indent=2))
        return 0
    for repo in names:
        ctx.out(clean(repo))
    ctx.show_count("repositories", len(names))
    return 0


def registry_prefix(url: str) -> str:
    """``https://host:5000/path`` -> ``host:5000/path`` (the registry part of an image name)."""
    parts = urlsplit(url)
    return (parts.netloc.rpartition("@")[2] + parts.path).rstrip("/")


def run_list_tag_names(args: argparse.Namespace, ctx: Context) -> int:
    try:
        inventory = ctx.inventory()
    except CatalogUnavailableError:
        if not args.repo or ctx.settings.repositories:
            raise
        inventory = ctx.inventory(repositories=list(args.repo))  # Docker Hub, GHCR, GitLab...
    if args.repo:
        missing = ctx.rescan_missing(inventory, list(args.repo))
        if missing:
            raise UsageError(
                f"The registry has no repository {missing[0]!r} (try list-repo-names, or --refresh)."
            )
        repos = list(dict.fromkeys(args.repo))
    else:
        repos = inventory.repository_names()

    def rows() -> Iterator[tuple[str, str]]:  # streamed: a million tags are never one list
        for repo in repos:
            for tag in inventory.tags(repo, reverse=args.reverse_sort):
                yield repo, tag

    def item(repo: str, tag: str) -> dict[str, Any]:
        info = inventory.tag_info(repo, tag)
        doc: dict[str, Any] = {
            "repository": repo,
            "tag": tag,
            "digest": info.digest if info else None,
            "media_type": info.media_type if info else None,
        }
        subject = plumbing_subject(tag)
        if subject is not None:  # a referrer's tag: it follows its subject
            doc["referrer_of"] = subject
        elif info is not None and (found := graph.closure(repo, [info.digest])):
            doc["referrers"] = [r.to_json() for r in found]  # recursively, subjects first
        return doc

    if ctx.settings.json:
        from dregtui.cli.commands.query import referrer_graph

        graph = referrer_graph(ctx, inventory, repos)
        ctx.out_json_list(item(repo, tag) for repo, tag in rows())
        return 0
    count = 0
    if args.image_names:
        prefix = registry_prefix(ctx.registry_url)
        for repo, tag in rows():
            ctx.out(clean(f"{prefix}/{repo}:{tag}"))
            count += 1
    else:
        width = max((len(clean(r)) for r in repos if inventory.repositories.get(r)), default=0)
        for repo, tag in rows():
            ctx.out(f"{clean(repo):{width}}  {clean(tag)}")
            count += 1
    ctx.show_count("tags", count)
    return 0
