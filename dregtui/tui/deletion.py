"""Delete marked tags: plan -> confirmation -> worker with progress -> result -> restore.

The registry work is done by the core executor/restore (``dregtui.execute``) when present;
``_fallback_execute``/``_fallback_restore`` cover the same ground until then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from dregtui.inventory.journal import Journal, JournalRecord, new_id
from dregtui.inventory.model import Inventory, TagInfo
from dregtui.plan import Action, Plan, PlanMode, build_plan
from dregtui.registry.client import RegistryClient
from dregtui.registry.errors import RegistryError
from dregtui.tui import messages as msg
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen

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

    app.push_screen(ConfirmScreen(build, dry_run=app.dry_run), confirmed)


class DeletionMixin:
    """Mixed into DregApp: the delete and restore workers and their messages."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="delete")
    def delete_worker(self: DregApp, plan: Plan, cancel: threading.Event) -> None:
        assert self.client is not None
        worker = get_current_worker()

        def progress(done: int, total: int, label: str) -> None:
            self.post_message(msg.DeleteProgress(done, total, label))

        def cancelled() -> bool:
            return cancel.is_set() or worker.is_cancelled

        try:
            outcomes, batch = execute(
                self.client, self.session.inventory, plan, progress, cancelled
            )
        finally:
            if self.save_cache is not None and self.session.inventory.scanned_at:
                self.save_cache(self.session.inventory)
        self.post_message(msg.DeleteFinished(outcomes, batch, cancelled=cancel.is_set()))

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
        if self.save_cache is not None and self.session.inventory.scanned_at:
            self.save_cache(self.session.inventory)
        self.post_message(msg.RestoreFinished(outcomes))

    def on_restore_finished(self: DregApp, message: msg.RestoreFinished) -> None:
        self.after_inventory_change()
        if isinstance(self.screen, ResultScreen):
            self.screen.show_outcomes(self.screen.outcomes + message.outcomes)
        restored = sum(1 for o in message.outcomes if o.status == "restored")
        self.notify(f"Restored {restored} manifests from the journal.", markup=False)

    def after_inventory_change(self: DregApp) -> None:
        self.session.prune_marks()
        self.refresh_tree()
        self.show_repository(self.tag_list.repository)
        self.show_tag(self.tag_list.repository, self.tag_list.current_tag)
        self.update_status()


# -- the registry work (core executor when available) --------------------------------------


def execute(
    client: RegistryClient,
    inventory: Inventory,
    plan: Plan,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> tuple[list[msg.Outcome], str | None]:
    return _fallback_execute(client, inventory, plan, progress, cancelled)


def restore(client: RegistryClient, inventory: Inventory, batch_id: str) -> list[msg.Outcome]:
    return _fallback_restore(client, inventory, batch_id)


def _fallback_execute(
    client: RegistryClient,
    inventory: Inventory,
    plan: Plan,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> tuple[list[msg.Outcome], str | None]:
    journal = Journal()
    batch = new_id()
    outcomes: list[msg.Outcome] = [
        msg.Outcome(i.repository, i.digest, i.selected_tags, "skipped", i.reason)
        for i in plan.skipped
    ]
    todo = plan.actionable
    for number, item in enumerate(todo):
        if cancelled():
            outcomes.append(
                msg.Outcome(
                    item.repository, item.digest, item.selected_tags, "skipped", "cancelled"
                )
            )
            continue
        progress(number, len(todo), f"{item.repository} @ {item.digest[:19]}")
        if item.action is Action.UNTAG:
            outcomes.append(
                msg.Outcome(
                    item.repository,
                    item.digest,
                    item.selected_tags,
                    "failed",
                    "untag is not available yet",
                )
            )
            continue
        try:
            for tag in item.tags_removed:
                ref = client.head_manifest(item.repository, tag)
                if ref is None or ref.digest != item.digest:
                    raise RegistryError(f"{tag} changed since the scan")
            manifest = client.get_manifest(item.repository, item.digest)
            record = JournalRecord(
                batch=batch,
                registry=client.base_url,
                repository=item.repository,
                digest=item.digest,
                media_type=manifest.media_type,
                manifest=manifest.raw,
                tags=tuple(item.tags_removed),
            )
            journal.append(record)
            client.delete_manifest(item.repository, item.digest)
            inventory.remove_digest(item.repository, item.digest)
            outcomes.append(msg.Outcome(item.repository, item.digest, item.tags_removed, "deleted"))
        except RegistryError as exc:
            outcomes.append(
                msg.Outcome(item.repository, item.digest, item.selected_tags, "failed", str(exc))
            )
    progress(len(todo), len(todo), "done")
    return outcomes, batch


def _fallback_restore(
    client: RegistryClient, inventory: Inventory, batch_id: str
) -> list[msg.Outcome]:
    found = Journal().find(batch_id, client.base_url)
    if found is None:
        return [msg.Outcome("", "", [], "failed", f"batch {batch_id} is not in the journal")]
    outcomes = []
    for record in found.records:
        try:
            client.put_manifest(
                record.repository, record.digest, record.manifest, record.media_type
            )
            for tag in record.tags:
                client.put_manifest(record.repository, tag, record.manifest, record.media_type)
                inventory.set_tag(record.repository, tag, TagInfo(record.digest, record.media_type))
            outcomes.append(
                msg.Outcome(record.repository, record.digest, list(record.tags), "restored")
            )
        except RegistryError as exc:
            outcomes.append(
                msg.Outcome(record.repository, record.digest, list(record.tags), "failed", str(exc))
            )
    return outcomes
