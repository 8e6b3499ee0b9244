"""The main screen's marks as a whole: ``m`` marks what the filter shows, ``c`` clears every
mark (asking first when they are many, or a policy's), each saying how many."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from dregtui.core.textsafe import clean
from dregtui.tui.marks import GroupMark
from dregtui.tui.screens.ask import AskScreen
from dregtui.tui.text import counted
from dregtui.tui.widgets.repo_tree import RepoTree

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen

# More marks than this are a morning's work, not a slip: c asks before it clears them (so do
# a policy's marks, however few).
CLEAR_ASK = 20


class MarkHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    def action_mark_matching(self) -> None:
        """Mark every tag the filter shows (in every filtered repository from the tree): the
        same tags as space on the repository, as the tags pane counts them."""
        screen = cast("MainScreen", self)
        session, tag_list = screen.session, screen.tag_list
        if isinstance(screen.focused, RepoTree) and session.repo_filter:
            repositories = session.visible_repositories()
            where = f"{counted(len(repositories), 'repository')} matching {session.repo_filter}"
        elif tag_list.repository:
            repositories = [tag_list.repository]
            where = tag_list.repository
        else:
            screen.notify("Open a repository first.", severity="warning")
            return
        if tag_list.pending and tag_list.repository in repositories:
            screen.notify("Still filtering: m marks what matches once the rows are in.")
            return
        try:
            taken = {repo: session.tags_to_mark(repo) for repo in repositories}
        except ValueError as exc:
            screen.notify(f"{clean(exc)} Nothing marked.", severity="error", markup=False)
            return
        added = sum(session.mark_tags(repo, tags) for repo, tags in taken.items())
        screen.refresh_marks(repositories)
        done = GroupMark(
            tags=[tag for tags in taken.values() for tag in tags],
            repositories=[repo for repo, tags in taken.items() if tags],
            changed=added,
            marked=True,
            tag_filter=session.tag_filter.strip(),
        )
        screen.notify(done.sentence(where), markup=False)

    def action_clear_marks(self) -> None:
        """Unmark everything, saying how many; many marks, or a policy's, are asked for first."""
        screen = cast("MainScreen", self)
        session = screen.session
        total = session.mark_total()
        if not total:
            screen.notify("No marks to clear.", markup=False)
            return
        policy = session.policy
        from_policy = policy is not None and any(
            (repo, tag) in session.marks for repo, tags in policy.selected().items() for tag in tags
        )
        if total <= CLEAR_ASK and not from_policy:
            self._clear_now()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._clear_now()

        detail = "n keeps them."
        if from_policy and policy is not None:
            detail = f"The policy {clean(policy.policy.path)} marked them; n keeps them."
        question = f"Clear all {counted(total, 'mark')}? y/n"
        screen.app.push_screen(AskScreen(question, detail), answered)

    def _clear_now(self) -> None:
        screen = cast("MainScreen", self)
        total = screen.session.mark_total()
        screen.session.clear_marks()
        screen.refresh_marks()
        screen.notify(f"Cleared {counted(total, 'mark')}.", markup=False)
