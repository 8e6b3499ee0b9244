"""The result screen: what was deleted, skipped and failed, and how to get space back."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dregtui.core.textsafe import clean
from dregtui.tui.messages import NOT_STARTED, Outcome
from dregtui.tui.screens.fit import fit_body
from dregtui.tui.text import frees_text, short_digest, tag_lines
from dregtui.tui.widgets.footer import DregFooter

RECLAIM = (
    ("Disk space is freed only by the registry's garbage collector: ", ""),
    ("registry garbage-collect config.yml", "bold"),
    (", with the registry read-only or stopped. Until it runs, deletions can be undone.", ""),
)
HEADINGS = {
    "deleted": ("Deleted", "bold red"),
    "untagged": ("Untagged", "bold yellow"),
    "skipped": ("Skipped", "bold cyan"),
    "failed": ("Failed", "bold magenta"),
    "restored": ("Restored", "bold green"),
}


def not_started_line(count: int) -> Text:
    """``486 not started (cancelled)``: the tags are untouched, so one line says it all."""
    text = Text(f"{count} not started (cancelled)", style="bold")
    text.append(": their tags are still there, still marked", style="dim")
    return text


def outcomes_text(outcomes: list[Outcome], width: int = 0) -> Text:
    text = Text(no_wrap=False, overflow="fold")
    for status, (heading, style) in HEADINGS.items():
        group = [o for o in outcomes if o.status == status]
        if not group:
            continue
        if text:
            text.append("\n")
        text.append(f"{heading} ({len(group)})\n", style=style)
        for item in group:
            if not item.repository:  # the whole run stopped (e.g. deletion disabled)
                text.append("  " + clean(item.reason) + "\n", style="bold")
                continue
            text.append("  " + clean(item.repository), style="bold")
            text.append(f" @ {short_digest(item.digest)}", style="dim")
            if item.tags:
                used = 2 + len(clean(item.repository)) + 15 + 2
                lines = tag_lines(item.tags, width, 4, width - used)
                text.append("  " + lines[0] if lines[0] else "")
                for line in lines[1:]:
                    text.append("\n" + line)
            text.append("\n")
            if item.reason:  # wrapped on words, each line indented under its item
                reason = clean(item.reason)
                lines = textwrap.wrap(reason, width - 4) if width > 24 else [reason]
                text.append("".join(f"    {line}\n" for line in lines), style="italic dim")
    waiting = sum(1 for o in outcomes if o.status == NOT_STARTED)
    if waiting:
        if text:
            text.append("\n")
        text.append_text(not_started_line(waiting))
    text.rstrip()
    return text


class ResultScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("u", "restore", "Undo (restore batch)", id="result.restore"),
        Binding("escape,enter,q", "close", "Close", id="result.close"),
    ]

    def __init__(
        self,
        outcomes: list[Outcome],
        *,
        batch: str | None,
        cancelled: bool = False,
        restore: Callable[[str], None] | None = None,
        frees: int | None = None,
        exact: bool = False,
        heading: str | None = None,
    ) -> None:
        """``heading``: the title instead of "Deletion finished" (a restore from the main
        screen's u or the journal, with no deletion before it)."""
        super().__init__()
        self.heading = heading
        self.frees = frees  # what the plan said garbage-collect frees (all of it went)
        self.exact = exact  # counted in the registry's storage
        self.outcomes = outcomes
        self.batch_id = batch
        self.cancelled = cancelled
        self.restore = restore

    def compose(self) -> ComposeResult:
        with Vertical(id="result-box"):
            yield Static(id="result-title")
            with VerticalScroll(id="result-body"):
                yield Static(id="result-list")
            yield Static(id="result-advice")
        yield DregFooter()

    def on_mount(self) -> None:
        self.show_outcomes(self.outcomes)
        self.query_one("#result-body").focus()

    def show_outcomes(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        counts = {s: sum(1 for o in outcomes if o.status == s) for s in (*HEADINGS, NOT_STARTED)}
        heading = self.heading or ("Deletion cancelled" if self.cancelled else "Deletion finished")
        title = Text(heading, style="bold")
        title.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n), style="dim")
        self.query_one("#result-title", Static).update(title)
        width = min(int(self.app.size.width * 0.9), 110) - 7  # border, padding, scrollbar
        self.query_one("#result-list", Static).update(outcomes_text(outcomes, width))
        advice = Text()
        if self.heading and not counts["deleted"] + counts["untagged"]:  # a restore alone
            self.query_one("#result-advice", Static).update(
                Text("The restored tags point at their manifests again.", style="dim")
            )
            self.call_after_refresh(self._fit)
            return
        if self.frees and counts["deleted"]:
            advice.append(frees_text(self.frees, exact=self.exact) + "\n", style="bold")
        advice.append_text(Text.assemble(*RECLAIM, style="dim"))
        if self.batch_id and counts["deleted"] + counts["untagged"]:
            advice.append(f"\nPress u to restore this batch ({self.batch_id}).", style="bold")
        self.query_one("#result-advice", Static).update(advice)
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        fit_body(self, "#result-box", "#result-body")

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            return bool(self.batch_id and self.restore)
        return True

    def action_restore(self) -> None:
        if self.batch_id and self.restore:
            self.restore(self.batch_id)
            self.batch_id = None
            self.refresh_bindings()
            self.query_one("#result-title", Static).update(Text("Restoring…", style="bold"))

    def restored(self, outcomes: list[Outcome]) -> None:
        """The restore finished: show its lines (at the end of the list) in view."""
        self.show_outcomes(self.outcomes + outcomes)
        self.call_after_refresh(self.query_one("#result-body").scroll_end, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
