"""Key actions of the main screen (mixed into DregApp)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from dregtui.tui.text import clean
from dregtui.tui.widgets.repo_tree import RepoTree
from dregtui.tui.widgets.reverse_panel import ReversePanel
from dregtui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from dregtui.tui.app import DregApp


class ActionsMixin:
    _filter_target: str = "tags"

    # -- tab / shift+tab: tree -> tags -> digest -> shared by ----------------------------

    def action_focus_next(self: DregApp) -> None:
        self._cycle_panes(+1)

    def action_focus_previous(self: DregApp) -> None:
        self._cycle_panes(-1)

    def _cycle_panes(self: DregApp, step: int) -> None:
        """On the main screen tab walks the panes; when narrow, the lower area swaps to show
        the digest or the shared-by panel as focus reaches it. Elsewhere: Textual's order."""
        if self.screen is not self.screen_stack[0]:
            (self.screen.focus_next if step > 0 else self.screen.focus_previous)()
            return
        narrow = self.screen.has_class("-narrow")
        reverse = self.query_one("#reverse", ReversePanel)
        order = ["repos", "tags", "digest", "reverse"]
        if not narrow and not reverse.display:
            order.remove("reverse")  # hidden with v
        here = self.focused.id if self.focused is not None else None
        target = order[(order.index(here) + step) % len(order)] if here in order else "tags"
        pane = self.query_one(f"#{target}")
        if narrow and target in ("digest", "reverse"):
            self.show_reverse_narrow = target == "reverse"
            self._apply_layout(self.size.width)
            self.call_after_refresh(pane.focus)  # once the swapped-in pane is displayed
        else:
            pane.focus()

    # -- filter ---------------------------------------------------------------------

    def action_filter(self: DregApp) -> None:
        field = self.query_one("#filter", Input)
        self._filter_target = "repos" if isinstance(self.focused, RepoTree) else "tags"
        current = (
            self.session.repo_filter if self._filter_target == "repos" else self.session.tag_filter
        )
        field.placeholder = (
            "filter repositories: text or re:REGEX"
            if self._filter_target == "repos"
            else "filter tags: text, <1.4, >=1.2,<2, re:^1\\., !latest"
        )
        field.border_title = (
            "filter repositories" if self._filter_target == "repos" else "filter tags"
        )
        field.value = current
        field.display = True
        field.focus()

    # (handlers by name: @on() is not collected from mixin classes)
    def on_input_changed(self: DregApp, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self._apply_filter(event.value, quiet=True)

    def on_input_submitted(self: DregApp, event: Input.Submitted) -> None:
        if event.input.id == "filter" and self._apply_filter(event.value, quiet=False):
            self._close_filter()

    def _apply_filter(self: DregApp, value: str, *, quiet: bool) -> bool:
        try:
            if self._filter_target == "repos":
                self.session.repo_filter = value
                self.session.visible_repositories()
                self.refresh_tree()
            else:
                self.session.tag_filter = value
                self.show_repository(self.tag_list.repository)
        except ValueError as exc:
            if not quiet:
                self.notify(clean(exc), severity="error", markup=False)
            return False
        self.update_status()
        return True

    def _close_filter(self: DregApp) -> None:
        field = self.query_one("#filter", Input)
        field.display = False
        (self.repo_tree if self._filter_target == "repos" else self.tag_list).focus()

    def action_escape(self: DregApp) -> None:
        field = self.query_one("#filter", Input)
        if self.cancel_dates():
            self.notify("Stopped loading dates: undated tags are listed last.", markup=False)
        elif field.display:
            field.value = ""
            self._apply_filter("", quiet=True)
            self._close_filter()
        elif self.session.tag_filter or self.session.repo_filter:
            self.session.tag_filter = self.session.repo_filter = ""
            self.refresh_tree()
            self.show_repository(self.tag_list.repository)
            self.update_status()
        elif self.focused is not None and self.focused.id in ("reverse", "digest"):
            if self.screen.has_class("-show-reverse"):
                self.action_toggle_reverse()
            self.tag_list.focus()

    # -- marks ----------------------------------------------------------------------

    def action_mark_matching(self: DregApp) -> None:
        """Mark every tag the filter shows (in every filtered repository from the tree)."""
        if isinstance(self.focused, RepoTree) and self.session.repo_filter:
            repositories = self.session.visible_repositories()
        elif self.tag_list.repository:
            repositories = [self.tag_list.repository]
        else:
            self.notify("Open a repository first.", severity="warning")
            return
        added = 0
        for repo in repositories:
            added += self.session.mark_tags(repo, self.session.visible_tags(repo))
        self.refresh_marks(repositories)
        self.notify(f"Marked {added} more tags.", markup=False)

    def action_clear_marks(self: DregApp) -> None:
        self.session.clear_marks()
        self.refresh_marks()

    # -- view -----------------------------------------------------------------------

    def action_sort(self: DregApp) -> None:
        order = self.session.next_sort()
        if order == "date":
            self.load_dates(self.tag_list.repository)
        else:
            self.cancel_dates()
        self.show_repository(self.tag_list.repository, keep_cursor=False)  # from the top

    def load_dates(self: DregApp, repository: str) -> None:
        """The date order needs every tag's created date: fetch the missing ones (worker)."""
        if self.client is None or not repository:
            return
        tags = self.session.inventory.repositories.get(repository, {})
        missing = self.session.details.missing([i.digest for i in list(tags.values())])
        if missing:
            self.fetch_dates_worker(repository, missing)

    def action_toggle_reverse(self: DregApp) -> None:
        if self.screen.has_class("-narrow"):
            self.show_reverse_narrow = not self.show_reverse_narrow
            self._apply_layout(self.size.width)
        else:
            reverse = self.query_one("#reverse")
            reverse.display = not reverse.display

    def action_help(self: DregApp) -> None:
        from dregtui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    # -- scanning -------------------------------------------------------------------

    def action_rescan(self: DregApp) -> None:
        repo = self.repo_tree.current_repository or self.tag_list.repository
        if self.client is None or not repo:
            return
        self.query_one("#status", StatusBar).message = f"rescanning {repo}"
        self.update_status()
        self.rescan_repository(repo)

    def action_rescan_all(self: DregApp) -> None:
        if self.client is None:
            return
        if self.scanner is not None:
            self.scanner.cancel()
        self.run_scan(full=True)

    # -- deletion and profiles ------------------------------------------------------------

    def action_delete(self: DregApp) -> None:
        from dregtui.tui.deletion import start_delete

        start_delete(self)

    def action_save_profile(self: DregApp) -> None:
        from dregtui.tui.screens.profile import ProfileScreen

        if self.settings is None:
            self.notify("No settings to save (the registry was not opened from settings).")
            return
        self.push_screen(ProfileScreen(self.settings))
