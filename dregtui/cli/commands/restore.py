"""``restore``: list recent deletions, or put a batch back from the journal.

    dregtui restore                 # recent deletion batches (of -reg's registry, if given)
    dregtui restore --last          # re-upload the newest batch not restored yet
    dregtui restore ID              # a batch id (or unique prefix), or one record id

Manifests are re-uploaded byte for byte, then their tags; index children before the index. This
works until the registry's garbage collector runs: after that each affected item says its blobs
are gone. A restored batch is marked in the journal; restoring it again says so and does nothing.
Exit codes: 0 all restored, 1 failures (or a journal line of the batch unreadable), 3 some tags
left alone (they point elsewhere).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.cli.progress import StepLine
from dregtui.core.textsafe import clean
from dregtui.ops.connect import make_client
from dregtui.ops.restore import RestoreStatus, restore_batch
from dregtui.state.journal import Batch, Journal, JournalUnreadable

ORDER = 40
LIST_LIMIT = 20


def register(subparsers: Any) -> None:
    from dregtui.cli.commands._options import add_output_options

    p = subparsers.add_parser(
        "restore",
        help="list recent deletions, or restore one (ID or --last)",
        description="Without arguments, list recent deletion batches from the journal. With a "
        "batch ID or --last, re-upload its manifests and tags (works until the registry's "
        "garbage collector has run).",
    )
    p.add_argument("id", nargs="?", help="batch id (or a unique prefix), or a record id")
    p.add_argument("--last", action="store_true", help="restore the most recent batch")
    p.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print what would be restored and change nothing",
    )
    add_output_options(p)
    p.set_defaults(handler=run_restore)


def _registry_filter(ctx: Context) -> str | None:
    """The -reg registry as the journal names it: normalized, without any user:password@."""
    return ctx.registry_url if ctx.settings.registry else None


def _warn_problems(ctx: Context, journal: Journal) -> None:
    for problem in journal.problems[:5]:
        ctx.warn(problem.message + ".")
    if len(journal.problems) > 5:
        ctx.warn(f"{len(journal.problems) - 5} more lines of {journal.path} were skipped.")


def _list(ctx: Context, journal: Journal) -> int:
    batches = journal.batches(_registry_filter(ctx))[:LIST_LIMIT]
    _warn_problems(ctx, journal)
    if ctx.settings.json:
        doc = [
            {
                "batch": b.id,
                "time": b.time,
                "registry": b.registry,
                "repositories": b.repositories,
                "manifests": len(b.deleted),
                "tags": sum(len(r.tags) for r in b.deleted),
                "untagged": sum(len(r.tags) for r in b.untagged),
                "state": b.state,
            }
            for b in batches
        ]
        ctx.out(json.dumps(doc, indent=2))
        return 0
    if not batches:
        ctx.stderr.write(f"No deletions recorded in {journal.path}.\n")
        return 0
    for batch in batches:
        ctx.out(clean(batch.summary()))
    return 0


def _client_for(ctx: Context, batch: Batch) -> Any:
    wanted = _registry_filter(ctx)
    if wanted is not None:
        if wanted != batch.registry:
            raise UsageError(
                f"Batch {batch.id} was deleted from {batch.registry}, not from {wanted}."
            )
        return ctx.client()
    return make_client(
        ctx.with_password(dataclasses.replace(ctx.settings, registry=batch.registry))
    )


def run_restore(args: argparse.Namespace, ctx: Context) -> int:
    try:
        return _run(args, ctx, Journal())
    except JournalUnreadable as exc:
        raise UsageError(str(exc)) from None


def _run(args: argparse.Namespace, ctx: Context, journal: Journal) -> int:
    if not args.id and not args.last:
        return _list(ctx, journal)
    if args.id and args.last:
        raise UsageError("Give either a batch ID or --last, not both.")
    registry = _registry_filter(ctx)
    batch = journal.last(registry) if args.last else journal.find(args.id)
    _warn_problems(ctx, journal)
    if batch is None and args.last:
        newest = journal.batches(registry)
        if newest:
            ctx.out(
                f"Batch {newest[0].id} ({newest[0].time[:19].replace('T', ' ')}) was restored "
                "already, like every deletion in the journal: nothing to restore."
            )
            return 0
    if batch is not None and batch.is_restored:
        ctx.out(f"Batch {batch.id} was restored already: nothing to restore.")
        return 0
    if batch is None:
        if args.last:
            what = "no deletion recorded" + (f" for {registry}" if registry else "")
        else:
            what = f"no deletion batch or record {args.id!r}"
            matches = [b.id for b in journal.batches() if b.id.startswith(args.id)]
            if len(matches) > 1:
                raise UsageError(
                    f"{args.id!r} matches {len(matches)} deletion batches "
                    f"({', '.join(matches[:3])}{', ...' if len(matches) > 3 else ''}); "
                    "give more of the batch ID."
                )
        raise UsageError(f"There is {what} in {journal.path} (run `dregtui restore` to list).")
    if ctx.settings.dry_run:
        return _dry_run(ctx, batch)
    client = _client_for(ctx, batch)
    cache = _cache(ctx, batch)
    inventory = cache.load(warn=ctx.warn) if cache is not None else None
    step_line = StepLine(ctx.stderr)
    try:
        result = restore_batch(client, batch, inventory, journal, on_step=step_line)
    finally:
        step_line.clear()
        if client is not ctx._client:
            client.close()
    if cache is not None and inventory is not None:
        try:
            cache.save(inventory)
        except (OSError, ValueError):
            cache.remove()
    if result.unmarked:
        ctx.warn(result.unmarked)
    if ctx.settings.json:
        ctx.out(json.dumps(result.to_json(), indent=2))
    else:
        for item in result.items:
            where = f"{clean(item.record.repository)}@{clean(item.record.digest)}"
            if item.status is RestoreStatus.FAILED:
                ctx.stderr.write(f"failed    {clean(item.message)}\n")
                continue
            ctx.out(f"restored  {where}  tags: {', '.join(clean(t) for t in item.tags)}")
            if item.status is RestoreStatus.PARTIAL:
                ctx.stderr.write(f"partial   {clean(item.message)}\n")
    if any(p.concerns(batch.id) for p in journal.problems):
        ctx.warn(f"batch {batch.id} may be incomplete: a journal line could not be read.")
        return max(result.exit_code, 1)
    return result.exit_code


def _dry_run(ctx: Context, batch: Batch) -> int:
    """What ``restore`` would put back (from the journal alone; no registry request)."""
    records = [
        {
            "repository": r.repository,
            "digest": r.digest,
            "media_type": r.media_type,
            "tags": list(r.tags),
        }
        for r in batch.pending
    ]
    if ctx.settings.json:
        ctx.out(json.dumps({"dry_run": True, "batch": batch.id, "registry": batch.registry,
                            "records": records}, indent=2))  # fmt: skip
        return 0
    for r in batch.pending:
        ctx.out(
            f"restore   {clean(r.repository)}@{clean(r.digest)}  tags: {', '.join(clean(t) for t in r.tags)}"
        )
    ctx.out(f"dry run: nothing restored (batch {batch.id} from {batch.registry}).")
    return 0


def _cache(ctx: Context, batch: Batch) -> Any:
    """The batch registry's cache (updated with the restored tags), or None without a cache."""
    if not ctx.settings.use_cache:
        return None
    from dregtui.state.cache import InventoryCache

    if ctx.settings.cache:
        return InventoryCache(ctx.settings.cache, batch.registry)
    return InventoryCache.for_registry(batch.registry)
