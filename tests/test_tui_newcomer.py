"""Issue 25, as a newcomer finds the TUI: marks and figures fit at 80 columns, ``/`` says what
it filters and what is wrong as it is typed, the screen opens on a repository."""

from __future__ import annotations

from typing import Any

import pytest
from support.tui import settle

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.state.visited import last_visited
from dregtui.tui.app import DregApp
from dregtui.tui.sample_data import sample_app
from dregtui.tui.widgets.filter_input import FilterInput

pytestmark = pytest.mark.timeout(60)


def tree_lines(app: Any) -> list[str]:
    """The tree's lines as drawn (labels fitted to the width)."""
    tree = app.repo_tree
    return [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]


@pytest.fixture
def registry_with_tags(pusher: ImagePusher) -> None:
    """library/app: 0.1.0, 0.1.5, 0.2.0, 1.0.0 (one image each); library/web: 1.0."""
    for n, tag in enumerate(("0.1.0", "0.1.5", "0.2.0", "1.0.0")):
        pusher.image("library/app", tag, seed=f"app{n}")
    pusher.image("library/web", "1.0", seed="web")


async def test_at_80_columns_marks_and_frees_stay_and_figures_say_what_they_count(
    client: RegistryClient, registry_with_tags: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.repo_tree
        assert tree.border_subtitle == "repos/tags · size"  # what the bare numbers count
        app.repo_tree.reveal("library/app")
        await pilot.press("enter", "space", "j", "space", "j", "space")
        await settle(pilot)
        assert len(app.session.marks) == 3
        lines = tree_lines(app)
        app_line = next(line for line in lines if line.startswith("├ "))
        assert "●3" in app_line and "KiB" in app_line and len(app_line) <= 22
        assert any(line.startswith("▼ libra") and "●3" in line for line in lines)
        status = str(app.query_one("#status").render())
        assert "frees " in status and "● 3 tags / 3 digests marked" in status
        assert len(status.rstrip()) <= 80
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert "frees " in str(app.query_one("#status").render())  # at any width


async def test_wide_tree_says_repos_and_tags() -> None:
    app = sample_app()
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        lines = tree_lines(app)
        assert any(line.startswith("▼ ci/ 1 repo ") for line in lines)
        assert any(line.startswith("└ builds 240 tags ") for line in lines)
        assert app.repo_tree.border_subtitle == ""  # the labels say what they count


async def test_a_version_range_on_the_tree_filters_the_tags_and_m_marks_them(
    client: RegistryClient, registry_with_tags: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.repo_tree.reveal("library/app")
        await pilot.pause()
        assert app.repo_tree.has_focus and app.tag_list.repository == "library/app"
        await pilot.press("slash", *"<0.2")
        field = app.query_one("#filter", FilterInput)
        assert field.target == "tags" and str(field.border_title).startswith("filter tags")
        assert app.session.repo_filter == "" and app.session.tag_filter == "<0.2"
        await pilot.press("enter")
        assert not field.display and app.repo_tree.has_focus
        assert app.tag_list.rows == ["0.1.0", "0.1.5"]
        await pilot.press("m")
        assert app.session.marks == {("library/app", "0.1.0"), ("library/app", "0.1.5")}
        # re: stays a repository regex on the tree
        await pilot.press("escape", "slash", *"re:web$")
        assert field.target == "repos" and app.session.repo_filter == "re:web$"


async def test_filter_errors_show_under_the_field_as_typed() -> None:
    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.main.tag_list.focus()
        await pilot.press("slash", *"re:(")
        field = app.query_one("#filter", FilterInput)
        problem = str(field.border_subtitle)
        assert "missing )" in problem and "position 1" in problem
        await pilot.press("enter")  # kept open, no toast
        assert field.display and field.has_focus and not app._notifications
        await pilot.press("backspace", *"1")
        assert field.problem is None and str(field.border_subtitle) == ""
        assert app.session.tag_filter == "re:1"
        await pilot.press(*["backspace"] * 4, "=")
        assert field.problem == "= needs a tag after it: =1.0"
        assert app.session.tag_filter == ""  # the last filter that was right stays
        await pilot.press("backspace", "!")
        assert field.problem == "! needs a term after it: !latest"


async def test_opens_on_the_first_repository_then_on_the_last_visited(
    client: RegistryClient, registry_with_tags: None
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.tag_list.repository == "library/app" and app.repo_tree.has_focus
        assert app.tag_list.rows == ["0.1.0", "0.1.5", "0.2.0", "1.0.0"]
        assert app.repo_tree.current_repository == "library/app"
        await pilot.press("j")
        await settle(pilot)
        assert app.tag_list.repository == "library/web"
    assert last_visited(client.base_url) == "library/web"
    assert last_visited("http://elsewhere.example") is None  # per registry
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.tag_list.repository == "library/web"
        assert app.repo_tree.current_repository == "library/web"


async def test_the_demo_like_sample_opens_on_a_repository_and_clearing_the_filter_keeps_it() -> (
    None
):
    app = sample_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.tag_list.repository == "ci/builds"
        app.repo_tree.reveal("team/web")
        await pilot.pause()
        await pilot.press("slash", *"nothing-like-this", "enter", "escape")
        await pilot.pause()
        tree = app.repo_tree
        assert tree.current_repository == "team/web"
        assert tree._ns_nodes["team"].is_expanded  # the namespace of the repository stays open
        assert not tree._ns_nodes["library"].is_expanded  # what the filter opened folds again


async def test_column_header_lines_up_with_the_rows_and_dates_keep_off_the_border() -> None:
    app = sample_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for repository in ("library/alpine", "ci/builds"):  # no scrollbar, then one
            app.repo_tree.reveal(repository)
            await settle(pilot)
            header = str(app.query_one("#tags-header").render())
            row = app.tag_list.render_line(0).text
            assert len(row) == app.tag_list.scrollable_content_region.width
            assert row.endswith(" ") and row[-11] != " "  # the date, then a blank column
            digest = app.session.inventory.repositories[repository][app.tag_list.rows[0]].digest
            at = row.index(digest.split(":", 1)[1][:12])
            assert header.index("digest") == at, repository
        assert app.main.tags_pane.border_subtitle == "sorted by version · s"


async def test_the_footer_drops_the_palette_key_when_very_narrow() -> None:
    from textual.widgets._footer import FooterKey

    app = sample_app()
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot)
        keys = app.screen.query(FooterKey)
        assert keys and not any(k.has_class("-command-palette") for k in keys)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert any(k.has_class("-command-palette") for k in app.screen.query(FooterKey))


async def test_a_warm_start_opens_on_the_last_visited_repository(
    client: RegistryClient, registry_with_tags: None, tmp_path: Any
) -> None:
    from dregtui.ops.scanner import Scanner
    from dregtui.state.cache import InventoryCache
    from dregtui.state.visited import remember_visited

    cache = InventoryCache(tmp_path / "cache.json", client.base_url)
    cache.save(Scanner(client).scan())
    remember_visited(client.base_url, "library/web")
    app = DregApp(client, cached=cache.peek(), load_cache=cache.load)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.loading_cache
        assert app.tag_list.repository == "library/web" and app.tag_list.rows == ["1.0"]
        assert app.repo_tree.current_repository == "library/web" and app.repo_tree.has_focus


async def test_a_repository_gone_since_falls_back_to_the_first(
    client: RegistryClient, registry_with_tags: None
) -> None:
    from dregtui.state.visited import remember_visited

    remember_visited(client.base_url, "library/gone")
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.tag_list.repository == "library/app"


async def test_a_filtered_namespace_shows_the_size_of_what_it_shows_and_p_explains() -> None:
    from dregtui.core.space import human_size

    app = sample_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        sizes = app.session.sizes
        assert sizes["library/nginx"] != sizes["library/"]
        await pilot.press("slash", *"nginx", "enter")
        label = str(app.repo_tree._ns_nodes["library"].label)
        assert label == f"library/ 1 {human_size(sizes['library/nginx'])}"
        await pilot.press("P")
        [note] = app._notifications
        assert "P saves a registry opened with -r as a profile" in str(note.message)
