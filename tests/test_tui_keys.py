"""Keys: keymap overrides from the config, the help screen, the command palette, profiles."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.tui import open_repository

from dregtui.cli.main import main
from dregtui.state.config import Settings
from dregtui.tui.app import DregApp
from dregtui.tui.commands import ACTIONS
from dregtui.tui.sample_data import sample_app, show_confirm, show_main
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.help import HelpScreen, bindings_text
from dregtui.tui.screens.main import MainScreen
from dregtui.tui.screens.profile import ProfileScreen


def test_every_binding_has_an_id_and_description() -> None:
    from dregtui.tui.screens.main import MainScreen
    from dregtui.tui.screens.progress import ProgressScreen
    from dregtui.tui.screens.result import ResultScreen
    from dregtui.tui.widgets.filter_input import FilterInput
    from dregtui.tui.widgets.repo_tree import RepoTree
    from dregtui.tui.widgets.tag_list import TagList

    classes = (MainScreen, RepoTree, TagList, FilterInput, ConfirmScreen, HelpScreen)
    for cls in (*classes, ProgressScreen, ResultScreen):
        for binding in cls.BINDINGS:
            assert binding.id and binding.description, (cls.__name__, binding)


async def test_keymap_override_help_and_palette() -> None:
    app = sample_app(keymap={"app.delete": "x", "tags.mark": "t"})
    async with app.run_test(size=(100, 30)) as pilot:
        app.repo_tree.reveal("team/web")
        await pilot.pause()
        await pilot.press("enter", "t")  # remapped mark
        assert app.session.marks == {("team/web", "2.0.0")}
        await pilot.press("d")  # no longer delete
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title, _, _ in ACTIONS:
            assert title in titles


async def test_tree_arrows_expand_open_and_go_up() -> None:
    app = sample_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("j", "j", "j")  # team/
        assert app.repo_tree.cursor_node.data is None
        await pilot.press("right", "right")  # expand, then first child
        assert app.repo_tree.current_repository == "team/api"
        await pilot.press("l")  # open: focus moves to the tags
        assert app.tag_list.has_focus and app.tag_list.repository == "team/api"
        app.repo_tree.focus()
        await pilot.press("left", "left")  # up to team/, then collapse
        assert app.repo_tree.cursor_node.data is None
        assert not app.repo_tree.cursor_node.is_expanded


async def test_mouse_click_selects_a_tag() -> None:
    app = sample_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/api")
        await pilot.click("#tags", offset=(4, 3))
        assert app.tag_list.current_tag == "v1.2.1" and app.tag_list.has_focus


async def test_save_profile_never_writes_the_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    settings = Settings(
        registry="https://r.example", username="ops", password="s3cret", config_path=str(config)
    )

    app = sample_app(settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("P")
        assert isinstance(app.screen, ProfileScreen)
        await pilot.press(*"bad name", "enter")  # rejected: space
        assert isinstance(app.screen, ProfileScreen)
        await pilot.press(*["backspace"] * 8, *"prod", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ProfileScreen)
    text = config.read_text()
    assert "s3cret" not in text
    doc = tomllib.loads(text)
    assert doc["profiles"]["prod"]["registry"] == "https://r.example"
    assert doc["profiles"]["prod"]["username"] == "ops"
    assert config.stat().st_mode & 0o777 == 0o600


def test_keymap_and_theme_from_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry: Any
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[tui]\ntheme = "nord"\n\n[keymap]\n"app.delete" = "x"\n')
    seen: dict[str, Any] = {}

    def fake_run(self: DregApp, *args: object, **kwargs: object) -> None:
        seen["keymap"] = self.user_keymap
        seen["theme"] = self._theme_name

    monkeypatch.setattr(DregApp, "run", fake_run)
    monkeypatch.setattr("dregtui.cli.commands.tui.has_terminal", lambda stdout: True)
    argv = ["-reg", registry.url, "--config", str(config), "tui"]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert seen == {"keymap": {"app.delete": "x"}, "theme": "nord"}


async def test_narrow_layout_sort_and_escape() -> None:
    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("-narrow")
        reverse = app.query_one("#reverse")
        assert not reverse.display or reverse.region.width == 0
        app.repo_tree.reveal("team/api")
        await pilot.pause()
        await pilot.press("enter", "enter")  # open the repository, then the tag's sharers
        assert app.screen.has_class("-show-reverse") and reverse.has_focus
        await pilot.press("escape")
        assert not app.screen.has_class("-show-reverse") and app.tag_list.has_focus
        await pilot.press("s")  # name order
        assert app.tag_list.rows[:3] == ["latest", "prod", "v1.0.0"]  # the .sig tag: folded
        await pilot.press("s")  # newest first
        assert app.tag_list.rows[-1] == "v1.0.0"
        await pilot.press("s")
        assert app.tag_list.rows[0] == "v1.0.0"


async def test_tab_walks_the_panes_in_order() -> None:
    """tree -> tags -> digest -> shared by, and back; at 80 columns the lower area swaps."""

    async def walk(size: tuple[int, int]) -> list[str]:
        app = sample_app()
        seen = []
        async with app.run_test(size=size) as pilot:
            app.repo_tree.reveal("team/api")
            await pilot.pause()
            for key in ["tab"] * 4 + ["shift+tab"] * 4:
                await pilot.press(key)
                await pilot.pause()
                focused = app.focused
                assert focused is not None and focused.region.width > 0  # on screen
                seen.append(focused.id)
        return seen

    order = ["tags", "digest", "reverse", "repos", "reverse", "digest", "tags", "repos"]
    assert await walk((120, 36)) == order
    assert await walk((80, 24)) == order


async def test_footer_fits_80_columns_and_the_rest_is_in_help() -> None:
    from textual.widgets._footer import FooterKey

    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/api")
        keys = list(app.screen.query(FooterKey))
        shown = {k.description for k in keys}
        assert {"Mark", "Filter", "Mark matching", "Delete", "Help", "Quit"} <= shown
        assert all(k.region.right <= 80 and k.region.width > 0 for k in keys)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=76, record=True, file=io.StringIO())
        console.print(bindings_text(app))
        help_text = console.export_text()
        for binding in MainScreen.BINDINGS:
            assert binding.id in help_text


async def test_status_bar_keeps_what_matters_when_narrow() -> None:
    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.repo_tree.reveal("ci/builds")
        await pilot.pause()
        await pilot.press("enter", "slash", *"<0.1", "enter", "m")
        status = str(app.query_one("#status").render())
        assert "● 100 tags marked" in status and "filter: <0.1" in status  # shortened
        assert "frees " in status
        assert "267 tags" not in status  # the least important part made room
        assert len(status.rstrip()) <= 80
        await pilot.press("c", "y")  # 100 marks: c asks first
        await pilot.pause()
        assert "267 tags" in str(app.query_one("#status").render())


async def test_empty_states_say_what_to_do() -> None:
    from dregtui.core.inventory import Inventory

    inventory = Inventory("http://registry.test")
    inventory.mark_scanned(0)
    app = DregApp(None, inventory=inventory, clock=lambda: 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        [note] = app.repo_tree.root.children
        assert str(note.label) == "no repositories (R rescans)"
    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"nothing-like-this", "enter")
        [note] = app.repo_tree.root.children
        assert str(note.label) == "no repository matches (esc clears the filter)"
        await pilot.press("escape")
        assert len(app.repo_tree.root.children) > 1
        assert app.repo_tree.current_repository == "ci/builds"  # where the screen opened


async def test_q_on_the_confirmation_goes_back_and_never_quits_mid_restore() -> None:
    """q on the confirmation means back (marks intact); q while a restore runs says so."""
    import time

    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await show_confirm(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        marks = set(app.session.marks)
        await pilot.press("q")
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        assert app.session.marks == marks and len(marks) == 2
        app.run_worker(lambda: time.sleep(1.0), thread=True, group="restore")
        await pilot.press("q")
        assert app.is_running
        assert any("Still restoring" in n.message for n in app._notifications)
        await app.workers.wait_for_complete()
        await pilot.press("q", "y")  # y: drop the 2 marks and quit
        await pilot.pause()
        assert not app.is_running


async def test_short_terminal_gives_the_tags_the_height() -> None:
    """At 80x24 the tag list shows 12 rows; the shared-by area grows while it has focus and the
    tag under the cursor stays in view; back on the tags it is a small preview again."""

    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "ci/builds")
        assert app.tag_list.has_focus and app.tag_list.size.height >= 12
        lower = app.query_one("#lower")
        assert lower.size.height == 7
        await pilot.press(*["down"] * 11, "enter")  # the last visible row, then its sharers
        await pilot.pause()
        assert app.query_one("#reverse").has_focus and lower.size.height >= 12
        top = int(app.tag_list.scroll_y)
        assert top <= app.tag_list.cursor < top + app.tag_list.size.height
        await pilot.press("escape")
        await pilot.pause()
        assert app.tag_list.has_focus and lower.size.height == 7


async def test_shared_by_group_headers_look_like_headers_not_disabled() -> None:
    from textual.color import Color

    app = sample_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await show_main(pilot)
        header = app.query_one("#reverse").render_line(0)
        first = next(iter(header))
        assert first.text.startswith("same repository") and first.style.bold
        accent = Color.parse(app.theme_variables["accent"]).rich_color
        assert first.style.color == accent


async def test_confirmation_totals_stay_in_view_at_80x24() -> None:
    """A long plan with the 1/2/3 choice: the body scrolls, the totals line is never clipped."""

    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.repo_tree.reveal("ci/builds")
        await pilot.pause()
        await pilot.press("enter", "slash", *"<0.1 !re:5$", "enter", "m", "d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and screen.intersecting
        box = screen.query_one("#confirm-box").content_region
        totals = screen.query_one("#confirm-totals")
        assert totals.content_region.height >= 1
        assert totals.content_region.bottom <= box.bottom
        assert "to delete" in str(totals.render())
        assert not list(app._notifications)  # "Marked N more tags." no longer covers it
