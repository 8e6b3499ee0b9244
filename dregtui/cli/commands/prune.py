"""``prune --policy FILE`` and ``policy check FILE``: clean up a registry from a retention policy.

Flow: load and validate the policy (before any request: a bad file is one sentence, exit 1) ->
inventory (cache or scan) -> created dates when a rule judges them ->
:func:`dregtui.core.policy.decisions.evaluate` -> per repository, what is kept and deleted and by
which rule -> the deletion plan and what it frees -> the same run as ``remove-tags``
(``--dry-run``, the y/N question unless ``--yes``, the journal, exit codes 0, 1, 3). See
:mod:`dregtui.core.policy.rules` for the file format.
"""

from __future__ import annotations

import argparse
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.cli.commands.query import EXIT_CODES, referrer_graph, set_reclaimable
from dregtui.cli.commands.remove import add_run_options, carry_out
from dregtui.core.plan import build_plan
from dregtui.core.plan_model import PlanMode
from dregtui.core.policy.decisions import Outcome, evaluate
from dregtui.core.policy.rules import Policy, PolicyError, Rule, duration_text
from dregtui.core.textsafe import clean
from dregtui.state.policy_file import load_policy

ORDER = 35


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "prune",
        help="delete what a retention policy does not keep",
        description="Apply a retention policy (a TOML file: rules of repositories, tags to keep, "
        "keep_last, keep_newer_than, delete_older_than, protected tags) to the whole registry: "
        "print what each rule keeps and deletes, then delete as remove-tags does.",
        epilog=EXIT_CODES,
    )
    p.add_argument("--policy", required=True, metavar="FILE", help="the policy file (TOML)")
    add_run_options(p)
    p.set_defaults(handler=run_prune)

    p = subparsers.add_parser(
        "policy",
        help="check a retention policy file",
        description="Validate a retention policy without touching any registry.",
    )
    sub = p.add_subparsers(dest="policy_command", metavar="{check}")
    check = sub.add_parser("check", help="validate a policy file (no registry needed)")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(handler=run_check)
    p.set_defaults(handler=run_check, file=None)


def _load(path: str) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def run_check(args: argparse.Namespace, ctx: Context) -> int:
    if not args.file:
        raise UsageError("policy: give a command: policy check FILE")
    policy = _load(args.file)
    dated = sum(1 for r in policy.rules if r.needs_dates)
    ctx.out(
        f"{clean(policy.path)}: {len(policy.rules)} rule{'s' if len(policy.rules) != 1 else ''}"
        f" ({dated} judging created dates); intersecting tags: {policy.intersecting}; "
        f"protected: latest, stable{''.join(', ' + clean(p.pattern) for p in policy.protect)}."
    )
    for rule in policy.rules:
        ctx.out(f"  {clean(rule.name)}: {describe(rule)}")
    return 0


def describe(rule: Rule) -> str:
    parts = []
    if rule.consider:
        parts.append("considers " + ", ".join(clean(p.pattern) for p in rule.consider))
    if rule.variants:
        parts.append("variants " + ", ".join(clean(v) for v in rule.variants))
    if rule.keep:
        parts.append("keeps " + ", ".join(clean(p.pattern) for p in rule.keep))
    if rule.keep_last is not None:
        per = " per variant" if rule.keep_variants_separately else ""
        parts.append(f"keeps the last {rule.keep_last} by {rule.rank_by}{per}")
    if rule.keep_newer_than is not None:
        parts.append(f"keeps newer than {duration_text(rule.keep_newer_than)}")
    if rule.delete_older_than is not None:
        parts.append(f"deletes only older than {duration_text(rule.delete_older_than)}")
    return "; ".join(parts) or "deletes every tag it considers"


def policy_outcome(ctx: Context, policy: Policy, inventory: Any) -> Outcome:
    created = None
    if policy.needs_dates:
        from dregtui.ops.dates import CreatedDates, load_known, save_known

        known = load_known(inventory.registry) if ctx.settings.use_cache else {}
        created = CreatedDates(ctx.client(), jobs=ctx.settings.jobs, known=known)
    try:
        outcome = evaluate(policy, inventory, created=created)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    if created is not None and ctx.settings.use_cache:
        save_known(inventory.registry, created.known)
    return outcome


def render_decisions(outcome: Outcome) -> list[str]:
    lines = []
    for repo in outcome.repositories:
        kept = sum(1 for d in repo.decisions if not d.delete)
        lines.append(
            f"{clean(repo.repository)}: keeps {kept}, deletes {len(repo.deleted)} "
            f"of {len(repo.decisions)} tags"
        )
        width = max(len(clean(d.tag)) for d in repo.decisions)
        for d in repo.decisions:
            verb = "delete" if d.delete else "keep  "
            by = f"{clean(d.rule)}: " if d.rule else ""
            lines.append(f"  {verb}  {clean(d.tag).ljust(width)}  {by}{clean(d.why)}")
    return lines


def run_prune(args: argparse.Namespace, ctx: Context) -> int:
    policy = _load(args.policy)
    inventory = ctx.inventory()
    outcome = policy_outcome(ctx, policy, inventory)
    for warning in outcome.warnings:
        ctx.warn(clean(warning))
    mode = PlanMode(untag=policy.intersecting == "untag")
    selected = outcome.selected()
    graph = referrer_graph(ctx, inventory, selected) if selected else None
    plan = build_plan(inventory, selected, mode, graph)
    set_reclaimable(plan, inventory, ctx)
    if not ctx.settings.json:  # a dry run prints them; a real run says them beside the prompt
        for line in render_decisions(outcome):
            if ctx.settings.dry_run:
                ctx.out(line)
            else:
                ctx.stderr.write(line + "\n")
    extra = {
        "policy": policy.path,
        "warnings": list(outcome.warnings),  # also on stderr: why a run deleted nothing
        "repositories": [r.to_json() for r in outcome.repositories],
    }
    return carry_out(ctx, plan, inventory, yes=args.yes, extra=extra)
