"""``remove-repos`` and ``remove-tags``: the classic dregutil removals, made safe.

Flow: validate the selectors (before any request) -> inventory (cache or scan) -> plan ->
``--dry-run``: print the plan, change nothing -> on a TTY, show the plan and ask y/N unless
``--yes`` (not a TTY: proceed, as the classic tool did) -> :func:`dregtui.ops.execute.execute_plan`
(journaled, re-checked before each DELETE) -> save the cache -> report, the ``restore`` hint and
the garbage-collection advice.

Exit codes: 0 everything planned was deleted, 1 errors (incl. deletion disabled, interrupted
runs), 3 some items were skipped for safety (so CI cleanups can tell); ``--dry-run`` and a run
with nothing to do give what ``query-*`` gives for the same selection (:func:`query.exit_code`).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from dregtui.cli.commands._context import Context
from dregtui.cli.commands.query import (
    EXIT_CODES,
    add_repository_options,
    add_tag_options,
    exit_code,
    plan_from_args,
)
from dregtui.cli.plan_text import frees_line, render_plan
from dregtui.cli.progress import StepLine
from dregtui.core.plan_model import Plan
from dregtui.core.textsafe import clean
from dregtui.ops.execute import execute_plan
from dregtui.ops.execution_result import RECLAIM_SPACE, ExecutionResult

ORDER = 30


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the plan and change nothing",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "remove-repos",
        help="delete every digest of the selected repositories",
        description="Delete every manifest of the selected repositories. Digests other "
        "repositories also hold are deleted from the selected ones only.",
        epilog=EXIT_CODES,
    )
    add_repository_options(p)
    add_run_options(p)
    p.set_defaults(handler=run_remove, whole_repositories=True)

    p = subparsers.add_parser(
        "remove-tags",
        help="delete the digests of the selected tags",
        description="Delete the manifests behind the selected tags. By default a digest that "
        "also carries unselected tags is skipped (exit code 3); see --no-match-all-tags and "
        "--untag. `latest` is only selected when named with -t latest.",
        epilog=EXIT_CODES,
    )
    add_repository_options(p)
    add_tag_options(p)
    add_run_options(p)
    p.set_defaults(handler=run_remove, whole_repositories=False)


def confirm(ctx: Context, plan: Plan) -> bool:
    for line in render_plan(plan):
        ctx.stderr.write(line + "\n")
    ctx.stderr.write("Proceed? [y/N] ")
    ctx.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _run(ctx: Context, plan: Plan, inventory: Any) -> tuple[ExecutionResult | None, bool]:
    """Execute in a worker thread so Ctrl-C cancels between items instead of killing mid-way."""
    cancel = threading.Event()
    progress = StepLine(ctx.stderr)
    box: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            box["result"] = execute_plan(
                ctx.client(),
                plan,
                inventory,
                jobs=ctx.settings.jobs,
                on_step=progress,
                cancel=cancel,
            )
        except BaseException as exc:  # re-raised in the main thread
            box["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=work, name="dregtui-remove", daemon=True)
    thread.start()
    interrupted = False
    while not finished.is_set():
        try:
            finished.wait(0.2)
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
            ctx.stderr.write("\ninterrupted: finishing the deletions in flight...\n")
    thread.join()
    progress.clear()
    if "error" in box:
        ctx.save_inventory(inventory)
        raise box["error"]
    return box.get("result"), interrupted


def report(ctx: Context, result: ExecutionResult) -> None:
    for r in result.deleted + result.untagged:
        verb = "deleted " if r in result.deleted else "untagged"
        tags = ", ".join(clean(t) for t in r.removed_tags)
        ctx.out(
            f"{verb}  {clean(r.item.repository)}@{clean(r.item.digest)}  "
            + (f"tags: {tags}" if r.removed_tags or r.item.selected_tags else "untagged")
        )
    for r in result.skipped:
        ctx.stderr.write(
            f"skipped {clean(r.item.repository)}@{clean(r.item.digest)}: {clean(r.message)}\n"
        )
    for r in result.failed:
        # The reason that stopped the run is said once, on the error line below.
        why = "" if r.message == result.stopped else f": {clean(r.message)}"
        ctx.stderr.write(f"failed  {clean(r.item.repository)}@{clean(r.item.digest)}{why}\n")
    if result.not_run:
        ctx.stderr.write(f"not attempted: {len(result.not_run)} items (run the command again)\n")
    if result.stopped:
        ctx.stderr.write(f"dregtui: error: {clean(result.stopped)}\n")


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    plan, inventory = plan_from_args(args, ctx)
    return carry_out(ctx, plan, inventory, yes=args.yes)


def carry_out(
    ctx: Context,
    plan: Plan,
    inventory: Any,
    *,
    yes: bool,
    extra: dict[str, Any] | None = None,
) -> int:
    """The plan, from --dry-run or the y/N question to the report (remove-* and prune).
    ``extra`` goes into the JSON document beside the plan."""
    extra = extra or {}
    if ctx.settings.dry_run:
        if ctx.settings.json:
            ctx.out(json.dumps({**extra, "dry_run": True, "plan": plan.to_json()}, indent=2))
        else:
            for line in render_plan(plan):
                ctx.out(line)
        return exit_code(plan)
    if not plan.actionable:
        if ctx.settings.json:
            ctx.out(json.dumps({**extra, "plan": plan.to_json(), "result": None}, indent=2))
        else:
            for item in plan.skipped:
                ctx.stderr.write(
                    f"skipped {clean(item.repository)}@{clean(item.digest)}: {clean(item.reason)}\n"
                )
            ctx.stderr.write("Nothing to remove.\n")
        ctx.show_count("removed digests", 0)
        return exit_code(plan)
    if not yes and sys.stdin is not None and sys.stdin.isatty() and not confirm(ctx, plan):
        ctx.stderr.write("Nothing removed.\n")
        return 1
    result, interrupted = _run(ctx, plan, inventory)
    ctx.save_inventory(inventory)
    assert result is not None
    if ctx.settings.json:
        doc = {**extra, "plan": plan.to_json(), "result": result.to_json()}
        ctx.out(json.dumps(doc, indent=2))
        if result.stopped:  # the JSON has the details; stderr still says why in one line
            ctx.stderr.write(f"dregtui: error: {clean(result.stopped)}\n")
    else:
        report(ctx, result)
    ctx.show_count("removed digests", len(result.deleted))
    if result.changed:
        ctx.stderr.write(f"Undo with: dregtui restore {result.batch}\n")
    if result.deleted:  # untagging alone frees nothing: no garbage-collect advice for it
        if plan.reclaimable_bytes is not None and not (result.failed or result.skipped):
            ctx.stderr.write(
                frees_line(
                    plan.reclaimable_bytes,
                    known=plan.reclaimable_known,
                    exact=plan.reclaimable_exact,
                )
                + "\n"
            )
        ctx.stderr.write(f"{RECLAIM_SPACE}\n")
    return 130 if interrupted else result.exit_code
