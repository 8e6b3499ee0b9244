"""Undo from the main screen against the real registry: u restores this registry's newest
deletion (asking first), J lists the journal's batches and restores the chosen one, and with
nothing to restore each says so in one sentence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.cli_cache import cli_lister
from support.tui import delete_marked, open_repository, settle

from dregtui.cli.commands.tui import CacheWriter
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.state.cache import InventoryCache
from dregtui.state.journal import Journal
from dregtui.tui.app import DregApp
from dregtui.tui.screens.journal import JournalScreen, RestoreConfirmScreen
from dregtui.tui.screens.result import ResultScreen

pytestmark = pytest.mark.timeout(90)


def held(client: RegistryClient) -> dict[str, dict[str, str]]:
    """repository -> tag -> digest, as the registry answers now."""
    out: dict[str, dict[str, str]] = {}
    for repo in client.list_repositories():
        for tag in client.list_tags(repo) or []:
            ref = client.head_manifest(repo, tag)
            assert ref is not None
            out.setdefault(repo, {})[tag] = ref.digest
    return out


def notes(app: DregApp) -> list[str]:
    return [n.message for n in app._notifications]


async def delete_in_tui(pilot: Any, repository: str, tags: list[str]) -> None:
    """Mark ``tags`` of ``repository``, delete them (confirmed), close the result."""
    app = pilot.app
    app.repo_tree.focus()
    await open_repository(pilot, repository)
    for tag in tags:
        app.tag_list.select_tag(tag)
        await pilot.press("space")
    await delete_marked(pilot)
    await pilot.press("escape")
    await settle(pilot)


@pytest.fixture
def sample(pusher: ImagePusher) -> None:
    """team/app 1.0 1.1 (+ latest on 1.1), team/web 2.0 2.1, other/app 1.1 (shares 1.1)."""
    pusher.image("team/app", "1.0", seed="A", layers=1)
    b = pusher.image("team/app", "1.1", seed="B", layers=1)
    pusher.tag("team/app", "latest", b)
    pusher.tag("other/app", "1.1", b)
    pusher.image("team/web", "2.0", seed="W", layers=0)
    pusher.image("team/web", "2.1", seed="W1", layers=0)


async def test_u_restores_the_last_deletion_exactly(
    client: RegistryClient, sample: None, run_cli: Callable[..., Any]
) -> None:
    """... and the command line, reading the cache the TUI saved, sees each change."""
    before = held(client)
    cli_sees = cli_lister(run_cli, client.base_url, "team/app")
    app = DregApp(client, save_cache=CacheWriter(InventoryCache.for_registry(client.base_url)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.main)]
        assert "Restore the last deletion" in titles and "Deletion journal" in titles
        await pilot.press("u")  # nothing deleted yet: one sentence, no screen
        assert notes(app)[-1] == (
            "Nothing to restore: the journal holds no deletion of this registry."
        )
        await pilot.press("J")
        assert notes(app)[-1] == "The journal holds no deletion of this registry yet."
        assert not isinstance(app.screen, JournalScreen)

        await delete_in_tui(pilot, "team/app", ["1.0", "1.1", "latest"])
        assert "team/app" not in held(client) or not held(client)["team/app"]
        cli_sees([])
        await pilot.press("u")
        assert isinstance(app.screen, RestoreConfirmScreen)
        asked = str(app.screen.query_one("#restore-what").render())
        assert "3 tags and 2 manifests in team/app come back." in asked
        await pilot.press("n")  # keeps it as it is
        assert not isinstance(app.screen, RestoreConfirmScreen)
        assert sorted(client.list_tags("team/app") or []) == []
        await pilot.press("u", "y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert str(app.screen.query_one("#result-title").render()).startswith("Restore finished")
        assert held(client) == before  # exactly what the registry held, digests and all
        cli_sees(["1.0", "1.1", "latest"])
        inventory = app.session.inventory
        assert {t: inventory.tag_info("team/app", t).digest for t in ("1.0", "1.1", "latest")} == (
            before["team/app"]
        )
        await pilot.press("escape")
        assert app.tag_list.rows == ["1.0", "1.1", "latest"]  # the panes show it
        await pilot.press("u")
        assert notes(app)[-1] == (
            "Nothing to restore: every deletion of this registry in the journal is restored "
            "already."
        )


async def test_journal_screen_lists_batches_and_restores_the_chosen_one(
    client: RegistryClient, sample: None
) -> None:
    before = held(client)
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await delete_in_tui(pilot, "team/web", ["2.0"])  # the older batch
        await delete_in_tui(pilot, "team/app", ["1.0"])  # the newer one
        await pilot.press("J")
        assert isinstance(app.screen, JournalScreen)
        journal = app.screen
        rows = [
            str(journal.query_one("#journal-list").get_option_at_index(i).prompt) for i in range(2)
        ]
        assert "team/app" in rows[0] and "team/web" in rows[1]  # newest first
        assert all(row.rstrip().endswith("no") for row in rows)  # not restored (80 columns)
        header = str(journal.query_one("#journal-header").render())
        assert "tags" in header and "size" in header and "restored" in header
        await pilot.press("down", "enter")
        assert isinstance(app.screen, RestoreConfirmScreen)
        assert "1 tag and 1 manifest in team/web come back." in str(
            app.screen.query_one("#restore-what").render()
        )
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        now = held(client)
        assert now["team/web"] == before["team/web"]  # the chosen batch came back ...
        assert "1.0" not in now["team/app"]  # ... and only that one
        await pilot.press("escape", "J")
        assert isinstance(app.screen, JournalScreen)
        rows = [
            str(app.screen.query_one("#journal-list").get_option_at_index(i).prompt)
            for i in range(2)
        ]
        assert rows[0].rstrip().endswith("no") and rows[1].rstrip().endswith("yes")
        await pilot.press("down", "enter")  # restored already: said, nothing asked
        assert isinstance(app.screen, JournalScreen)
        assert "was restored already" in notes(app)[-1]
        await pilot.press("escape")
        assert not isinstance(app.screen, JournalScreen)
    assert [b.state for b in Journal().batches(client.base_url)] == ["not restored", "restored"]
