"""The TUI through Pilot against the real registry: browse, filter, reverse lookup, mark,
confirm with intersecting tags, delete (verified in the registry), restore, dry run."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from support.tui import delete_marked, open_repository, settle, until

from dregtui.core.space import Space, human_size
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.state.journal import Journal
from dregtui.tui.app import DregApp
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.result import ResultScreen
from dregtui.tui.widgets.shared_by import SharedByPanel

pytestmark = pytest.mark.timeout(90)


def unsized(label: object) -> str:
    """A tree label without the size the tree shows after the counts."""
    return re.sub(r" [0-9.]+ (B|KiB|MiB|GiB)", "", str(label))


@pytest.fixture
def populated(pusher: ImagePusher) -> dict[str, str]:
    """team/app: 1.0 (A), 1.1 + latest (B); other/app: 1.1 (B); team/web: 2.0."""
    a = pusher.image("team/app", "1.0", seed="A", labels={"purpose": "test"})
    b = pusher.image("team/app", "1.1", seed="B")
    pusher.tag("team/app", "latest", b)
    pusher.tag("other/app", "1.1", b)
    pusher.image("team/web", "2.0", seed="W")
    return {"A": a.digest, "B": b.digest}


def option_texts(panel: SharedByPanel) -> list[str]:
    return [str(panel.get_option_at_index(i).prompt) for i in range(panel.option_count)]


async def test_browse_and_reverse_lookup(client: RegistryClient, populated: dict[str, str]) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        # the tree groups by namespace: other/ and team/ (collapsed), enter expands
        labels = [str(n.label) for n in app.repo_tree.root.children]
        assert labels[0].startswith("other/") and labels[1].startswith("team/")
        await open_repository(pilot, "team/app")
        assert app.tag_list.rows == ["1.0", "1.1", "latest"]
        await pilot.press("j")
        assert app.tag_list.current_tag == "1.1"
        panel = app.query_one("#reverse", SharedByPanel)
        texts = option_texts(panel)
        same = texts.index(next(t for t in texts if t.startswith("same repository")))
        other = texts.index(next(t for t in texts if t.startswith("other repositories")))
        assert "  team/app:1.1" in texts[same:other] and "  team/app:latest" in texts[same:other]
        assert "  other/app:1.1" in texts[other:]
        # details are fetched lazily in a worker and shown in the digest pane
        await settle(pilot)
        assert populated["B"] in app.session.details
        # enter on the tag moves to the panel; enter on other/app:1.1 jumps there
        await pilot.press("enter")
        assert panel.has_focus
        assert option_texts(panel)[panel.highlighted] == "  team/app:1.1"  # visible cursor
        panel.highlighted = texts.index("  other/app:1.1")
        await pilot.press("enter")
        await settle(pilot)
        assert app.tag_list.repository == "other/app"
        assert app.tag_list.current_tag == "1.1"


async def test_filter_and_mark_matching(client: RegistryClient, populated: dict[str, str]) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("slash", *"<1.1", "enter")
        assert app.tag_list.rows == ["1.0"]
        await pilot.press("m")
        assert app.session.marks == {("team/app", "1.0")}
        await pilot.press("slash", *"!latest", "enter")
        assert app.tag_list.rows == ["1.0", "1.1"]
        await pilot.press("escape")
        assert app.tag_list.rows == ["1.0", "1.1", "latest"]
        await pilot.press("slash", *"re:[", "enter")  # a bad regex is a notification
        assert app.query_one("#filter").display
        await pilot.press("escape", "c")
        assert app.session.marks == set()


async def test_confirm_intersecting_delete_and_restore(
    client: RegistryClient, populated: dict[str, str]
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("j", "space")  # mark 1.1 (latest shares its digest)
        assert app.session.marks == {("team/app", "1.1")}
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        [item] = screen.plan.items
        assert item.intersecting_tags == ["latest"] and item.action.value == "skip"
        assert item.other_repositories == ["other/app"]
        await pilot.press("escape")  # back, marks intact, nothing deleted
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.session.marks == {("team/app", "1.1")}
        assert sorted(client.list_tags("team/app")) == ["1.0", "1.1", "latest"]
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("2")  # delete them too
        assert app.screen.plan.items[0].action.value == "delete"
        choice = str(app.screen.query_one("#confirm-choice").content)
        assert "● 2  Delete them too" in choice and "○ 1  Skip" in choice
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        result = app.screen
        assert [o.status for o in result.outcomes] == ["deleted"]
        # the registry now holds: team/app 1.0 only; other/app keeps its copy
        assert sorted(client.list_tags("team/app")) == ["1.0"]
        assert client.head_manifest("other/app", "1.1").digest == populated["B"]
        assert app.session.inventory.tags("team/app") == ["1.0"]
        assert app.session.marks == set()
        await pilot.press("u")
        await settle(pilot)
        assert any(o.status == "restored" for o in result.outcomes)
        assert sorted(client.list_tags("team/app")) == ["1.0", "1.1", "latest"]
        assert client.head_manifest("team/app", "latest").digest == populated["B"]
        assert app.session.inventory.tags("team/app") == ["1.0", "1.1", "latest"]
        await pilot.press("escape")
        assert app.tag_list.rows == ["1.0", "1.1", "latest"]
        # the journal notes the restore: `restore --last` does not offer that batch again
        assert Journal().last(client.base_url) is None


async def test_untag_only(client: RegistryClient, populated: dict[str, str]) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("j", "space", "d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("3", "y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert [o.status for o in app.screen.outcomes] == ["untagged"]
        assert sorted(client.list_tags("team/app")) == ["1.0", "latest"]
        assert client.head_manifest("team/app", "latest").digest == populated["B"]
        assert client.head_manifest("other/app", "1.1").digest == populated["B"]


async def test_dry_run_changes_nothing(client: RegistryClient, populated: dict[str, str]) -> None:
    app = DregApp(client, dry_run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/app")
        assert "dry run" in str(app.query_one("#status").render())
        await pilot.press("space")  # 1.0: no intersecting tags
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmScreen, ResultScreen))
        assert sorted(client.list_tags("team/app")) == ["1.0", "1.1", "latest"]


async def test_repository_mark_and_rescan(
    client: RegistryClient, pusher: ImagePusher, populated: dict[str, str]
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.repo_tree.reveal("team/web")
        await pilot.pause()
        await pilot.press("space")
        assert app.session.marks == {("team/web", "2.0")}
        assert "●1" in str(app.repo_tree.cursor_node.label)
        pusher.image("team/web", "2.1", seed="W2")
        await pilot.press("r")
        await settle(pilot)
        assert "2.1" in app.session.inventory.repositories["team/web"]


async def test_rescan_all_finds_new_repositories(
    client: RegistryClient, pusher: ImagePusher, populated: dict[str, str]
) -> None:
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pusher.image("late/arrival", "0.1", seed="L")
        await pilot.press("R")
        await settle(pilot)
        assert "late/arrival" in app.session.inventory.scanned
        await settle(pilot)
        labels = [str(n.label) for n in app.repo_tree.root.children]
        assert any(label.startswith("late/") for label in labels)


async def test_unreachable_registry_is_a_notification() -> None:
    with RegistryClient("http://127.0.0.1:9", retries=0, timeout=2) as dead:
        app = DregApp(dead)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: bool(app._notifications), "bool(app._notifications)")
            [note] = list(app._notifications)
            assert note.severity == "error" and "Scanning the registry failed" in note.message
            assert app.is_running


async def test_deletion_disabled_says_how_to_enable_it(make_registry: Callable[..., Any]) -> None:
    reg = make_registry(config={"storage": {"delete": {"enabled": False}}})
    with RegistryClient(reg.url) as c:
        ImagePusher(c).image("team/app", "1.0", seed="A")
        app = DregApp(c)
        async with app.run_test(size=(120, 36)) as pilot:
            await open_repository(pilot, "team/app")
            await pilot.press("space", "d")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, ResultScreen)
            reasons = " ".join(o.reason for o in app.screen.outcomes)
            assert "storage.delete.enabled" in reasons
            assert not any(o.status == "deleted" for o in app.screen.outcomes)
            assert app.screen.batch_id is None  # nothing to restore
        assert c.list_tags("team/app") == ["1.0"]


async def test_nested_namespaces(client: RegistryClient, pusher: ImagePusher) -> None:
    """team/tools/lint sits in tools/ under team/; counts and marks add up on the ancestors."""
    pusher.image("team/api", "1.0", seed="api")
    pusher.image("team/web", "1.0", seed="web")
    pusher.image("team/tools/lint", "0.9", seed="lint")
    pusher.image("team/tools/lint", "1.0", seed="lint2")

    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.repo_tree
        [team, unknown] = tree.root.children  # no --storage: the last line says so
        assert str(unknown.label) == "untagged: unknown" and not unknown.data
        assert unsized(team.label) == "team/ 3"
        # the screen opens on the first repository: team/ unfolded, team/api under the cursor
        assert team.is_expanded and tree.current_repository == "team/api"
        expected = ["api 1", "tools/ 1", "web 1"]
        await settle(pilot)
        assert [unsized(n.label) for n in team.children] == expected
        # each repository shows its size: du's figure (tests/test_space.py checks du's against
        # the registry's storage)
        api = human_size(Space(app.session.inventory).usage("team/api").size)
        assert str(team.children[0].label) == f"api 1 {api}"
        tools = team.children[1]
        assert not tools.is_expanded and not tools.children
        app.main.jump_to("team/tools/lint", "1.0")  # reveals the nested repository
        await settle(pilot)
        assert tools.is_expanded and bool(tools.children)
        assert unsized(tools.children[0].label) == "lint 2"
        await settle(pilot)
        assert app.tag_list.current_tag == "1.0"
        await pilot.press("space")  # mark team/tools/lint:1.0
        assert app.session.marks == {("team/tools/lint", "1.0")}
        assert unsized(tools.label) == "tools/ 1 ●1" and unsized(team.label) == "team/ 3 ●1"
        tree.focus()
        tree.move_cursor(team)
        await pilot.press("space")  # every tag below team/, nested ones included
        assert len(app.session.marks) == 4
        assert unsized(team.label) == "team/ 3 ●4" and unsized(tools.label) == "tools/ 1 ●2"
        await pilot.press("left")  # collapse, and the expansion survives a rebuild
        await pilot.press("right")
        app.main.refresh_tree()
        await pilot.pause()
        await settle(pilot)
        team = tree.root.children[0]
        assert team.is_expanded and len(team.children) == 3 and team.children[1].is_expanded


async def test_date_order_fetches_concurrently_and_can_be_stopped(
    client: RegistryClient, pusher: ImagePusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorting by date loads every created date, a few requests at a time, with progress in
    the status bar; esc stops it; the UI keeps answering meanwhile."""
    import threading

    created = {f"1.{n}": f"2024-01-{1 + (n * 7) % 28:02d}T{n % 24:02d}:00:00Z" for n in range(40)}
    for tag, date in created.items():
        pusher.image("ci/dated", tag, seed="d" + tag, created=date, layers=0)
    for n in range(40):
        pusher.image("ci/later", f"2.{n}", seed=f"l{n}", layers=0)
    lock = threading.Lock()
    flight = {"now": 0, "max": 0, "dates": 0}  # in flight now, most at once, by the date worker
    # The date worker's requests wait at this gate, so "still loading" is a state the test
    # controls instead of a window it has to catch on a busy machine.
    gate = threading.Event()
    real_get_manifest = client.get_manifest

    def slow_get_manifest(*args: Any, **kwargs: Any) -> Any:
        is_date_worker = threading.current_thread().name.startswith("dregtui-dates")
        with lock:
            flight["now"] += 1
            flight["max"] = max(flight["max"], flight["now"])
            flight["dates"] += is_date_worker
        try:
            if is_date_worker:
                gate.wait(timeout=30)
            time.sleep(0.01)
            return real_get_manifest(*args, **kwargs)
        finally:
            with lock:
                flight["now"] -= 1

    monkeypatch.setattr(client, "get_manifest", slow_get_manifest)

    app = DregApp(client, jobs=4)
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one("#status")
        await open_repository(pilot, "ci/dated")
        await pilot.press("s", "s")  # version -> name -> date
        assert app.session.sort == "date"
        await until(
            pilot, lambda: "dates " in str(status.render()), "'dates ' in str(status.render())"
        )
        await until(
            pilot, lambda: flight["now"] >= 4, "flight['now'] >= 4"
        )  # 4 date requests at once
        from dregtui.tui.screens.help import HelpScreen

        await pilot.press("question_mark")  # the UI answers while the dates load
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        gate.set()
        await until(pilot, lambda: status.dates is None, "status.dates is None")
        assert 1 < flight["max"] <= 4 + 1  # + the one-at-a-time worker for visible rows
        newest_first = sorted(created, key=lambda t: created[t], reverse=True)
        await settle(pilot)
        assert app.tag_list.rows == newest_first
        # another repository in date order loads its dates too; esc stops that
        gate.clear()
        app.main.jump_to("ci/later", "2.0")
        await until(pilot, lambda: status.dates is not None, "status.dates is not None")
        await pilot.press("escape")
        await until(pilot, lambda: status.dates is None, "status.dates is None")
        later = app.session.inventory.repositories["ci/later"]
        loaded = sum(1 for info in later.values() if info.digest in app.session.details)
        assert loaded < 40
        stopped_at = flight["dates"]
        gate.set()  # the requests in flight end; the stopped worker sends no new one
        await until(
            pilot,
            lambda: not any(t.name.startswith("dregtui-dates") for t in threading.enumerate()),
            "the date requests in flight ended",
        )
        await settle(pilot)
        assert flight["dates"] == stopped_at
        assert len(app.tag_list.rows) == 40


