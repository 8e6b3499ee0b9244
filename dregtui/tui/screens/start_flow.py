"""The main screen opens on a repository, without a key pressed: the one last visited on this
registry (remembered in the user's state dir, :mod:`dregtui.state.visited`), else the first in
the tree. Its namespace unfolds and its tags show; the tree keeps the focus.

It happens once, as soon as the tree has repositories: at mount (an inventory given), when the
catalog arrives (a fresh scan) or when the cache is in (a warm start). Handlers here run besides
the main screen's own, after them (Textual calls a message's handler in every class of the
screen's MRO).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.timer import Timer
from textual.widgets import Tree

from dregtui.state.visited import last_visited, remember_visited
from dregtui.tui import messages as msg
from dregtui.tui.widgets.repo_tree import untagged_of

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen

SAVE_AFTER = 1.0  # seconds the cursor rests on a repository before it is remembered


class StartHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    _started_on: str | None = None  # the repository the screen opened on, once it has
    _visited: str | None = None  # the repository to remember, once the cursor rests
    _save_timer: Timer | None = None

    def on_mount(self) -> None:
        self.start_on_repository()

    def on_catalog_loaded(self, message: msg.CatalogLoaded) -> None:
        self.start_on_repository()

    def on_cache_loaded(self, message: msg.CacheLoaded) -> None:
        self.start_on_repository()

    def on_scan_progress(self, message: msg.ScanProgress) -> None:
        self.start_on_repository()

    def start_on_repository(self) -> None:
        """Unfold the last visited (or the first) repository and show its tags, once."""
        screen = cast("MainScreen", self)
        if self._started_on is not None or screen.tag_list.repository:
            return  # done, or the user got there first
        tree = screen.repo_tree
        names = set(screen.session.visible_repositories())
        last = last_visited(screen.session.registry)
        repository = last if last in names else tree.first_repository()
        if repository is None:
            return
        self._started_on = repository
        tree.reveal(repository)
        screen.show_repository(repository, keep_cursor=False)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        """A repository the cursor rests on is remembered as the last visited."""
        repository = event.node.data
        if not repository or untagged_of(repository) is not None:
            return
        screen = cast("MainScreen", self)
        self._visited = repository
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = screen.set_timer(SAVE_AFTER, self._remember)

    def on_unmount(self) -> None:
        self._remember()

    def _remember(self) -> None:
        if self._visited is not None:
            remember_visited(cast("MainScreen", self).session.registry, self._visited)
            self._visited = None
