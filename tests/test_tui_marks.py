"""Marks are never lost silently (issue 25): quitting with marks asks, clearing says how many
(and asks when they are many), marking a repository takes what the tag filter shows, and the
confirmation names protected-looking tags, emptied repositories and its own choices."""

from __future__ import annotations

from typing import Any

import pytest
from support.tui import open_repository, settle

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.tui.app import DregApp
from dregtui.tui.screens.ask import AskScreen
from dregtui.tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def populated(pusher: ImagePusher) -> None:
    """team/app: 1.0, 1.1 + latest (1.1's digest also in other/app); team/web: 2.0, 2.1."""
    pusher.image("team/app", "1.0", seed="A")
    b = pusher.image("team/app", "1.1", seed="B")
    pusher.tag("team/app", "latest", b)
    pusher.tag("other/app", "1.1", b)
    web = pusher.image("team/web", "2.0", seed="W")
    pusher.tag("team/web", "2.1", web)


def notes(app: DregApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def shown(widget: Any) -> str:
    return " ".join(str(widget.content).split())


async def tree_on(pilot: Any, name: str) -> None:
    """The tree focused, its cursor on ``name`` (a repository) or its namespace."""
    app = pilot.app
    app.repo_tree.reveal(name)
    app.repo_tree.focus()
    await pilot.pause()


async def test_quit_with_marks_asks_and_n_keeps_them(
    client: RegistryClient, populated: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("space", "j", "space")
        assert len(app.session.marks) == 2
        for key in ("q", "ctrl+q"):
            await pilot.press(key)
            assert isinstance(app.screen, AskScreen)
            assert shown(app.screen.query_one("#ask-question")) == "Quit and drop 2 marks? y/n"
            await pilot.press("n")
            assert app.is_running and not isinstance(app.screen, AskScreen)
            assert len(app.session.marks) == 2
        await pilot.press("q", "escape")  # escape is no too
        assert app.is_running and len(app.session.marks) == 2
        await pilot.press("q", "y")
        await pilot.pause()
        assert not app.is_running


async def test_clear_says_how_many_and_asks_when_many_then_q_quits_at_once(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    image = pusher.image("ci/builds", "0", seed="C")
    for number in range(1, 25):
        pusher.tag("ci/builds", str(number), image)
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "ci/builds")
        await pilot.press("space", "j", "space", "c")  # a few: cleared at once, counted
        assert app.session.marks == set() and not isinstance(app.screen, AskScreen)
        assert "Cleared 2 marks." in notes(app)
        await pilot.press("m")  # all 25
        assert len(app.session.marks) == 25
        await pilot.press("c")
        assert isinstance(app.screen, AskScreen)
        assert shown(app.screen.query_one("#ask-question")) == "Clear all 25 marks? y/n"
        await pilot.press("n")
        assert len(app.session.marks) == 25
        await pilot.press("c", "y")
        assert app.session.marks == set()
        assert "Cleared 25 marks." in notes(app)
        await pilot.press("q")  # no marks left: quits at once
        await pilot.pause()
        assert not app.is_running


async def test_marking_a_repository_takes_what_the_filter_shows(
    client: RegistryClient, populated: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("slash", *"<1.1", "enter")
        assert app.tag_list.rows == ["1.0"]
        assert "1/3" in str(app.main.tags_pane.border_title)
        await tree_on(pilot, "team/app")
        await pilot.press("space")
        assert app.session.marks == {("team/app", "1.0")}  # what the pane shows, not all 3
        assert "Marked 1 tag matching <1.1 in team/app." in notes(app)
        await pilot.press("space")  # again: unmarks them
        assert app.session.marks == set()
        # a namespace: the filtered tags of each repository below it, counted
        await pilot.press("tab", "slash", *"2.", "enter")
        await tree_on(pilot, "team/web")
        await pilot.press("left", "space")  # up to team/, mark it
        assert app.session.marks == {("team/web", "2.0"), ("team/web", "2.1")}
        assert "Marked 2 tags matching 2. in 1 repository of team/." in notes(app)
        # no filter: every tag, and the toast says so (and names latest)
        await pilot.press("c", "escape")
        await pilot.press("tab", "escape")
        assert app.session.tag_filter == ""
        await tree_on(pilot, "team/app")
        await pilot.press("space")
        assert len(app.session.marks) == 3
        said = "Marked all 3 tags of team/app (no tag filter). Among them: latest."
        assert said in notes(app)
        # m marks the same tags as space does, with the same words
        await pilot.press("c")
        await open_repository(pilot, "team/app")
        await pilot.press("slash", *"<1.1", "enter", "m")
        assert app.session.marks == {("team/app", "1.0")}
        assert notes(app)[-1] == "Marked 1 tag matching <1.1 in team/app."


async def test_confirmation_names_protected_tags_emptied_repositories_and_its_choices(
    client: RegistryClient, populated: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("j", "space", "d")  # 1.1 alone: latest shares its digest
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        plan = shown(app.screen.query_one("#confirm-plan"))
        assert "skipped: press 2 (delete them too) or 3 (untag only)" in plan
        assert "--no-match-all-tags" not in plan and "--untag" not in plan
        await pilot.press("2")
        plan = shown(app.screen.query_one("#confirm-plan"))
        assert "! protected-looking tags go: latest in team/app" in plan
        assert "empties" not in plan  # 1.0 stays
        totals = shown(app.screen.query_one("#confirm-totals"))
        assert "1 digest stays in other repositories" in totals
        await pilot.press("escape")
        await tree_on(pilot, "team/app")
        await pilot.press("space", "d")  # every tag of team/app
        await settle(pilot)
        plan = shown(app.screen.query_one("#confirm-plan"))
        assert "! protected-looking tags go: latest in team/app" in plan
        assert "! empties team/app: no tag left" in plan
        await pilot.press("escape", "c", "y")
    assert sorted(client.list_tags("team/app")) == ["1.0", "1.1", "latest"]  # nothing deleted


async def test_signatures_deleted_in_the_plan_are_not_called_orphaned(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    from test_tui_referrers import signed_app

    d = signed_app(pusher)
    pusher.tag("team/app", "stable", pusher.image("team/app", "1.0", seed="A", oci=True))
    app = DregApp(client)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_repository(pilot, "team/app")
        await tree_on(pilot, "team/app")
        await pilot.press("space")  # every tag, the .sig and the fallback tag among them
        assert ("team/app", d["fallback"]) in app.session.marks
        assert "2 signature/SBOM tags" in notes(app)[-1]
        await pilot.press("d")
        await settle(pilot)
        for choice in ("1", "2", "3"):
            await pilot.press(choice)
            plan = shown(app.screen.query_one("#confirm-plan"))
            assert "orphaned" not in plan, choice
            assert "! signature/SBOM tags go: 2 in team/app" in plan
            assert "! empties team/app: no tag left" in plan
        # only 1.0 and stable: the .sig goes with the image, so it is not left orphaned either
        await pilot.press("escape", "c")
        await open_repository(pilot, "team/app")
        await pilot.press("space", "d")
        await settle(pilot)
        assert "orphaned" not in shown(app.screen.query_one("#confirm-plan"))


async def test_the_result_screen_says_why_an_item_was_skipped_in_the_tuis_words(
    client: RegistryClient, populated: None
) -> None:
    from dregtui.tui.screens.result import ResultScreen

    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("space", "j", "space", "d")  # 1.0, and one of 1.1 / latest (one digest)
        await settle(pilot)
        await pilot.press("y")  # the default choice: skip the digests with unmarked tags
        for _ in range(100):
            if isinstance(app.screen, ResultScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, ResultScreen)
        listed = shown(app.screen.query_one("#result-list"))
        assert "Skipped (1)" in listed
        said = ", not marked: d, then 2 (delete them too) or 3 (untag only)"
        assert "also tagged " in listed and said in listed
        assert "--no-match-all-tags" not in listed and "--untag" not in listed
    assert sorted(client.list_tags("team/app")) == ["1.1", "latest"]
