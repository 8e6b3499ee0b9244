"""``query-repos`` and ``query-tags``: what a removal would take, without changing anything.

Classic dregutil output: one ``repo  digest`` line per digest that would be deleted (or
untagged with ``--untag``); ``--count`` adds ``Number of selected digests: N``; ``--json``
prints the whole plan (tags, intersecting tags and other repositories per digest). Digests
skipped for safety are explained on stderr and make the exit code 3, as ``remove-* --dry-run``
does for the same selection (:func:`exit_code`, the one rule).

The helpers here (selection options, plan building) are shared with ``remove-repos`` /
``remove-tags`` (:mod:`dregtui.cli.commands.remove`); the plan's text is
:mod:`dregtui.cli.plan_text`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.core.errors import CatalogUnavailableError
from dregtui.core.inventory import Inventory
from dregtui.core.plan import build_plan
from dregtui.core.plan_model import Plan, PlanError, PlanMode
from dregtui.core.referrers import ReferrerGraph, build_graph
from dregtui.core.selection import Selection
from dregtui.core.selectors import SelectorError
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural
from dregtui.ops.referrers_api import ask_referrers, stored_referrers

ORDER = 20
EXIT_SKIPPED = 3  # something selected is skipped for safety (query-*, remove-*, --dry-run)
EXIT_CODES = (
    "Exit codes: 0 ok, 1 error, 3 something selected would be (or was) skipped for safety; "
    "query-* and remove-* --dry-run give the same code for the same selection."
)


# -- shared options ------------------------------------------------------------------------


def add_repository_options(p: argparse.ArgumentParser) -> None:
    from dregtui.cli.commands._options import add_output_options

    p.add_argument(
        "--repo",
        "-r",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="repository names (repeatable: -r a -r b is -r a b)",
    )
    p.add_argument(
        "--repo-regex",
        "-rre",
        action="extend",
        nargs="+",
        default=[],
        metavar="REGEX",
        help="repository regexes (re.match: anchored at the start); repeatable",
    )
    p.add_argument(
        "--no-raise-intersecting-repo",
        action="store_true",
        help="accepted for compatibility: digests other repositories also hold are always "
        "deleted from the selected repositories only (theirs stay)",
    )
    add_referrer_option(p)
    add_output_options(p)


def add_referrer_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep-referrers",
        action="store_true",
        help="leave the signatures, SBOMs and attestations of deleted manifests (and their "
        "fallback tags) in the registry; by default they go with what they refer to",
    )


def add_tag_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tags",
        "-t",
        action="extend",
        nargs="*",
        default=[],
        metavar="TAG",
        help="tag names or version selectors: '<1.4', '>=1.2,<2', '==1.0', '!=2.0' "
        "(a leading v is tolerated; non-version tags never match a version selector); "
        "repeatable: -t a -t b is -t a b",
    )
    p.add_argument(
        "--regex",
        "-re",
        action="extend",
        nargs="*",
        default=[],
        metavar="REGEX",
        help="tag regexes (re.match: anchored at the start only; add $ to anchor the end); "
        "repeatable",
    )
    p.add_argument(
        "--exclude",
        "-x",
        action="extend",
        nargs="*",
        default=[],
        metavar="TAG",
        help="protect digests that carry a tag with this name or version selector; "
        "repeatable: -x a -x b protects both",
    )
    p.add_argument(
        "--exclude-regex",
        "-xre",
        action="extend",
        nargs="*",
        default=[],
        metavar="REGEX",
        help="protect digests that carry a tag matching this regex; repeatable",
    )
    p.add_argument(
        "--no-match-all-tags",
        dest="match_all_tags",
        action="store_false",
        help="delete a digest even when other, unselected tags point at it (they go too)",
    )
    p.add_argument(
        "--raise-intersecting-tag",
        action="store_true",
        help="stop with an error when selected digests carry unselected tags",
    )
    p.add_argument(
        "--untag",
        action="store_true",
        help="remove only the selected tags; other tags on the same digest stay",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="restrict version selectors (and --keep-last/--older-than alone) to tags with "
        "this variant suffix (1.25.3-alpine: alpine; globs like 'alpine*'); 'none': tags "
        "without one; repeatable. Default: every variant",
    )
    p.add_argument(
        "--keep-last",
        type=int,
        metavar="N",
        help=(
            "per repository, keep the N most recent images (digests, as Harbor/GitLab "
            "retention counts: two tags on one image count once), ranked by their highest "
            "version tag (newest created with --by-date); every tag of a kept image stays, "
            "images without a version tag (or date) are kept. Without -t/-re it selects "
            "version tags only: an image it removes that also carries another tag (lts, "
            "stable) is skipped like any unselected tag (exit 3; see --no-match-all-tags, "
            "--untag); -re '.*' considers every tag but latest"
        ),
    )
    p.add_argument(
        "--by-date", action="store_true", help="--keep-last ranks images by created date"
    )
    p.add_argument(
        "--older-than",
        metavar="DURATION",
        help="only images created more than DURATION ago (30d, 12h, 2w, 1w2d); without -t/-re "
        "version tags only, as for --keep-last",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "query-repos",
        help="show the digests of whole repositories (what remove-repos would delete)",
        description="Show every digest of the selected repositories.",
        epilog=EXIT_CODES,
    )
    add_repository_options(p)
    p.set_defaults(handler=run_query, whole_repositories=True)

    p = subparsers.add_parser(
        "query-tags",
        help="show the digests that remove-tags would delete",
        description="Show the digests the selection would delete, with what else they take "
        "along. `latest` is only selected when named with -t latest.",
        epilog=EXIT_CODES,
    )
    add_repository_options(p)
    add_tag_options(p)
    p.set_defaults(handler=run_query, whole_repositories=False)


# -- selection and plan --------------------------------------------------------------------


def make_selection(args: argparse.Namespace) -> Selection:
    if not (args.repo or args.repo_regex):
        raise UsageError("No repositories given: use -r NAME ... or -rre REGEX ...")
    whole = args.whole_repositories
    tags = getattr(args, "tags", None) or []
    regex = getattr(args, "regex", None) or []
    keep_last = getattr(args, "keep_last", None)
    older_than = getattr(args, "older_than", None)
    if not whole and not (tags or regex or keep_last is not None or older_than):
        raise UsageError("No tags specified: give -t, -re, --keep-last or --older-than.")
    try:
        return Selection.from_args(
            repositories=args.repo,
            repository_regex=args.repo_regex,
            tags=tags,
            regex=regex,
            exclude=getattr(args, "exclude", None) or [],
            exclude_regex=getattr(args, "exclude_regex", None) or [],
            all_tags=whole,
            keep_last=keep_last,
            by_date=getattr(args, "by_date", False),
            older_than=older_than,
            variants=getattr(args, "variant", None) or [],
        )
    except SelectorError as exc:
        raise UsageError(str(exc)) from None


def make_mode(args: argparse.Namespace) -> PlanMode:
    return PlanMode(
        match_all_tags=getattr(args, "match_all_tags", True),
        raise_intersecting_tag=getattr(args, "raise_intersecting_tag", False),
        untag=getattr(args, "untag", False),
        referrers=not getattr(args, "keep_referrers", False),
    )


def plan_from_args(args: argparse.Namespace, ctx: Context) -> tuple[Plan, Inventory]:
    """Validate the selectors (before any request), load the inventory, build the plan."""
    selection = make_selection(args)
    mode = make_mode(args)
    try:
        inventory = ctx.inventory()
    except CatalogUnavailableError:
        if not args.repo or ctx.settings.repositories:
            raise
        # Docker Hub, GHCR, GitLab...: scan the named repositories only.
        ctx.settings = dataclasses.replace(ctx.settings, repositories=list(args.repo))
        ctx.warn(
            "the registry does not list its repositories: only the named ones are checked "
            "for digests they share."
        )
        inventory = ctx.inventory()
    names = inventory.repository_names()
    missing = selection.missing_repositories(names)
    for name in ctx.rescan_missing(inventory, missing) if missing else []:
        ctx.warn(f"the registry has no repository {clean(name)!r}.")
    names = inventory.repository_names()
    for pattern in selection.repository_patterns:
        if not any(pattern.match(name) for name in names):
            ctx.warn(f"no repository matches -rre {clean(pattern.pattern)!r}.")
    _warn_unknown_tags(ctx, selection, inventory)
    _warn_retention_scope(ctx, selection, inventory)
    created = None
    if selection.needs_dates:
        from dregtui.ops.dates import CreatedDates, load_known, save_known

        known = load_known(inventory.registry) if ctx.settings.use_cache else {}
        created = CreatedDates(ctx.client(), jobs=ctx.settings.jobs, known=known)
    chosen = selection.select(inventory, created=created)
    if created is not None and ctx.settings.use_cache:
        save_known(inventory.registry, created.known)
    graph = referrer_graph(ctx, inventory, chosen) if mode.referrers and chosen else None
    try:
        plan = build_plan(inventory, chosen, mode, graph)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    set_reclaimable(plan, inventory, ctx)
    return plan, inventory


def referrer_graph(
    ctx: Context, inventory: Inventory, repositories: Iterable[str]
) -> ReferrerGraph:
    """The referrers of the ``repositories`` (the tags', the referrers API's where the registry
    serves it, the storage's untagged ones with --storage); each broken edge one warning."""
    names = sorted(set(repositories))
    api = ask_referrers(ctx.client(), inventory, names, ctx.warn)
    view = ctx.storage_view()  # its untagged referrers, which no tag names
    stored = stored_referrers(view) if view is not None else None
    graph = build_graph(inventory, names, api, stored)
    for problem in graph.warnings:
        ctx.warn(problem)
    return graph


def set_reclaimable(plan: Plan, inventory: Inventory, ctx: Context) -> None:
    """What garbage-collect frees once ``plan`` has run: exact, counted in the registry's
    storage when one is given (dregtui/core/collect.py); else from the tags' footprints
    (dregtui/core/space.py), an upper bound, and a lower bound, said so, when some manifests'
    sizes are unknown."""
    view = ctx.storage_view()
    if view is not None:
        from dregtui.core.collect import Marks
        from dregtui.core.plan_model import Action

        plan.reclaimable_exact = True
        deleted = [(i.repository, i.digest) for i in plan.items if i.action is Action.DELETE]
        plan.reclaimable_bytes = Marks(view).frees(deleted)
        return
    if not plan.actionable:
        plan.reclaimable_bytes = 0
        return
    from dregtui.core.space import Space

    space = Space(inventory)
    plan.reclaimable_bytes = space.reclaimable(plan)
    plan.reclaimable_known = space.complete


def _warn_retention_scope(ctx: Context, selection: Selection, inventory: Inventory) -> None:
    """Retention alone ranks version tags: say when images without one were left alone by a
    rule that judges dates (--older-than, --by-date), so a cleanup of commit-id tags is not a
    silent no-op."""
    if not (selection.retention_only and selection.needs_dates):
        return
    left = selection.images_without_versions(inventory)
    if left:
        rule = "--older-than" if selection.older_than is not None else "--keep-last --by-date"
        ctx.warn(
            f"{rule} without -t/-re considers version tags only: "
            f"{plural(left, 'image')} without one left alone (add -re '.*' to consider every "
            "tag but latest)."
        )


def _warn_unknown_tags(ctx: Context, selection: Selection, inventory: Inventory) -> None:
    """A ``-t NAME`` that no selected repository has is most likely a typo: say so."""
    repositories = selection.match_repositories(inventory.repository_names())
    if not repositories:
        return
    for selector in selection.tags:
        if selector.kind != "exact":
            continue
        if not any(inventory.tag_info(repo, selector.text) for repo in repositories):
            where = repositories[0] if len(repositories) == 1 else "the selected repositories"
            ctx.warn(f"no tag {clean(selector.text)!r} in {clean(where)}.")


def run_query(args: argparse.Namespace, ctx: Context) -> int:
    plan, _ = plan_from_args(args, ctx)
    if ctx.settings.json:
        ctx.out(json.dumps(plan.to_json(), indent=2))
        return exit_code(plan)
    items = plan.actionable
    width = max([len(clean(r)) for r in args.repo + [i.repository for i in items]] or [0])
    for item in items:
        ctx.out(f"{clean(item.repository):{width}}  {clean(item.digest)}")
    for item in plan.skipped:
        ctx.stderr.write(
            f"skipped {clean(item.repository)}@{clean(item.digest)}: {clean(item.reason)}\n"
        )
    ctx.show_count("selected digests", len(items))
    return exit_code(plan)


def exit_code(plan: Plan) -> int:
    """The one rule for query-* and remove-* --dry-run (and a removal with nothing to do):
    3 when the selection holds something skipped for safety, else 0."""
    return EXIT_SKIPPED if plan.skipped else 0
