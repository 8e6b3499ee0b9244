"""After a TUI deletion or restore, the cache on disk holds what the registry holds: the command
line reading it (no rescan) lists neither a deleted tag nor misses a restored one, and says the
cache was updated, not only how old its scan is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.cli_cache import cli_lister
from support.tui import delete_marked, open_repository, settle

from dregtui.cli.commands.tui import CacheWriter
from dregtui.core.inventory import Inventory
from dregtui.demo.images import ImagePusher
from dregtui.ops.scanner import Scanner
from dregtui.registry.client import RegistryClient
from dregtui.state.cache import InventoryCache
from dregtui.tui.app import DregApp
from dregtui.tui.screens.journal import RestoreConfirmScreen

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def sample(pusher: ImagePusher) -> None:
    for tag in ("1.0", "1.1", "1.2"):
        pusher.image("team/app", tag, seed="a" + tag, layers=0)
    pusher.image("team/web", "2.0", seed="w", layers=0)


async def delete_and_restore(
    pilot: Any, check: Callable[[list[str]], None], tags: list[str]
) -> None:
    """Delete ``tags`` of team/app in the TUI, ``check`` what the CLI lists, restore (u),
    ``check`` again."""
    app = pilot.app
    await open_repository(pilot, "team/app")
    for tag in tags:
        app.tag_list.select_tag(tag)
        await pilot.press("space")
    await delete_marked(pilot)
    check([t for t in ("1.0", "1.1", "1.2") if t not in tags])
    await pilot.press("escape", "u")
    assert isinstance(app.screen, RestoreConfirmScreen)
    await pilot.press("y")
    await settle(pilot)
    check(["1.0", "1.1", "1.2"])


async def test_a_deletion_while_the_scan_is_incomplete_updates_the_cache_on_disk(
    client: RegistryClient, sample: None, run_cli: Callable[..., Any]
) -> None:
    """The TUI's inventory is not a complete scan (a scan running, or cancelled by quitting):
    it cannot replace the cache, so the deletion is applied to the cache on disk."""
    url = client.base_url
    assert run_cli("-reg", url, "list-tag-names", "team/app").code == 0  # writes the cache
    partial = Inventory(url)
    Scanner(client).scan_repository(partial, "team/app")
    assert partial.scanned_at is None
    writer = CacheWriter(InventoryCache.for_registry(url))
    app = DregApp(client, inventory=partial, scan=False, save_cache=writer)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await delete_and_restore(pilot, cli_lister(run_cli, url), ["1.1"])
    # the rest of the cache is as the CLI's scan wrote it
    r = run_cli("-reg", url, "list-tag-names", "team/web")
    assert [line.split()[-1] for line in r.lines] == ["2.0"]
