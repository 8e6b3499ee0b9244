"""The main screen's deletion flow: plan -> confirmation -> progress -> result -> restore.

The registry work is :mod:`dregtui.tui.deletion`'s, run in a progress screen's thread; here the
screens follow each other, and the main screen hears when the inventory changed.

The main screen's undo is here too (:class:`UndoHandlers`): ``u`` restores this registry's
newest batch not restored yet, ``J`` lists every batch of the journal
(:mod:`dregtui.tui.screens.journal`) to restore any one. Both ask first, then restore in the
same progress screen, with a result screen after it: the TUI never needs ``dregtui restore``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

from dregtui.core.plan_model import Plan, PlanMode
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.textsafe import clean
from dregtui.state.journal import Batch, Journal, JournalUnreadable
from dregtui.tui import deletion
from dregtui.tui import messages as msg
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.journal import JournalScreen, RestoreConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.session import Session

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen


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
        store: deletion.Store,
        changed: Callable[[], None],
    ) -> None:
        self.screen = screen
        self.session = session
        self.client = client
        self.dry_run = dry_run
        self.store = store
        self.changed = changed
        self.journal = Journal()  # where deletions are recorded and restores found

    @property
    def registry(self) -> str:
        """The registry as the journal names it."""
        return self.client.base_url if self.client is not None else self.session.registry

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
        job = partial(
            deletion.execute,
            self.client,
            self.session.inventory,
            plan,
            self.store,
            journal=self.journal,
        )
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

    def run_restore(self, batch: str, result_screen: ResultScreen | None = None) -> None:
        """Restore ``batch`` in a progress screen; its lines go to ``result_screen`` (the
        deletion's result, where u was pressed) or to a result screen of their own."""
        assert self.client is not None
        job = partial(
            deletion.restore,
            self.client,
            self.session.inventory,
            batch,
            self.store,
            journal=self.journal,
        )
        done: Callable[[list[msg.Outcome] | None], None] = partial(self._restored, result_screen)
        self.screen.app.push_screen(
            ProgressScreen("Restoring…", None, job, group="restore", label="reading the journal…"),
            done,
        )

    def _run_restore(self, result_screen: ResultScreen, batch: str) -> None:
        self.run_restore(batch, result_screen)

    def _restored(
        self, result_screen: ResultScreen | None, outcomes: list[msg.Outcome] | None
    ) -> None:
        self.changed()
        if outcomes is None:
            return
        if result_screen is None:
            self.screen.app.push_screen(
                ResultScreen(outcomes, batch=None, heading="Restore finished")
            )
        elif result_screen.is_attached:
            result_screen.restored(outcomes)
        restored = sum(1 for o in outcomes if o.status == "restored")
        manifests = "manifest" if restored == 1 else "manifests"
        self.screen.notify(f"Restored {restored} {manifests} from the journal.", markup=False)


class UndoHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    def _batches(self) -> list[Batch] | None:
        """This registry's batches, newest first; None (and said why) when the journal
        cannot be read."""
        screen = cast("MainScreen", self)
        flow = screen.deletion_flow
        try:
            batches = flow.journal.batches(flow.registry)
        except JournalUnreadable as exc:
            screen.notify(clean(exc), severity="error", markup=False)
            return None
        if flow.journal.problems:
            lost = len(flow.journal.problems)
            screen.notify(
                f"{lost} line{'s' if lost > 1 else ''} of the journal {flow.journal.path} "
                "could not be read: a batch may be incomplete.",
                severity="warning",
                markup=False,
            )
        return batches

    def _can_restore(self) -> bool:
        screen = cast("MainScreen", self)
        if screen.client is None:
            screen.notify("No registry connection: nothing can be restored here.")
            return False
        if screen.dry_run:
            screen.notify("Dry run: nothing is restored (start without --dry-run to restore).")
            return False
        return True

    def action_restore_last(self) -> None:
        """Restore this registry's newest batch not restored yet, after a confirmation."""
        screen = cast("MainScreen", self)
        batches = self._batches()
        if batches is None:
            return
        batch = next((b for b in batches if not b.is_restored), None)
        if batch is None:
            if batches:
                screen.notify(
                    "Nothing to restore: every deletion of this registry in the journal is "
                    "restored already.",
                    markup=False,
                )
            else:
                screen.notify(
                    "Nothing to restore: the journal holds no deletion of this registry.",
                    markup=False,
                )
            return
        if not self._can_restore():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                screen.deletion_flow.run_restore(batch.id)

        screen.app.push_screen(RestoreConfirmScreen(batch), answered)

    def action_journal(self) -> None:
        """This registry's deletion batches; enter restores the selected one (asks first)."""
        screen = cast("MainScreen", self)
        batches = self._batches()
        if batches is None:
            return
        if not batches:
            screen.notify("The journal holds no deletion of this registry yet.", markup=False)
            return

        def chosen(batch_id: str | None) -> None:
            if batch_id is not None:
                screen.deletion_flow.run_restore(batch_id)

        journal = JournalScreen(batches, screen.deletion_flow.registry, check=self._can_restore)
        screen.app.push_screen(journal, chosen)
