"""The main screen's policy flow: ask for a policy file, evaluate it, its deletions become marks.

The policy screen (:mod:`dregtui.tui.screens.policy`) reads and checks the file; the evaluation
runs in a worker (a rule that judges dates fetches image configs); nothing is deleted here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.screen import Screen

from dregtui.core.errors import RegistryError
from dregtui.core.policy.decisions import evaluate
from dregtui.core.policy.rules import Policy, PolicyError
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural
from dregtui.ops.dates import CreatedDates
from dregtui.tui import messages as msg
from dregtui.tui.screens.policy import PolicyScreen
from dregtui.tui.session import Session


class PolicyFlow:
    """Owned by the main screen: ``start()`` is its policy key, ``applied()`` its handler of
    :class:`~dregtui.tui.messages.PolicyApplied`. ``say`` puts a line in the status bar;
    ``marked`` runs once the marks changed."""

    def __init__(
        self,
        screen: Screen[Any],
        session: Session,
        client: RegistryAPI | None,
        *,
        jobs: int,
        say: Callable[[str], None],
        marked: Callable[[], None],
    ) -> None:
        self.screen = screen
        self.session = session
        self.client = client
        self.jobs = jobs
        self.say = say
        self.marked = marked

    def start(self) -> None:
        def loaded(policy: Policy | None) -> None:
            if policy is not None:
                self.session.policy_path = policy.path
                self.say(f"applying {policy.path}")
                self.screen.run_worker(
                    partial(self._evaluate, policy),
                    name="evaluate policy",
                    group="policy",
                    thread=True,
                    exclusive=True,
                    exit_on_error=False,
                )

        last = self.session.policy_path or "policy.toml"
        self.screen.app.push_screen(PolicyScreen(last), loaded)

    def _evaluate(self, policy: Policy) -> None:
        created = None
        if policy.needs_dates and self.client is not None:
            created = CreatedDates(self.client, jobs=self.jobs)
        try:
            outcome = evaluate(policy, self.session.inventory, created=created)
        except (PolicyError, RegistryError) as exc:
            self.screen.post_message(msg.PolicyApplied(error=str(exc)))
            return
        self.screen.post_message(msg.PolicyApplied(outcome))

    def applied(self, message: msg.PolicyApplied) -> None:
        """The evaluation's answer: its deletions become the marks, its warnings toasts."""
        notify = self.screen.notify
        if message.error:
            notify(clean(message.error), severity="error", markup=False)
            self.say("")
            return
        outcome = message.outcome
        self.session.policy = outcome
        selected = outcome.selected()
        self.session.marks = {(repo, tag) for repo, tags in selected.items() for tag in tags}
        for warning in outcome.warnings:
            notify(clean(warning), severity="warning", markup=False)
        tags = plural(len(self.session.marks), "tag")
        repositories = plural(len(selected), "repository")
        where = f"{tags} to delete in {repositories}"
        notify(clean(f"{outcome.policy.path}: {where} marked (d shows the plan)"), markup=False)
        self.say("")
        self.marked()
