"""The main screen's deletion flow: plan -> confirmation -> progress -> result -> restore.

The registry work is :mod:`dregtui.tui.deletion`'s, run in a progress screen's thread; here the
screens follow each other, and the main screen hears when the inventory changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.screen import Screen

from dregtui.core.plan_model import Plan, PlanMode
from dregtui.core.registry_api import RegistryAPI
from dregtui.tui import deletion
from dregtui.tui import messages as msg
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.session import Session


class DeletionFlow:
    """Owned by the main screen: ``start()`` is its delete key. ``store`` saves the inventory
    (from the worker's thread); ``changed`` runs on the UI thread once a deletion or a restore
    changed the inventory."""

    def __init__(
        self,
        screen: Screen[Any],
        session: Session,
        client: RegistryAPI | None,
        *,
        dry_run: bool,
        store: Callable[[], None],
        changed: Callable[[], None],
    ) -> None:
        self.screen = screen
        self.session = session
        self.client = client
        self.dry_run = dry_run
        self.store = store
        self.changed = changed

    def start(self) -> None:
        """Plan the marks, confirm them, then delete (nothing without a confirmation)."""
        session = self.session
        session.prune_marks()
        if not session.marks and not session.storage.marks:
            self.screen.notify(
                "Nothing marked: mark tags with space (or m for the filter's matches)."
            )
            return

        def build(mode: PlanMode) -> Plan:
            return session.marked_plan(mode)

        def confirmed(mode: PlanMode | None) -> None:
            if mode is not None and self.client is not None:
                self._run_deletion(build(mode))

        app = self.screen.app
        app.clear_notifications()  # a toast ("Marked 500 more tags.") would cover the totals
        app.push_screen(ConfirmScreen(build, dry_run=self.dry_run), confirmed)

    def _run_deletion(self, plan: Plan) -> None:
        assert self.client is not None
        job = partial(deletion.execute, self.client, self.session.inventory, plan, self.store)
        screen = ProgressScreen("Deleting…", len(plan.actionable), job, group="delete")
        self.screen.app.push_screen(screen, partial(self._deleted, plan))

    def _deleted(self, plan: Plan, result: deletion.DeleteResult | None) -> None:
        self.changed()
        if result is None:  # the worker failed: the App said why
            return
        complete = not result.cancelled and all(
            o.status in ("deleted", "untagged") for o in result.outcomes
        )
        screen = ResultScreen(
            result.outcomes,
            batch=result.batch,
            cancelled=result.cancelled,
            frees=plan.reclaimable_bytes if complete and plan.reclaimable_known else None,
            exact=plan.reclaimable_exact,
        )
        screen.restore = partial(self._run_restore, screen)
        self.screen.app.push_screen(screen)

    def _run_restore(self, result_screen: ResultScreen, batch: str) -> None:
        assert self.client is not None
        job = partial(deletion.restore, self.client, self.session.inventory, batch, self.store)
        done: Callable[[list[msg.Outcome] | None], None] = partial(self._restored, result_screen)
        self.screen.app.push_screen(ProgressScreen("Restoring…", None, job, group="restore"), done)

    def _restored(self, result_screen: ResultScreen, outcomes: list[msg.Outcome] | None) -> None:
        self.changed()
        if outcomes is None:
            return
        if result_screen.is_attached:
            result_screen.restored(outcomes)
        restored = sum(1 for o in outcomes if o.status == "restored")
        manifests = "manifest" if restored == 1 else "manifests"
        self.screen.notify(f"Restored {restored} {manifests} from the journal.", markup=False)
