"""The progress screen never looks frozen: it names the phase (the re-checks, then each item
deleted; each record restored) and its bar moves item by item, against the real registry."""

from __future__ import annotations

from typing import Any

import pytest
from support.tui import delete_marked, open_repository, settle

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.tui import messages as msg
from dregtui.tui.app import DregApp
from dregtui.tui.screens.progress import ProgressScreen

pytestmark = pytest.mark.timeout(90)


def steps(seen: list[tuple[int, int, str]], phase: str) -> list[int]:
    return [done for done, _, label in seen if label.startswith(phase)]


async def test_progress_names_the_phase_and_moves_per_item(
    client: RegistryClient, pusher: ImagePusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(32):
        pusher.image("ci/builds", f"1.{n}", seed=f"b{n}", layers=0)
    for n in range(4):  # kept: the re-check HEADs them too
        pusher.image("ci/builds", f"2.{n}", seed=f"k{n}", layers=0)
    # Every step the progress screen is told (a newer one replaces one not drawn yet, so
    # what is drawn depends on the machine's speed), and what its label then showed.
    told: list[tuple[int, int, str]] = []
    shown: list[str] = []
    post, handle = ProgressScreen.post_message, ProgressScreen.on_delete_progress

    def observe_post(screen: ProgressScreen[Any], message: Any) -> bool:
        if isinstance(message, msg.DeleteProgress):
            told.append((message.done, message.total, message.label))
        return post(screen, message)

    def observe(screen: ProgressScreen[Any], message: msg.DeleteProgress) -> None:
        handle(screen, message)
        shown.append(str(screen.query_one("#progress-label").render()))

    monkeypatch.setattr(ProgressScreen, "post_message", observe_post)
    monkeypatch.setattr(ProgressScreen, "on_delete_progress", observe)
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "ci/builds")
        await pilot.press("slash", *"<2", "enter", "m")
        assert len(app.session.marks) == 32
        await delete_marked(pilot)
        assert sorted(client.list_tags("ci/builds")) == [f"2.{n}" for n in range(4)]
        # first the re-checks, named with the repository and its tag count, HEAD by HEAD ...
        assert told[0] == (0, 32, "re-checking the tags of 32 planned items…")
        rechecks = [d for d, t, label in told if label.startswith("re-checking 36 tags of ci/")]
        assert rechecks == list(range(1, 37))
        # ... then each deletion: the bar moves item by item and ends at the total
        assert sorted(steps(told, "deleting")) == list(range(1, 33))
        assert told[-1][:2] == (32, 32) and "/32: ci/builds @ sha256:" in told[-1][2]
        assert shown and all(line.startswith(("re-checking", "deleting")) for line in shown)

        told.clear()
        await pilot.press("u")  # the result screen's undo: the same progress screen
        await settle(pilot)
        assert steps(told, "restoring") == list(range(33))  # 0/32, 1/32, ... 32/32
        assert told[-1][2].startswith("restoring 32/32: ci/builds @ sha256:")
        assert len(client.list_tags("ci/builds") or []) == 36
