"""The main screen's part that reads the registry's storage and shows what it adds: each
repository's "untagged" node and list, their marks, the tags' histories.

The storage is read in a thread worker once the inventory is in (the scan finished, the cache
loaded, after a deletion): :func:`dregtui.ops.storage_inventory.read_view`, then
:func:`dregtui.tui.untagged.summarise`. A storage that cannot be read is one notification and
the tree's one line; the app keeps working without it. Handlers here run besides the main
screen's own (Textual calls a message's handler in every class of the screen's MRO).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.widgets import Tree
from textual.worker import get_current_worker

from dregtui.core.collect import Marks
from dregtui.core.errors import RegistryError, StorageError
from dregtui.core.textsafe import clean
from dregtui.tui import messages as msg
from dregtui.tui.untagged import READING, RepositoryUntagged, summarise
from dregtui.tui.widgets.repo_tree import RepoTree, untagged_of

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen


class StorageRead(Message):
    """The storage as read (``collect`` and ``untagged``), or why it could not be."""

    def __init__(
        self,
        collect: Marks | None,
        untagged: dict[str, RepositoryUntagged] | None,
        error: str = "",
    ) -> None:
        super().__init__()
        self.collect = collect
        self.untagged = untagged
        self.error = error


class StorageHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    def on_space_ready(self, message: msg.SpaceReady) -> None:
        """The inventory is in (a scan or a cache, or it changed): read the storage again."""
        screen = cast("MainScreen", self)
        storage = screen.session.storage
        if not storage.given or screen.client is None or screen.settings is None:
            return
        if screen.status_bar.scan is not None or screen.session.loading_cache:
            return  # mid-scan accounting: once the scan is done
        if storage.view is None:
            storage.note = READING
            screen.repo_tree.populate()
        screen.run_worker(
            screen._read_storage,
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="storage",
        )

    def _read_storage(self) -> None:
        from dregtui.ops.storage_inventory import read_view

        screen = cast("MainScreen", self)
        assert screen.client is not None
        try:
            view = read_view(screen.settings, screen.client)
            collect = Marks(view)
            untagged = summarise(collect, time.time())
        except (StorageError, RegistryError) as exc:
            screen.post_message(StorageRead(None, None, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            screen.post_message(StorageRead(collect, untagged))

    def on_storage_read(self, message: StorageRead) -> None:
        screen = cast("MainScreen", self)
        storage = screen.session.storage
        if message.collect is None or message.untagged is None:
            if storage.error != message.error:  # said once, not at every read again
                screen.notify(
                    clean(f"The storage could not be read: {message.error}"),
                    title="Storage",
                    severity="warning",
                    timeout=10,
                    markup=False,
                )
            storage.failed(message.error)
        else:
            first = storage.view is None
            storage.read(message.collect, message.untagged)
            for warning in message.collect.view.warnings[:1] if first else ():
                screen.notify(clean(warning), severity="warning", markup=False)
        screen.refresh_tree()
        pane = screen.tags_pane
        node = screen.repo_tree.cursor_node
        on_node = untagged_of(node.data) if node is not None else None
        if on_node is not None or pane.showing_untagged:  # the list as the storage is now
            pane.show_untagged(on_node or pane.untagged_list.repository)
        screen.show_tag(screen.tag_list.repository, screen.tag_list.current_tag)
        screen.update_status()

    def on_repo_tree_untagged_chosen(self, message: RepoTree.UntaggedChosen) -> None:
        screen = cast("MainScreen", self)
        screen.tags_pane.show_untagged(message.repository)
        if message.opened:
            screen.tags_pane.untagged_list.focus()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        """Back on a repository (the main screen shows its tags when it is another one)."""
        screen = cast("MainScreen", self)
        repository = event.node.data
        pane = screen.tags_pane
        if repository and pane.showing_untagged and repository == screen.tag_list.repository:
            pane.show(repository)

    def on_untagged_list_marks_changed(self) -> None:
        screen = cast("MainScreen", self)
        screen.refresh_marks()
