"""A deletion plan as the command line prints it: one line per digest and what it takes along,
what garbage-collect frees afterwards, and the totals (dry runs, ``query-*`` and the y/N question
of ``remove-*`` and ``prune``). Text from the registry goes through :func:`clean`."""

from __future__ import annotations

from dregtui.core.plan_model import Action, Plan, Why, children_note
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural


def _tag_list(tags: list[str]) -> str:
    return ", ".join(clean(t) for t in tags)


def render_plan(plan: Plan) -> list[str]:
    """The plan as text lines (dry runs and the confirmation prompt)."""
    lines = []
    for item in plan.items:
        where = f"{clean(item.repository)}@{clean(item.digest)}"
        if item.why is Why.UNTAGGED:
            lines.append(f"delete  {where}  {clean(item.reason)}")
        elif item.why is Why.CHILD_OF_DELETED_INDEX:
            lines.append(f"delete  {where}  untagged: {clean(item.reason)}")
        elif item.referrer_of:  # a referrer (or fallback index) taken along, or kept with it
            verb = "delete" if item.action is Action.DELETE else "skip  "
            tags = f"  tags: {_tag_list(item.tags_removed)}" if item.tags_removed else ""
            lines.append(f"{verb}  {where}  {clean(item.reason)}{tags}")
        elif item.action is Action.DELETE:
            lines.append(f"delete  {where}  tags: {_tag_list(item.tags_removed)}")
            if item.intersecting_tags:
                lines.append(
                    f"        not selected, deleted too: {_tag_list(item.intersecting_tags)}"
                )
        elif item.action is Action.UNTAG:
            lines.append(f"untag   {where}  tags: {_tag_list(item.selected_tags)}")
            if item.tags_kept:
                lines.append(f"        stays tagged: {_tag_list(item.tags_kept)}")
        else:
            lines.append(f"skip    {where}  tags: {_tag_list(item.selected_tags)}")
            lines.append(f"        {clean(item.reason)}")
        if item.other_repositories and item.action is not Action.SKIP:
            lines.append(
                f"        also in {_tag_list(item.other_repositories)} "
                "(unaffected; keeps the blobs)"
            )
        if note := children_note(item):
            lines.append(f"        {clean(note)}")
        if item.orphaned_signatures:
            lines.append(f"        left orphaned: {_tag_list(item.orphaned_signatures)}")
    if plan.reclaimable_bytes is not None and plan.totals()["manifests_deleted"]:
        lines.append(
            frees_line(
                plan.reclaimable_bytes, known=plan.reclaimable_known, exact=plan.reclaimable_exact
            )
        )
    lines.append(summary_line(plan))
    return lines


def summary_line(plan: Plan) -> str:
    t = plan.totals()
    return (
        f"{plural(t['manifests_deleted'], 'manifest')} to delete, {t['untagged']} to untag, "
        f"{t['skipped']} skipped for safety; {plural(t['tags_removed'], 'tag')} removed "
        f"in {plural(t['repositories'], 'repository')}."
    )


def frees_line(n: int, *, known: bool = True, exact: bool = False) -> str:
    """What garbage-collect will free: exact when counted in the registry's storage, else with
    the caveat an API client cannot remove (and, when some sizes are unknown, that it is at
    least this)."""
    from dregtui.core.space import human_size
    from dregtui.core.wording import UPPER_BOUND_NOTE

    if exact:
        return (
            f"Garbage-collect then frees {human_size(n)} ({n} bytes, exact: counted in the "
            "registry's storage)."
        )
    if not known:
        return (
            f"Garbage-collect then frees at least {human_size(n)} ({n} bytes; some manifests' "
            "sizes are unknown and not counted)."
        )
    return f"Garbage-collect then frees {human_size(n)} ({n} bytes; {UPPER_BOUND_NOTE})."
