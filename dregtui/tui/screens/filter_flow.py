"""The main screen's ``/`` filter: opened on the tree it filters the repositories, on the tags
the tags; a tag-shaped text on the tree (``<0.2``, ``>=1.2,<2``, ``=x``, ``!x``) filters the
tags of the repository shown, and the field's title says so (``re:`` stays a repository regex
on the tree). What is wrong with the text shows under it as it is typed; the last filter that
was right stays applied meanwhile, and enter on a wrong one keeps the field open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.actions import SkipAction

from dregtui.tui.filter_text import filter_problem, is_tag_filter_shape
from dregtui.tui.widgets.filter_input import FilterInput, Target
from dregtui.tui.widgets.repo_tree import RepoTree

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen


class FilterHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    _filters_before: tuple[str, str] = ("", "")  # (repositories, tags) as the field opened

    def action_filter(self) -> None:
        screen = cast("MainScreen", self)
        field = screen.query_one("#filter", FilterInput)
        if screen.focused is field:  # the key is the field's: "team/" (the binding has priority)
            raise SkipAction()
        session = screen.session
        self._filters_before = (session.repo_filter, session.tag_filter)
        if isinstance(screen.focused, RepoTree):
            field.open("repos", session.repo_filter)
        else:
            field.open("tags", session.tag_filter)

    def _apply_filter(self, value: str) -> bool:
        """Apply ``value`` to what it filters; False (said under the field) when it cannot
        be applied."""
        screen = cast("MainScreen", self)
        field = screen.query_one("#filter", FilterInput)
        tag_shaped = field.origin == "repos" and is_tag_filter_shape(value)
        target: Target = "tags" if field.origin == "tags" or tag_shaped else "repos"
        if target != field.target:
            field.show_target(target)
        self._restore_other(target)
        problem = filter_problem(value, target)
        field.show_problem(problem)
        if problem is not None:
            return False
        session = screen.session
        if target == "repos":
            if session.repo_filter != value:
                session.repo_filter = value
                screen.refresh_tree()
        else:
            session.tag_filter = value
            screen.show_repository(screen.tag_list.repository)
        screen.update_status()
        return True

    def _restore_other(self, target: str) -> None:
        """The filter the text no longer goes to is as it was when the field opened."""
        screen = cast("MainScreen", self)
        session = screen.session
        repos, tags = self._filters_before
        if target == "tags" and session.repo_filter != repos:
            session.repo_filter = repos
            screen.refresh_tree()
        elif target == "repos" and session.tag_filter != tags:
            session.tag_filter = tags
            screen.show_repository(screen.tag_list.repository)

    def _close_filter(self) -> None:
        screen = cast("MainScreen", self)
        field = screen.query_one("#filter", FilterInput)
        field.display = False
        field.show_problem(None)
        (screen.repo_tree if field.origin == "repos" else screen.tag_list).focus()
