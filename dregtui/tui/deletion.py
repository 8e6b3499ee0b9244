"""Delete marked tags: plan -> confirmation -> worker with progress -> result -> restore.

The registry work is done by the core: ``dregtui.execute.execute_plan`` (re-check, journal,
DELETE or untag, inventory update) and ``dregtui.restore.restore_batch``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work

from dregtui.execute import ItemResult, Status, execute_plan
from dregtui.inventory.journal import Journal
from dregtui.inventory.model import Inventory
from dregtui.plan import Plan, PlanMode, build_plan
from dregtui.registry.client import RegistryClient
from dregtui.restore import RestoreStatus, restore_batch
from dregtui.tags import sort_tags
from dregtui.tui import messages as msg
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.text import short_digest

if TYPE_CHECKING:
    from dregtui.tui.app import DregApp

Progress = Callable[[int, int, str], None]


def start_delete(app: DregApp) -> None:
    session = app.session
    session.prune_marks()
    if not session.marks:
        app.notify("Nothing marked: mark tags with space (or m for the filter's matches).")
        return
    selected: dict[str, list[str]] = {}
    for repo, tag in sorted(session.marks):
        selected.setdefault(repo, []).append(tag)

    def build(mode: PlanMode) -> Plan:
        return build_plan(session.inventory, selected, mode)

    def confirmed(mode: PlanMode | None) -> None:
        if mode is None or app.client is None:
            return
        plan = build(mode)
        cancel = threading.Event()
        app.push_screen(ProgressScreen("Deleting…", len(plan.actionable), cancel.set))
        app.delete_worker(plan, cancel)

    app.clear_notifications()  # a toast ("Marked 500 more tags.") would cover the totals
    app.push_screen(ConfirmScreen(build, dry_run=app.dry_run), confirmed)


class DeletionMixin:
    """Mixed into DregApp: the delete and restore workers and their messages."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="delete")
    def delete_worker(self: DregApp, plan: Plan, cancel: threading.Event) -> None:
        assert self.client is not None

        def progress(done: int, total: int, label: str) -> None:
            self.post_message(msg.DeleteProgress(done, total, label))

        try:
            outcomes, batch, cancelled = execute(
                self.client, self.session.inventory, plan, progress, cancel
            )
        finally:
            self.store_inventory()
        self.post_message(msg.DeleteFinished(outcomes, batch, cancelled=cancelled))

    def on_delete_progress(self: DregApp, message: msg.DeleteProgress) -> None:
        if isinstance(self.screen, ProgressScreen):
            self.screen.update_progress(message.done, message.total, message.label)

    def on_delete_finished(self: DregApp, message: msg.DeleteFinished) -> None:
        if isinstance(self.screen, ProgressScreen):
            self.pop_screen()
        self.after_inventory_change()
        self.push_screen(
            ResultScreen(
                message.outcomes,
                batch=message.batch,
                cancelled=message.cancelled,
                restore=self.restore_worker,
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="restore")
    def restore_worker(self: DregApp, batch: str) -> None:
        assert self.client is not None
        outcomes = restore(self.client, self.session.inventory, batch)
        self.store_inventory()
        self.post_message(msg.RestoreFinished(outcomes))

    def on_restore_finished(self: DregApp, message: msg.RestoreFinished) -> None:
        self.after_inventory_change()
        if isinstance(self.screen, ResultScreen):
            self.screen.restored(message.outcomes)
        restored = sum(1 for o in message.outcomes if o.status == "restored")
        manifests = "manifest" if restored == 1 else "manifests"
        self.notify(f"Restored {restored} {manifests} from the journal.", markup=False)

    def registry_work_running(self: DregApp) -> str:
        """'deleting' or 'restoring' while that worker runs (quitting would cut it), else ''."""
        for worker in self.workers:
            if worker.group in ("delete", "restore") and not worker.is_finished:
                return "deleting" if worker.group == "delete" else "restoring"
        return ""

    def after_inventory_change(self: DregApp) -> None:
        self.session.prune_marks()
        self.refresh_tree()
        tags, row = self.tag_list, self.tag_list.cursor
        gone = bool(tags.repository) and tags.current_tag not in self.session.visible_tags(
            tags.repository
        )
        self.show_repository(tags.repository)
        if gone and tags.rows:  # the cursor's tag was deleted: stay on the row that took its place
            tags.cursor = min(row, len(tags.rows) - 1)
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)
        self.update_status()


# -- the registry work: the core executor and restore -----------------------------------------


def execute(
    client: RegistryClient,
    inventory: Inventory,
    plan: Plan,
    progress: Progress,
    cancel: threading.Event,
) -> tuple[list[msg.Outcome], str | None, bool]:
    """Run the plan; returns (outcomes, batch id, cancelled)."""

    def report(done: int, total: int, result: ItemResult) -> None:
        progress(done, total, f"{result.item.repository} @ {short_digest(result.item.digest)}")

    result = execute_plan(client, plan, inventory, progress=report, cancel=cancel)
    outcomes = [
        msg.Outcome(
            r.item.repository,
            r.item.digest,
            sort_tags(r.removed_tags or r.item.selected_tags),
            r.status.value,
            _result_reason(r),
        )
        for r in result.results
    ]
    outcomes += [
        msg.Outcome(i.repository, i.digest, i.selected_tags, "skipped", "not run: cancelled")
        for i in result.not_run
    ]
    if result.stopped:
        outcomes.append(msg.Outcome("", "", [], "failed", result.stopped))
    batch = result.batch if result.changed else None
    return outcomes, batch, result.cancelled


def _result_reason(result: ItemResult) -> str:
    """Why an item was skipped or failed; nothing for a plain 'deleted' or 'untagged'."""
    if result.status is Status.DELETED:
        return ""
    if result.message.strip().lower() in ("", result.status.value):
        return ""
    return result.message


def restore(client: RegistryClient, inventory: Inventory, batch_id: str) -> list[msg.Outcome]:
    journal = Journal()
    found = journal.find(batch_id, client.base_url)
    if found is None:
        return [msg.Outcome("", "", [], "failed", f"batch {batch_id} is not in the journal")]
    result = restore_batch(client, found, inventory, journal)
    status = {RestoreStatus.RESTORED: "restored", RestoreStatus.PARTIAL: "restored"}
    return [
        msg.Outcome(
            item.record.repository,
            item.record.digest,
            item.tags or list(item.record.tags),
            status.get(item.status, "failed"),
            _restore_reason(item.status, item.message, item.record),
        )
        for item in result.items
    ]


def _restore_reason(status: RestoreStatus, message: str, record: object) -> str:
    """The restore message without what the line already says (repository@digest restored)."""
    if status is RestoreStatus.RESTORED:
        return ""
    where = f"{getattr(record, 'repository', '')}@{getattr(record, 'digest', '')}"
    for prefix in (where + " restored; ", where + ": "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
