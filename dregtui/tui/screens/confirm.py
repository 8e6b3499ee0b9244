"""The confirmation screen: the deletion plan grouped by digest, before anything happens."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, RadioButton, RadioSet, Static

from dregtui.plan import Action, Plan, PlanMode
from dregtui.registry import mediatypes
from dregtui.tui.text import clean, short_digest

CHOICES = (
    ("skip", "Skip these digests (default, safe)", PlanMode()),
    ("delete", "Delete them too (intersecting tags go as well)", PlanMode(match_all_tags=False)),
    ("untag", "Untag only (remove just the marked tags)", PlanMode(untag=True)),
)

ACTION_STYLE = {Action.DELETE: "bold red", Action.UNTAG: "bold yellow", Action.SKIP: "bold cyan"}


def _names(tags: list[str]) -> str:
    return ", ".join(clean(t) for t in tags)


def plan_text(plan: Plan) -> Text:
    """Every plan item, grouped by (repository, digest), registry text kept literal."""
    text = Text(no_wrap=False, overflow="fold")
    for number, item in enumerate(plan.items):
        if number:
            text.append("\n")
        text.append(f"{item.action.value.upper():<7}", style=ACTION_STYLE[item.action])
        text.append(clean(item.repository), style="bold")
        text.append(f" @ {short_digest(item.digest)}", style="dim")
        text.append(f"  {mediatypes.short_name(item.media_type)}\n", style="dim")
        text.append("  marked: ")
        text.append(_names(item.selected_tags) + "\n")
        if item.intersecting_tags:
            text.append("  ! also tagged: ", style="bold yellow")
            text.append(_names(item.intersecting_tags), style="reverse yellow")
            text.append(
                "  (same digest: the registry deletes them with it)\n"
                if item.action is Action.DELETE
                else "\n",
                style="yellow",
            )
        if item.other_repositories:
            text.append("  other repositories: ", style="dim")
            text.append(_names(item.other_repositories), style="")
            text.append(" (unaffected; they keep the blobs alive)\n", style="dim")
        if item.parent_indexes:
            text.append("  ! referenced by index ", style="bold yellow")
            text.append(", ".join(short_digest(p) for p in item.parent_indexes) + "\n")
        if item.children:
            text.append(
                f"  index: its {len(item.children)} platform manifests stay, untagged\n",
                style="dim",
            )
        if item.orphaned_signatures:
            text.append("  ! orphaned signatures: ", style="bold yellow")
            text.append(_names(item.orphaned_signatures) + "\n")
        reason = item.reason
        if item.action is Action.SKIP and item.intersecting_tags:
            reason = "skipped: press 2 to delete them too, or 3 to untag only"
        if reason:
            text.append("  " + clean(reason) + "\n", style="italic dim")
    text.rstrip()
    return text


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def totals_text(plan: Plan, dry_run: bool) -> Text:
    t = plan.totals()
    text = Text(no_wrap=False)
    text.append(plural(t["manifests_deleted"], "manifest") + " to delete", style="bold red")
    text.append(f", {t['untagged']} to untag", style="bold yellow")
    text.append(f", {t['skipped']} skipped", style="bold cyan")
    repos = plural(t["repositories"], "repository", "repositories")
    text.append(f" · {plural(t['tags_removed'], 'tag')} removed in {repos}")
    if t["shared_with_other_repositories"]:
        shared = plural(t["shared_with_other_repositories"], "digest")
        text.append(f" · {shared} stay in other repositories")
    if dry_run:
        text.append("\nDry run: nothing will be deleted.", style="bold")
    return text


class ConfirmScreen(ModalScreen[PlanMode | None]):
    """Dismisses with the chosen PlanMode (proceed) or None (back, marks intact)."""

    BINDINGS = [
        Binding("y", "proceed", "Yes, delete", id="confirm.yes"),
        Binding("n,escape", "back", "No, back", id="confirm.no"),
        Binding("1", "choose(0)", "Skip shared", show=False, id="confirm.skip"),
        Binding("2", "choose(1)", "Delete too", show=False, id="confirm.delete_too"),
        Binding("3", "choose(2)", "Untag only", show=False, id="confirm.untag"),
    ]

    def __init__(self, build: Callable[[PlanMode], Plan], *, dry_run: bool = False) -> None:
        super().__init__()
        self.build = build
        self.dry_run = dry_run
        self.mode = PlanMode()
        self.plan = build(self.mode)
        self.has_intersecting = any(i.intersecting_tags for i in self.plan.items)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(id="confirm-title")
            if self.has_intersecting:
                yield Static(
                    Text(
                        "Some marked tags share a digest with unmarked tags (highlighted):",
                        style="bold yellow",
                    ),
                    id="confirm-question",
                )
                with RadioSet(id="confirm-choice"):
                    for number, (_, label, _) in enumerate(CHOICES):
                        yield RadioButton(f"{number + 1}  {label}", value=number == 0)
            with VerticalScroll(id="confirm-body"):
                yield Static(id="confirm-plan")
            yield Static(id="confirm-totals")
        yield Footer()

    def on_mount(self) -> None:
        self._render_plan()
        self.query_one("#confirm-body").focus()

    def _render_plan(self) -> None:
        t = self.plan.totals()
        title = "Dry run: deletion plan" if self.dry_run else "Delete these tags?"
        self.query_one("#confirm-title", Static).update(
            Text(f"{title}  ({plural(t['items'], 'digest')})", style="bold")
        )
        self.query_one("#confirm-plan", Static).update(plan_text(self.plan))
        self.query_one("#confirm-totals", Static).update(totals_text(self.plan, self.dry_run))

    @on(RadioSet.Changed, "#confirm-choice")
    def _choice(self, event: RadioSet.Changed) -> None:
        self.action_choose(event.index)

    def action_choose(self, index: int) -> None:
        if not self.has_intersecting:
            return
        self.mode = CHOICES[index][2]
        self.plan = self.build(self.mode)
        radios = list(self.query(RadioButton))
        if not radios[index].value:
            radios[index].value = True
        self._render_plan()

    def action_proceed(self) -> None:
        if self.dry_run:
            self.notify("Dry run: nothing was deleted.", markup=False)
            self.dismiss(None)
            return
        if not self.plan.actionable:
            self.notify("Nothing to delete: every digest is skipped.", severity="warning")
            return
        self.dismiss(self.mode)

    def action_back(self) -> None:
        self.dismiss(None)