async def test_cancel_a_deletion_between_items(
    client: RegistryClient, pusher: ImagePusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """esc during the progress: the items already done stay done, the rest never run, their
    marks stay, and the registry holds exactly the tags that were not deleted."""
    from dregtui.tui.screens.progress import ProgressScreen

    tags = [f"1.{n}" for n in range(20)]
    for tag in tags:
        pusher.image("team/many", tag, seed="m" + tag, layers=0)
    deletes = {"done": 0}
    real_delete = client.delete_manifest

    def slow_delete(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        outcome = real_delete(*args, **kwargs)
        deletes["done"] += 1
        return outcome

    monkeypatch.setattr(client, "delete_manifest", slow_delete)

    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/many")
        await pilot.press("m")  # mark every tag (no filter)
        assert len(app.session.marks) == 20
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: deletes["done"] >= 1, "deletes['done'] >= 1")
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("q", "ctrl+q")  # never quits in the middle of a deletion
        assert app.is_running and isinstance(app.screen, ProgressScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        result = app.screen
        assert result.cancelled
        deleted = {t for o in result.outcomes if o.status == "deleted" for t in o.tags}
        not_run = {t for o in result.outcomes if o.status == "not started" for t in o.tags}
        assert deleted and not_run and deleted | not_run == set(tags)
        assert not deleted & not_run
        assert set(client.list_tags("team/many")) == not_run
        # one line for every item that never began, none of them counted as skipped
        shown = str(result.query_one("#result-list").render())
        title = str(result.query_one("#result-title").render())
        waiting = sum(1 for o in result.outcomes if o.status == "not started")
        assert f"{waiting} not started (cancelled)" in shown
        assert "Skipped" not in shown and "skipped" not in title
        assert f"{waiting} not started" in title
        assert shown.count("team/many @") == sum(o.status == "deleted" for o in result.outcomes)
        assert set(app.session.inventory.tags("team/many")) == not_run
        assert app.session.marks == {("team/many", t) for t in not_run}
        await pilot.press("q")  # closes the result, not the app
        assert app.is_running and not isinstance(app.screen, ResultScreen)
        assert sorted(app.tag_list.rows) == sorted(not_run)


async def test_after_a_deletion_the_cursor_stays_where_it_was(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    for tag in ("1.0", "1.1", "1.2"):
        pusher.image("team/x", tag, seed="x" + tag, layers=0)

    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/x")
        await pilot.press("j", "space", "k", "d")  # mark 1.1, back on it, delete
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        await pilot.press("escape")
        assert app.tag_list.rows == ["1.0", "1.2"]
        assert app.tag_list.current_tag == "1.2"  # not back at the top


async def test_confirm_says_which_index_children_go_and_which_stay(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    index, (amd64, arm64) = pusher.index("multi", "1.0")
    pusher.tag("multi", "amd64", amd64)

    app = DregApp(client, dry_run=True)
    async with app.run_test(size=(160, 36)) as pilot:
        await open_repository(pilot, "multi")
        assert app.tag_list.rows == ["1.0", "amd64"]
        await pilot.press("space", "d")  # the index only: amd64 is tagged, so it stays
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        shown = " ".join(str(app.screen.query_one("#confirm-plan").content).split())
        assert (
            f"index: of its 2 child manifests, this plan deletes {arm64.digest[:19]}; "
            f"{amd64.digest[:19]} stays in the repository"
        ) in shown
        assert (
            f"DELETE multi @ {arm64.digest[7:19]} oci untagged child of index "
            f"{index.digest[7:19]} (goes with it: nothing else references it)"
        ) in shown
        assert "its 2 child manifests stay" not in shown


async def test_marks_show_what_garbage_collect_frees(registry, client, pusher) -> None:
    """The status bar and the confirmation say what deleting the marks frees; after the
    deletion, garbage-collect finds exactly those bytes eligible."""
    from support.registry import blob_sizes, gc_eligible

    pusher.image("team/app", "1.0", seed="own", layers=2, layer_size=5000)
    pusher.image("team/app", "2.0", seed="keep", layers=1, layer_size=3000)
    shared = pusher.image("team/base", "1.0", seed="base", layers=1, layer_size=7000)
    pusher.tag("team/app", "base", shared)  # shared with team/base: frees nothing
    sizes, before = blob_sizes(registry.storage), gc_eligible(registry)
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        assert app.tag_list.rows == ["1.0", "2.0", "base"]
        await pilot.press("space", "j", "j", "space")  # 1.0 and base
        await settle(pilot)
        figure = app.main.status_bar.frees
        assert figure is not None and figure > 10_000
        assert f"frees {human_size(figure)}" in str(app.main.status_bar.render())
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        totals = str(app.screen.query_one("#confirm-totals").content)
        assert f"garbage-collect then frees {human_size(figure)}" in totals
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
    freed = gc_eligible(registry) - before
    assert figure == sum(sizes[b] for b in freed)


async def test_a_policy_marks_what_it_deletes_and_says_which_rule(
    client: RegistryClient, pusher: ImagePusher, tmp_path
) -> None:
    """p loads a policy; its deletions become marks, the digest pane names the deciding rule,
    and the normal confirmation and deletion follow."""
    for tag in ("1.0", "1.1", "1.2"):
        pusher.image("team/app", tag, seed="p" + tag, layers=0)
    pusher.image("team/web", "2.0", seed="web", layers=0)
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "last one"\nrepositories = ["team/app"]\nkeep_last = 1\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nrepositories = ["**"]\nkeep_lats = 1\n')
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await pilot.press("p")
        await pilot.pause()
        box = app.screen.query_one("#policy-path")
        box.value = str(bad)
        await pilot.press("enter")  # a bad file: one sentence in the box, nothing applied
        await pilot.pause()
        assert "keep_lats: unknown key" in str(app.screen.query_one("#policy-error").content)
        box.value = str(policy)
        await pilot.press("enter")
        await settle(pilot)
        assert app.session.marks == {("team/app", "1.0"), ("team/app", "1.1")}
        shown = str(app.query_one("#digest-body").content)
        assert "policy   delete (last one: not among the last 1 images by version)" in shown
        await pilot.press("j", "j")  # 1.2: kept
        await settle(pilot)
        shown = str(app.query_one("#digest-body").content)
        assert "policy   keep (last one: keep_last 1: newest image 1)" in shown
        await delete_marked(pilot)
    assert client.list_tags("team/app") == ["1.2"]
    assert client.list_tags("team/web") == ["2.0"]


async def test_tags_group_by_variant(client: RegistryClient, pusher: ImagePusher) -> None:
    """s cycles version -> name -> date -> variant: plain versions, then each variant in
    version order, then plain names."""
    for tag in ("1.25.3-alpine", "1.24.0", "latest", "1.25.3", "1.24.0-alpine", "1.25.3-slim"):
        pusher.image("library/nginx", tag, seed=tag, layers=0)
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "library/nginx")
        assert app.tag_list.rows[:3] == ["1.24.0", "1.24.0-alpine", "1.25.3"]  # version order
        await pilot.press("s", "s", "escape", "s")  # name, date (esc: no date loading), variant
        await settle(pilot)
        assert app.session.sort == "variant"
        assert app.tag_list.rows == [
            "1.24.0",
            "1.25.3",
            "1.24.0-alpine",
            "1.25.3-alpine",
            "1.25.3-slim",
            "latest",
        ]


def scanned_cache(client: RegistryClient, path: Any) -> Any:
    """A cache of the registry as a scan finds it now."""
    from dregtui.ops.scanner import Scanner
    from dregtui.state.cache import InventoryCache

    cache = InventoryCache(path, client.base_url)
    cache.save(Scanner(client).scan())
    return cache


async def said_once_then_scanned(pilot: Any, app: DregApp, note: str) -> None:
    """The cache could not stand: one notification says why, and the tags come from a scan."""
    await settle(pilot)
    notes = [str(n.message) for n in app._notifications]
    assert sum(note in n for n in notes) == 1, notes
    await open_repository(pilot, "team/app")
    assert app.tag_list.rows == ["1.0", "1.1", "latest"]


async def test_warm_start_draws_the_tree_from_the_cache_header_then_loads_the_rest(
    client: RegistryClient, populated: dict[str, str], tmp_path: Any
) -> None:
    """Issue 11: the screen answers keys before the cache is read; the tree comes from its
    first line, the tags once the rest is in, and the registry is not scanned for either."""
    import threading

    cache = scanned_cache(client, tmp_path / "cache.json")
    gate = threading.Event()

    def load(warn: Callable[[str], None]) -> Any:
        gate.wait(20)
        return cache.load(warn)

    sent: list[str] = []
    real = client.session.request
    client.session.request = lambda *a, **k: sent.append(str(a[1])) or real(*a, **k)  # type: ignore[method-assign]
    app = DregApp(client, cached=cache.peek(), load_cache=load)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.loading_cache
        assert "loading the cache: 5 tags" in str(app.main.status_bar.render())
        app.repo_tree.reveal("team/app")
        await pilot.pause()
        assert app.repo_tree.current_repository == "team/app"
        await pilot.press("enter")  # opening a repository waits for the cache: no scan
        await pilot.press("R")
        await until(
            pilot,
            lambda: any("Loading the cache" in str(n.message) for n in app._notifications),
            "a note",
        )
        assert "loading…" in str(app.main.query_one("#tags-pane").border_title)
        gate.set()
        await settle(pilot)
        assert not app.loading_cache
        assert app.tag_list.repository == "team/app"
        assert app.tag_list.rows == ["1.0", "1.1", "latest"]
        assert app.session.inventory.holders(populated["B"])  # the reverse index is in
        assert app.session.sizes.get("team/app")  # and the sizes follow
    # no scan: the details pane's manifest reads only
    assert not [url for url in sent if "/tags/list" in url or "/_catalog" in url], sent


async def test_a_cache_whose_rest_is_damaged_is_said_once_then_the_registry_is_scanned(
    client: RegistryClient, populated: dict[str, str], tmp_path: Any
) -> None:
    path = tmp_path / "cache.json"
    cache = scanned_cache(client, path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # torn: the end line is missing
    header = cache.peek()
    assert header is not None

    app = DregApp(client, cached=header, load_cache=cache.load)
    async with app.run_test(size=(120, 36)) as pilot:
        await said_once_then_scanned(pilot, app, "is damaged; rescanning the registry")


async def test_rescanning_one_repository_shows_progress_and_keeps_the_old_tags(
    registry: Any, pusher: ImagePusher
) -> None:
    """Issue 11: r on a big repository says how far it is, and the tags already on screen
    stay usable until the new ones are in."""
    image = pusher.image("team/many", "0", seed="many")
    for n in range(1, 60):
        pusher.tag("team/many", f"1.{n}", image)
    from dregtui.registry.ratelimit import RateLimiter

    with RegistryClient(registry.url) as client:
        app = DregApp(client, jobs=2)
        async with app.run_test(size=(120, 36)) as pilot:
            await open_repository(pilot, "team/many")
            client.transport.limiter = RateLimiter(15)  # --rate 15: four seconds for the rescan
            before = list(app.tag_list.rows)
            assert len(before) == 60
            app.simulate_key("r")  # press() would wait for the process to go idle: the rescan
            status = app.main.status_bar
            seen: list[str] = []

            def progressed() -> bool:
                seen.append(status.message)
                return "rescanning team/many: " in status.message

            try:
                await until(pilot, progressed, "progress")
            except AssertionError:
                raise AssertionError(sorted(set(seen))) from None
            assert re.search(r"rescanning team/many: \d+/60 tags", status.message)
            assert app.tag_list.rows == before  # the old view, usable meanwhile
            await pilot.press("j")
            assert app.tag_list.cursor == 1
            await settle(pilot)
            assert status.message == "" and len(app.tag_list.rows) == 60


async def test_a_cache_that_cannot_be_read_behind_the_screen_falls_back_to_a_scan(
    client: RegistryClient, populated: dict[str, str], tmp_path: Any
) -> None:
    cache = scanned_cache(client, tmp_path / "cache.json")

    def load(warn: Callable[[str], None]) -> Any:
        raise OSError(5, "Input/output error")  # the disk went away after the first line

    app = DregApp(client, cached=cache.peek(), load_cache=load)
    async with app.run_test(size=(120, 36)) as pilot:
        await said_once_then_scanned(pilot, app, "Loading the cache failed")
