"""The confirmation screen: the deletion plan grouped by digest, before anything happens."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dregtui.core.oci import mediatypes
from dregtui.core.plan_model import Action, Plan, PlanItem, PlanMode, Why, children_note
from dregtui.core.protected import protected_kind
from dregtui.core.referrers import is_plumbing_tag
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural
from dregtui.tui.plan_words import DELETE_TOO, UNTAG_ONLY, tui_reason
from dregtui.tui.screens.fit import fit_body
from dregtui.tui.text import frees_text, short_digest, tag_lines
from dregtui.tui.widgets.footer import DregFooter

CHOICES = (
    ("skip", "Skip these digests (default, safe)", PlanMode()),
    (
        "delete",
        f"{DELETE_TOO.capitalize()}: the unmarked tags go as well",
        PlanMode(match_all_tags=False),
    ),
    ("untag", f"{UNTAG_ONLY.capitalize()}: remove just the marked tags", PlanMode(untag=True)),
)

CHOOSE = Binding.Group("Choose")
ACTION_STYLE = {Action.DELETE: "bold red", Action.UNTAG: "bold yellow", Action.SKIP: "bold cyan"}


def _names(tags: list[str]) -> str:
    return ", ".join(clean(t) for t in tags)


def _is_referrer(item: PlanItem) -> bool:
    """Taken along (or left) as a referrer of another manifest: a signature, an SBOM, a
    fallback index; its plumbing tags are the registry's bookkeeping, not the user's tags."""
    return bool(item.referrer_of)


def _subject_names(plan: Plan) -> dict[tuple[str, str], str]:
    """(repository, digest) -> how the confirmation names that manifest as a subject."""
    names: dict[tuple[str, str], str] = {}
    for item in plan.items:
        tags = [t for t in item.selected_tags + item.intersecting_tags if not is_plumbing_tag(t)]
        if tags:
            names[(item.repository, item.digest)] = f"{clean(item.repository)}:{clean(tags[0])}"
        elif item.referrer_of:
            names[(item.repository, item.digest)] = (
                f"the {clean(item.referrer_kind)} {short_digest(item.digest)}"
            )
    return names


def _referrer_text(text: Text, item: PlanItem, subjects: dict[tuple[str, str], str]) -> None:
    subject = subjects.get(
        (item.repository, item.referrer_of),
        f"{clean(item.repository)}@{short_digest(item.referrer_of)}",
    )
    style = "bold cyan" if item.action is Action.SKIP else "magenta"
    text.append(f"  {clean(item.referrer_kind)} of {subject}", style=style)
    if item.action is Action.SKIP:
        text.append("  (stays: what it refers to stays)\n", style="dim")
    else:
        text.append("  (goes with it)\n", style="dim")
    if item.intersecting_tags:
        text.append("  tags: ", style="dim")
        text.append(_names(item.intersecting_tags) + "\n", style="dim")


def _is_plain(item: PlanItem) -> bool:
    """Nothing to warn about: all its tags are marked, no other holder, no index involved."""
    return not (
        item.intersecting_tags
        or item.other_repositories
        or item.parent_indexes
        or item.children
        or item.orphaned_signatures
        or item.referrer_of
        or item.action is not Action.DELETE
    )


def _item_text(
    text: Text, item: PlanItem, width: int, subjects: dict[tuple[str, str], str]
) -> None:
    start = len(text.plain)
    text.append(f"{item.action.value.upper():<7}", style=ACTION_STYLE[item.action])
    text.append(clean(item.repository), style="bold")
    text.append(f" @ {short_digest(item.digest)}", style="dim")
    used = len(text.plain) - start + 2
    lines = tag_lines(item.selected_tags, width, 9, width - used)
    text.append("  " + lines[0] if lines[0] else "")
    for line in lines[1:]:
        text.append("\n" + line)
    if item.why is Why.UNTAGGED:
        text.append("  untagged", style="dim")
    if _is_plain(item):
        text.append("\n")
        return
    text.append(f"  {clean(mediatypes.short_name(item.media_type))}\n", style="dim")
    if _is_referrer(item):
        _referrer_text(text, item, subjects)
        return
    if item.intersecting_tags:
        text.append("  ! also tagged, not marked: ", style="bold yellow")
        text.append(_names(item.intersecting_tags), style="reverse yellow")
        if item.action is Action.DELETE:
            text.append("  (they go too: same digest)", style="yellow")
        elif item.action is Action.UNTAG:
            text.append("  (they stay)", style="yellow")
        text.append("\n")
    if item.other_repositories:
        text.append("  also in: ", style="dim")
        text.append(_names(item.other_repositories))
        text.append(" (unaffected; they keep the blobs alive)\n", style="dim")
    if item.why is Why.CHILD_OF_DELETED_INDEX:
        text.append("  untagged child of index ", style="dim")
        text.append(", ".join(short_digest(p) for p in item.parent_indexes))
        text.append(" (goes with it: nothing else references it)\n", style="dim")
    elif item.parent_indexes:
        text.append("  ! referenced by index ", style="bold yellow")
        text.append(", ".join(short_digest(p) for p in item.parent_indexes) + "\n")
    if note := children_note(item):  # as the CLI says it: which children go, which stay
        text.append(f"  {clean(note)}\n", style="dim")
    if item.orphaned_signatures:
        text.append("  ! orphaned signatures: ", style="bold yellow")
        text.append(_names(item.orphaned_signatures) + "\n")
    reason = tui_reason(item)
    if reason:
        text.append("  " + reason + "\n", style="italic dim")


def warnings_text(plan: Plan) -> Text:
    """What deserves a second look before ``y``: tags that look protected (latest, stable,
    release..., core/protected.py), signature and SBOM tags, repositories left with no tag."""
    text = Text()
    names: dict[str, list[str]] = {}
    plumbing: dict[str, int] = {}
    for item in plan.items:
        for tag in item.tags_removed:
            kind = protected_kind(tag)
            if kind == "name":
                names.setdefault(item.repository, []).append(clean(tag))
            elif kind == "plumbing":
                plumbing[item.repository] = plumbing.get(item.repository, 0) + 1
    if names:
        text.append("! protected-looking tags go: ", style="bold yellow")
        where = [f"{', '.join(sorted(tags))} in {clean(r)}" for r, tags in sorted(names.items())]
        text.append("; ".join(where) + "\n")
    if plumbing:
        text.append("! signature/SBOM tags go: ", style="bold yellow")
        counts = [f"{n} in {clean(repo)}" for repo, n in sorted(plumbing.items())]
        text.append(", ".join(counts) + "\n")
    for repo in plan.emptied:
        text.append(f"! empties {clean(repo)}", style="bold yellow")
        text.append(": no tag left\n")
    return text


def plan_text(plan: Plan, width: int = 0) -> Text:
    """Every plan item, grouped by (repository, digest): the ones that need a decision or carry a
    warning first, then one line per plain deletion. Registry text is kept literal."""
    text = Text(no_wrap=False, overflow="fold")  # wraps on words; folds only a long name
    warnings = warnings_text(plan)
    if warnings:
        text.append_text(warnings)
        text.append("\n")
    subjects = _subject_names(plan)
    own = [i for i in plan.items if not _is_referrer(i)]
    detailed = [i for i in own if not _is_plain(i)]
    detailed.sort(key=lambda i: not i.intersecting_tags)  # stable: plan order otherwise
    plain = [i for i in own if _is_plain(i)]
    for number, item in enumerate(detailed):
        if number:
            text.append("\n")
        _item_text(text, item, width, subjects)
    if detailed and plain:
        text.append("\n")
    for item in plain:
        _item_text(text, item, width, subjects)
    referrers = [i for i in plan.items if _is_referrer(i)]
    if referrers:
        going = sum(1 for i in referrers if i.action is Action.DELETE)
        text.append(
            f"\nReferrers taken along: {going} of {len(referrers)} go with their image\n",
            style="bold",
        )
    for item in referrers:
        _item_text(text, item, width, subjects)
    text.rstrip()
    return text


def totals_text(plan: Plan, dry_run: bool) -> Text:
    t = plan.totals()
    text = Text(no_wrap=False)
    text.append(plural(t["manifests_deleted"], "manifest") + " to delete", style="bold red")
    if t["untagged"]:
        text.append(f" · {t['untagged']} to untag", style="bold yellow")
    if t["skipped"]:
        text.append(f" · {t['skipped']} skipped", style="bold cyan")
    repos = plural(t["repositories"], "repository")
    text.append(f" · {plural(t['tags_removed'], 'tag')} removed in {repos}")
    if t["shared_with_other_repositories"]:
        shared = plural(t["shared_with_other_repositories"], "digest")
        stay = "stays" if t["shared_with_other_repositories"] == 1 else "stay"
        text.append(f" · {shared} {stay} in other repositories")
    if plan.reclaimable_bytes is not None and t["manifests_deleted"]:
        text.append(
            "\n"
            + frees_text(
                plan.reclaimable_bytes,
                known=plan.reclaimable_known,
                exact=plan.reclaimable_exact,
            ),
            style="bold",
        )
    if dry_run:
        text.append("\nDry run: nothing will be deleted.", style="bold")
    return text


def choices_text(selected: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for number, (_, label, _) in enumerate(CHOICES):
        if number:
            text.append("\n")
        if number == selected:
            text.append(f" ● {number + 1}  {label} ", style="bold reverse")
        else:
            text.append(f" ○ {number + 1}  {label}", style="dim")
    return text


class ConfirmScreen(ModalScreen[PlanMode | None]):
    """Dismisses with the chosen PlanMode (proceed) or None (back, marks intact)."""

    BINDINGS = [
        Binding("y", "proceed", "Yes, delete", id="confirm.yes"),
        Binding(
            "n,escape,q",
            "back",
            "No, back",
            tooltip="Back to the tags, marks intact (q too: nothing quits from here)",
            id="confirm.no",
        ),
        Binding("1", "choose(0)", "Skip shared", group=CHOOSE, id="confirm.skip"),
        Binding("2", "choose(1)", "Delete too", group=CHOOSE, id="confirm.delete_too"),
        Binding("3", "choose(2)", "Untag only", group=CHOOSE, id="confirm.untag"),
    ]

    def __init__(self, build: Callable[[PlanMode], Plan], *, dry_run: bool = False) -> None:
        super().__init__()
        self.build = build
        self.dry_run = dry_run
        self.mode = PlanMode()
        self.choice = 0
        self.plan = build(self.mode)
        self.intersecting = sum(
            1 for i in self.plan.items if i.intersecting_tags and not _is_referrer(i)
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(id="confirm-title")
            if self.intersecting:
                yield Static(id="confirm-choice")
            with VerticalScroll(id="confirm-body"):
                yield Static(id="confirm-plan")
            yield Static(id="confirm-totals")
        yield DregFooter()

    def on_mount(self) -> None:
        self._render_plan()
        self.query_one("#confirm-body").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose":
            return bool(self.intersecting)  # no choice to make: keys hidden
        return True

    def _render_plan(self) -> None:
        t = self.plan.totals()
        untagged = any(i.why is Why.UNTAGGED for i in self.plan.items)
        question = "Delete these tags and manifests?" if untagged else "Delete these tags?"
        title = Text("Dry run: deletion plan" if self.dry_run else question, "bold")
        repos = {i.repository for i in self.plan.items}
        title.append(
            f"  {plural(t['items'], 'digest')} in {plural(len(repos), 'repository')}",
            style="dim",
        )
        self.query_one("#confirm-title", Static).update(title)
        if self.intersecting:
            choice = Text()
            choice.append(
                f"{plural(self.intersecting, 'digest')} also "
                f"{'carries' if self.intersecting == 1 else 'carry'} unmarked tags "
                "(highlighted): press 1, 2 or 3\n",
                style="bold yellow",
            )
            choice.append_text(choices_text(self.choice))
            self.query_one("#confirm-choice", Static).update(choice)
        self.query_one("#confirm-plan", Static).update(plan_text(self.plan, self._width()))
        self.query_one("#confirm-totals", Static).update(totals_text(self.plan, self.dry_run))
        self.call_after_refresh(self._fit)

    def _width(self) -> int:
        """Columns for the plan (the box: 90% of the screen, at most 110, minus its frame)."""
        return min(int(self.app.size.width * 0.9), 110) - 7  # border, padding, scrollbar

    def _fit(self) -> None:
        fit_body(self, "#confirm-box", "#confirm-body")

    def on_resize(self) -> None:
        self._render_plan()

    def action_choose(self, index: int) -> None:
        if not self.intersecting:
            return
        self.choice = index
        self.mode = CHOICES[index][2]
        self.plan = self.build(self.mode)
        self._render_plan()

    def action_proceed(self) -> None:
        if self.dry_run:
            self.notify("Dry run: nothing was deleted.", markup=False)
            self.dismiss(None)
            return
        if not self.plan.actionable:
            self.notify(
                "Nothing to delete: every digest is skipped (press 2 or 3 to choose).",
                severity="warning",
            )
            return
        self.dismiss(self.mode)

    def action_back(self) -> None:
        self.dismiss(None)
