"""The TUI with the registry's storage (issue 23): each repository's untagged manifests as a
tree node with their count and bytes, listed, marked and deleted through the confirmation; the
tag's history in the digest pane; without the storage one line says nothing is known."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from support.tui import open_repository, settle

from dregtui.core.collect import Marks
from dregtui.core.space import human_size
from dregtui.ops.storage_inventory import read_view
from dregtui.state.config import Settings
from dregtui.tui.app import DregApp
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.untagged import KEPT_NEEDED, UNKNOWN, when
from dregtui.tui.widgets.repo_tree import UNTAGGED

pytestmark = pytest.mark.timeout(90)

HOURS_AGO = 2 * 3600.0


def _age_revisions(storage: Any, seconds: float) -> None:
    """Every revision link written ``seconds`` ago (as if pushed then)."""
    when = time.time() - seconds
    for link in storage.glob("docker/registry/v2/repositories/**/_manifests/revisions/*/*/link"):
        os.utime(link, (when, when))


@pytest.fixture
def overwritten(registry: Any, pusher: Any) -> dict[str, str]:
    """app:latest pushed three times (two earlier images untagged), app:1.0; all two hours
    old except the last push of latest."""
    old = []
    for n in range(2):  # the tag's history orders by the link files' whole-second times
        old.append(pusher.image("app", "latest", seed=f"app-{n}", layer_size=4000))
        time.sleep(1.1)
    pusher.image("app", "1.0", seed="app-1.0")
    _age_revisions(registry.storage, HOURS_AGO)
    latest = pusher.image("app", "latest", seed="app-2")
    return {"old0": old[0].digest, "old1": old[1].digest, "latest": latest.digest}


def _settings(registry: Any) -> Settings:
    return Settings(registry=registry.url, storage=str(registry.storage))


def _node_labels(app: DregApp) -> list[str]:
    out = []
    for node in app.repo_tree.root.children:
        out.append(str(node.label))
        out += [str(c.label) for c in node.children]
    return out


async def test_untagged_node_list_mark_and_delete(
    registry: Any, client: Any, overwritten: dict[str, str]
) -> None:
    settings = _settings(registry)
    view = read_view(settings, client)
    expected = Marks(view).frees([("app", overwritten["old0"]), ("app", overwritten["old1"])])
    app = DregApp(client, settings=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app_node = next(n for n in app.repo_tree.root.children if n.data == "app")
        (untagged_node,) = app_node.children
        assert untagged_node.data == UNTAGGED + "app"
        assert str(untagged_node.label) == f"untagged 2 {human_size(expected)}"
        assert UNKNOWN not in _node_labels(app)
        # the tree's size of app includes the untagged bytes
        tagged = app.session.sizes["app"]
        assert f"{human_size(tagged + expected)}" in str(app_node.label)
        # enter on the node lists them like tags; the older one was latest until the next push
        app_node.expand()
        await pilot.pause()
        app.repo_tree.move_cursor(untagged_node)
        await pilot.press("enter")
        await settle(pilot)
        listed = app.main.tags_pane.untagged_list
        assert listed.has_focus and listed.repository == "app"
        digests = [m.digest for m in listed.manifests]
        assert set(digests) == {overwritten["old0"], overwritten["old1"]}
        rows = {m.digest: m for m in listed.manifests}
        was = [rows[overwritten[k]].was for k in ("old0", "old1")]
        history = view.repositories["app"].history["latest"]
        assert [d for d, _ in history] == [overwritten[k] for k in ("old0", "old1", "latest")]
        assert was == [f"was latest until {when(history[n][1])}" for n in (1, 2)]
        assert not any(m.kept for m in listed.manifests)
        # mark old0 only, and delete it through the confirmation
        if digests.index(overwritten["old0"]):
            await pilot.press("j")
        await pilot.press("space")
        await settle(pilot)
        assert app.session.storage.marks == {("app", overwritten["old0"])}
        assert "● 1 untagged marked" in str(app.main.status_bar.render())
        assert "●1" in str(untagged_node.label)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        (item,) = app.screen.plan.items
        assert item.digest == overwritten["old0"] and item.selected_tags == []
        totals = str(app.screen.query_one("#confirm-totals").content)
        only = Marks(view).frees([("app", overwritten["old0"])])
        assert f"frees {human_size(only)} (exact: counted in the registry's storage)" in totals
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        await pilot.press("escape")
        await settle(pilot)
        # the storage is read again: one untagged manifest left, the list still shown
        assert [m.digest for m in app.session.storage.untagged["app"].manifests] == [
            overwritten["old1"]
        ]
        assert app.main.tags_pane.showing_untagged
        assert [m.digest for m in listed.manifests] == [overwritten["old1"]]
        assert str(app.repo_tree.cursor_node.label).startswith("untagged 1 ")
    assert client.head_manifest("app", overwritten["old0"]) is None
    assert client.head_manifest("app", overwritten["old1"]) is not None
    assert client.head_manifest("app", "latest").digest == overwritten["latest"]
    assert client.head_manifest("app", "1.0") is not None


async def test_digest_pane_shows_the_tags_history(
    registry: Any, client: Any, overwritten: dict[str, str]
) -> None:
    app = DregApp(client, settings=_settings(registry))
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "app")
        assert app.tag_list.rows == ["1.0", "latest"]
        await pilot.press("j")
        await settle(pilot)
        text = str(app.main.query_one("#digest-body").content)
        history = text[text.index("history") :]
        assert overwritten["old1"][7:19] in history and overwritten["old0"][7:19] in history
        assert history.index(overwritten["old1"][7:19]) < history.index(overwritten["old0"][7:19])
        assert overwritten["latest"][7:19] not in history
        # c clears the untagged manifests' marks too
        app.main.tags_pane.show_untagged("app")
        app.main.tags_pane.untagged_list.focus()
        await pilot.press("space")
        assert len(app.session.storage.marks) == 1
        await pilot.press("c")
        await settle(pilot)
        assert not app.session.storage.marks
        rows = app.main.tags_pane.untagged_list
        assert not any(str(rows.get_option_at_index(n).prompt).startswith("●") for n in range(2))


async def test_without_storage_nothing_is_known_about_untagged(
    client: Any, overwritten: dict[str, str]
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        labels = _node_labels(app)
        assert labels[-1] == UNKNOWN
        assert not any(label.startswith("untagged ") and label != UNKNOWN for label in labels)


async def test_an_unreadable_storage_is_one_notification(
    registry: Any, client: Any, pusher: Any, tmp_path: Any
) -> None:
    pusher.image("app", "1.0", seed="one")
    app = DregApp(client, settings=Settings(registry=registry.url, storage=str(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert len(notes) == 1 and notes[0].startswith("The storage could not be read")
        assert _node_labels(app)[-1] == "untagged: unreadable"


async def test_children_of_a_tagged_index_are_listed_as_kept_and_cannot_be_marked(
    registry: Any, client: Any, pusher: Any
) -> None:
    _, children = pusher.index("multi/tool", "latest", seed="tool")
    _age_revisions(registry.storage, HOURS_AGO)
    app = DregApp(client, settings=_settings(registry))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        found = app.session.storage.untagged["multi/tool"]
        assert {m.digest for m in found.manifests} == {c.digest for c in children}
        assert all(m.kept == KEPT_NEEDED and m.candidate is None for m in found.manifests)
        assert found.size == 0  # nothing only they hold would go
        app.main.tags_pane.show_untagged("multi/tool")
        app.main.tags_pane.untagged_list.focus()
        await pilot.press("space")
        await settle(pilot)
        assert not app.session.storage.marks
        # tab walks on to the digest pane, shift+tab comes back to the list (not the hidden tags)
        listed = app.main.tags_pane.untagged_list
        await pilot.press("tab")
        assert app.focused is app.main.query_one("#digest")
        await pilot.press("shift+tab")
        assert app.focused is listed
        await pilot.press("d")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # nothing marked
