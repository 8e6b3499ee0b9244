"""The registry work of the TUI's deletion and restore, run in a ProgressScreen's thread.

The work is done by the core: ``dregtui.ops.execute.execute_plan`` (re-check, journal, DELETE or
untag, inventory update) and ``dregtui.ops.restore.restore_batch``; here their results become the
lines of the result screen. The flow (plan, confirmation, progress, result) is the main
screen's (:mod:`dregtui.tui.screens.main`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dregtui.core.inventory import Inventory
from dregtui.core.plan_model import Plan
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.tags import sort_tags
from dregtui.ops.execute import execute_plan
from dregtui.ops.execution_result import ItemResult, Status
from dregtui.ops.restore import RestoreStatus, restore_batch
from dregtui.ops.steps import Step
from dregtui.ops.tag_changes import TagChanges, changes_since, tags_of
from dregtui.state.journal import Journal, JournalRecord
from dregtui.tui.messages import NOT_STARTED, Outcome
from dregtui.tui.plan_words import tui_reason

Progress = Callable[[int, int, str], None]
# saves the inventory to the cache, given what changed (for a cache it cannot save whole)
Store = Callable[[TagChanges], None]


@dataclass(frozen=True)
class DeleteResult:
    outcomes: list[Outcome]
    batch: str | None  # the journal batch to restore, when something changed
    cancelled: bool


def execute(
    client: RegistryAPI,
    inventory: Inventory,
    plan: Plan,
    store: Store,
    progress: Progress,
    cancel: threading.Event,
    *,
    journal: Journal | None = None,
) -> DeleteResult:
    """Run the plan; ``store`` saves the inventory afterwards (whatever happened), told
    what changed."""

    def report(step: Step) -> None:
        progress(step.done, step.total, step.label)

    before = tags_of(inventory, (i.repository for i in plan.actionable))
    try:
        result = execute_plan(
            client, plan, inventory, on_step=report, cancel=cancel, journal=journal
        )
    finally:
        store(changes_since(before, inventory))
    outcomes = [
        Outcome(
            r.item.repository,
            r.item.digest,
            sort_tags(r.removed_tags or r.item.selected_tags),
            r.status.value,
            _result_reason(r),
        )
        for r in result.results
    ]
    outcomes += [
        Outcome(i.repository, i.digest, i.selected_tags, NOT_STARTED, "cancelled")
        for i in result.not_run
    ]
    if result.stopped:
        outcomes.append(Outcome("", "", [], "failed", result.stopped))
    return DeleteResult(outcomes, result.batch if result.changed else None, result.cancelled)


def _result_reason(result: ItemResult) -> str:
    """Why an item was skipped or failed; nothing for a plain 'deleted' or 'untagged'."""
    if result.status is Status.DELETED:
        return ""
    if result.message.strip().lower() in ("", result.status.value):
        return ""
    if result.status is Status.SKIPPED and result.message == result.item.reason:
        # skipped by the plan: in the TUI's words (the confirmation's choices), not the CLI's
        return tui_reason(result.item, after=True) or result.message
    return result.message


def restore(
    client: RegistryAPI,
    inventory: Inventory,
    batch_id: str,
    store: Store,
    progress: Progress,
    cancel: threading.Event,
    *,
    journal: Journal | None = None,
) -> list[Outcome]:
    """Put the batch back (a restore runs to its end: ``cancel`` is not looked at)."""
    journal = journal if journal is not None else Journal()
    found = journal.find(batch_id, client.base_url)
    if found is None:
        return [Outcome("", "", [], "failed", f"batch {batch_id} is not in the journal")]

    def report(step: Step) -> None:
        progress(step.done, step.total, step.label)

    before = tags_of(inventory, (r.repository for r in found.pending))
    try:
        result = restore_batch(client, found, inventory, journal, on_step=report)
    finally:
        store(changes_since(before, inventory))
    status = {RestoreStatus.RESTORED: "restored", RestoreStatus.PARTIAL: "restored"}
    return [
        Outcome(
            item.record.repository,
            item.record.digest,
            item.tags or list(item.record.tags),
            status.get(item.status, "failed"),
            _restore_reason(item.status, item.message, item.record),
        )
        for item in result.items
    ]


def _restore_reason(status: RestoreStatus, message: str, record: JournalRecord) -> str:
    """The restore message without what the line already says (repository@digest restored)."""
    if status is RestoreStatus.RESTORED:
        return ""
    where = f"{record.repository}@{record.digest}"
    for prefix in (where + " restored; ", where + ": "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
