"""The progress screen never looks frozen: it names the phase (the re-checks, then each item
deleted; each record restored) and its bar moves item by item, against the real registry."""

from __future__ import annotations

from typing import Any

import pytest
from support.tui import open_repository, settle

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.tui import messages as msg
from dregtui.tui.app import DregApp
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.progress import ProgressScreen
from dregtui.tui.screens.result import ResultScreen

pytestmark = pytest.mark.timeout(90)


def bar_steps(seen: list[tuple[int, int, str]], phase: str) -> list[int]:
    return [done for done, _, label in seen if label.startswith(phase)]


async def test_progress_names_the_phase_and_moves_per_item(
    client: RegistryClient, pusher: ImagePusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(32):
        pusher.image("ci/builds", f"1.{n}", seed=f"b{n}", layers=0)
    for n in range(4):  # kept: the re-check HEADs them too
        pusher.image("ci/builds", f"2.{n}", seed=f"k{n}", layers=0)
    seen: list[tuple[int, int, str]] = []  # what the progress screen was told, in order
    shown: list[str] = []  # what its label showed
    handler = ProgressScreen.on_delete_progress

    def observe(screen: ProgressScreen[Any], message: msg.DeleteProgress) -> None:
        seen.append((message.done, message.total, message.label))
        handler(screen, message)
        shown.append(str(screen.query_one("#progress-label").render()))

    monkeypatch.setattr(ProgressScreen, "on_delete_progress", observe)
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "ci/builds")
        await pilot.press("slash", *"<2", "enter", "m")
        assert len(app.session.marks) == 32
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert sorted(client.list_tags("ci/builds")) == [f"2.{n}" for n in range(4)]
        # first the re-checks, named with the repository and its tag count ...
        assert any("re-checking 36 tags of ci/builds" in line for line in shown)
        assert seen[0][2].startswith("re-checking")
        # ... then each deletion: the bar moves item by item and ends at the total
        deleting = bar_steps(seen, "deleting")
        assert len(set(deleting)) > 2 and deleting == sorted(deleting)
        assert seen[-1][:2] == (32, 32) and "ci/builds @ sha256:" in seen[-1][2]
        assert any(line.startswith("deleting ") and "/32: ci/builds" in line for line in shown)

        seen.clear()
        await pilot.press("u")  # the result screen's undo: the same progress screen
        await settle(pilot)
        restoring = bar_steps(seen, "restoring")
        assert restoring[0] == 0 and len(set(restoring)) > 2 and restoring == sorted(restoring)
        assert seen[-1][:2] == (32, 32) and seen[-1][2].startswith("restoring 32/32: ci/builds")
        assert len(client.list_tags("ci/builds") or []) == 36
