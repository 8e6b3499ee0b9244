"""``list-untagged`` and ``remove-untagged``: the untagged manifests nothing kept needs, read
from the registry's storage (the API cannot list them), deleted through the API with the
checks and the journal of every other removal.

Which are taken (:func:`dregtui.core.collect.untagged_candidates`): never a child of an index
that stays, never a referrer of a manifest that stays, only those linked longer ago than
``--older-than`` (default 1h: a multi-platform push uploads its platform manifests untagged,
then the index that tags them). Right before each DELETE, :mod:`dregtui.ops.execute` checks that
no tag points at the digest now. The figure is what plain ``garbage-collect`` then frees, to
the byte: the safe replacement for ``garbage-collect --delete-untagged``, which on 2.8 also
unlinks the platform manifests of tagged multi-platform images.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.cli.commands.query import EXIT_CODES, add_repository_options
from dregtui.cli.commands.remove import add_run_options, carry_out
from dregtui.cli.plan_text import frees_line
from dregtui.core.collect import Marks, plan_item, untagged_candidates
from dregtui.core.plan_model import Plan, PlanMode
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural

ORDER = 35
GRACE = "1h"  # --older-than by default: a push in progress uploads its children untagged first
NEEDS_STORAGE = (
    "{command} reads the registry's storage (the API cannot list untagged manifests): pass "
    "--storage PATH|s3://BUCKET[/PREFIX] or --registry-config FILE before the command."
)


def register(subparsers: Any) -> None:
    description = (
        "The untagged manifests nothing kept needs (an overwritten tag's earlier images, "
        "indexes nothing tags and their children): never a child of an index that stays, "
        "never a referrer of a manifest that stays, only those linked more than --older-than "
        "ago. Needs the registry's storage (--storage or --registry-config)."
    )
    for name, helps, handler in (
        ("list-untagged", "show the untagged manifests remove-untagged would delete", run_list),
        (
            "remove-untagged",
            "delete the untagged manifests nothing kept needs (journaled; safe for "
            "multi-platform images, unlike garbage-collect --delete-untagged)",
            run_remove,
        ),
    ):
        p = subparsers.add_parser(name, help=helps, description=description, epilog=EXIT_CODES)
        p.add_argument(
            "repos", nargs="*", metavar="REPO", help="repositories (default: every repository)"
        )
        add_repository_options(p)
        p.add_argument(
            "--older-than",
            default=GRACE,
            metavar="DURATION",
            help="only manifests linked more than DURATION ago (default 1h: a push in "
            "progress uploads its platform manifests untagged, then its index); 0s takes all",
        )
        if name == "remove-untagged":
            add_run_options(p)
        p.set_defaults(handler=handler)


def untagged_plan(args: argparse.Namespace, ctx: Context) -> tuple[Plan, int]:
    """The plan of DELETEs (indexes first, each with the candidate indexes that name it) and
    how many untagged manifests the grace period keeps."""
    from dregtui.core.selection import Selection
    from dregtui.core.selectors import SelectorError, parse_duration

    try:
        grace = parse_duration(args.older_than).total_seconds()
    except SelectorError as exc:
        raise UsageError(str(exc)) from None
    view = ctx.storage_view()
    if view is None:
        raise UsageError(NEEDS_STORAGE.format(command=args.command))
    names = sorted(view.repositories)
    wanted = [*args.repos, *args.repo]
    repositories = names
    if wanted or args.repo_regex:
        try:
            selection = Selection.from_args(
                repositories=list(dict.fromkeys(wanted)),
                repository_regex=args.repo_regex,
                all_tags=True,
            )
        except SelectorError as exc:
            raise UsageError(str(exc)) from None
        for name in selection.missing_repositories(names):
            ctx.warn(f"the storage has no repository {clean(name)!r}.")
        repositories = selection.match_repositories(names)
    marks = Marks(view)
    now = time.time()
    taken = untagged_candidates(marks, repositories, older_than=grace, now=now)
    every = untagged_candidates(marks, repositories, older_than=0, now=now)
    items = [plan_item(c) for c in taken]
    planned = {(c.repository, c.digest) for c in taken}
    for item in items:
        item.children_deleted = [c for c in item.children if (item.repository, c) in planned]
    items.sort(key=lambda i: (i.repository, not i.is_index, i.digest))
    plan = Plan(ctx.registry_url, PlanMode(), items)
    plan.reclaimable_bytes = marks.frees((c.repository, c.digest) for c in taken)
    plan.reclaimable_exact = True
    return plan, len(every) - len(taken)


def _kept_note(ctx: Context, args: argparse.Namespace, young: int) -> None:
    if young:
        ctx.stderr.write(
            f"{plural(young, 'untagged manifest')} linked less than {args.older_than} ago "
            "kept (a push may be in progress; --older-than 0s takes them).\n"
        )


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    plan, young = untagged_plan(args, ctx)
    view = ctx.storage_view()
    assert view is not None
    if ctx.settings.json:
        doc = {"older_than": args.older_than, "kept_by_grace": young, "plan": plan.to_json()}
        ctx.out(json.dumps(doc, indent=2))
        return 0
    width = max([len(clean(i.repository)) for i in plan.items] or [0])
    for item in plan.items:
        linked = view.repositories[item.repository].revisions[item.digest]
        when = datetime.fromtimestamp(linked, UTC).strftime("%Y-%m-%d %H:%M")
        kind = "  index" if item.is_index else ""
        ctx.out(f"{clean(item.repository):{width}}  {clean(item.digest)}  {when}{kind}")
    _kept_note(ctx, args, young)
    if plan.items:
        ctx.stderr.write(frees_line(plan.reclaimable_bytes or 0, exact=True) + "\n")
    ctx.show_count("untagged manifests", len(plan.items))
    return 0


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    from dregtui.core.inventory import Inventory

    plan, young = untagged_plan(args, ctx)
    _kept_note(ctx, args, young)
    # Untagged manifests are in no scan: the cache is left as it is (no tag changes).
    unscanned = Inventory(plan.registry)
    extra = {"older_than": args.older_than, "kept_by_grace": young}
    return carry_out(ctx, plan, unscanned, yes=args.yes, extra=extra)
