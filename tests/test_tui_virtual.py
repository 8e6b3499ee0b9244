"""The tags pane is a virtual list: a repository with 50,000 tags opens, scrolls and filters.

Timings are printed by bench/tui_virtual.py, never asserted here."""

from __future__ import annotations

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.tui.app import DregApp

TAGS = 50_000


async def test_fifty_thousand_tags() -> None:
    inv = Inventory("http://registry.test")
    inv.set_repository(
        "big/repo",
        {f"1.{n // 1000}.{n % 1000}": TagInfo(f"sha256:{n % 977:064x}", "") for n in range(TAGS)},
    )
    inv.set_repository("small/repo", {"1.0": TagInfo("sha256:" + "0" * 64, "")})
    inv.mark_scanned(0)

    app = DregApp(None, inventory=inv, clock=lambda: 0)
    async with app.run_test(size=(120, 36)) as pilot:
        app.repo_tree.reveal("big/repo")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.tag_list.rows) == TAGS
        assert app.tag_list.rows[:2] == ["1.0.0", "1.0.1"]
        await pilot.press("end")
        await pilot.pause()
        for _ in range(20):
            await pilot.press("pageup")
        await pilot.pause()
        assert app.tag_list.current_tag is not None
        await pilot.press("space", "slash", *"<1.2", "enter")
        await pilot.pause()
        assert len(app.tag_list.rows) == 2000
        await pilot.press("m")
        await pilot.pause()
        label = app.repo_tree._repo_label("big/repo").plain  # figures with their separators
        assert "repo 50,000" in label and "●2,001" in label


def two_thousand_tags() -> Inventory:
    inv = Inventory("http://registry.test")
    tags = {f"1.{n // 100}.{n % 100}": TagInfo(f"sha256:{n % 977:064x}", "") for n in range(2000)}
    inv.set_repository("big/repo", tags)
    inv.mark_scanned(0)
    return inv


async def open_big_repo(app: DregApp, pilot) -> None:  # type: ignore[no-untyped-def]
    from support.tui import settle, until

    app.repo_tree.reveal("big/repo")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot, "prepare")
    # a big repository's first rows are sorted in a worker too (never on the UI thread)
    await until(pilot, lambda: len(app.tag_list.rows) == 2000, "the rows in")


async def test_a_big_repositorys_filter_runs_in_a_worker_and_the_list_is_never_blank(
    monkeypatch,
) -> None:
    """Issue 11: from HEAVY tags on, each keystroke's filter is worked out off the UI thread;
    the rows on screen stay until the new ones are in, and a stale answer is dropped."""
    import threading

    from support.tui import settle, until

    from dregtui.tui import session as session_module

    monkeypatch.setattr(session_module, "HEAVY", 1000)
    monkeypatch.setattr(session_module, "QUICK", 0)  # no filter is cheap enough in place
    inv = two_thousand_tags()
    gate = threading.Event()
    real = session_module.Session.visible_tags

    def held(self, repository, text=None, stop=None):  # type: ignore[no-untyped-def]
        if text and threading.current_thread() is not threading.main_thread():
            gate.wait(10)  # the filter's worker waits: the screen must not
        return real(self, repository, text, stop)

    monkeypatch.setattr(session_module.Session, "visible_tags", held)
    app = DregApp(None, inventory=inv, clock=lambda: 0)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_big_repo(app, pilot)
        assert len(app.tag_list.rows) == 2000
        await pilot.press("slash", "1", ".", "1")
        await pilot.pause()
        assert app.session.tag_filter == "1.1"
        assert len(app.tag_list.rows) == 2000 and app.tag_list.pending  # the last rows, kept
        pane = app.main.query_one("#tags-pane")
        await until(  # said once the filter has taken a while
            pilot, lambda: "filtering…" in str(pane.border_title), "filtering… in the title"
        )
        gate.set()
        await settle(pilot)
        assert not app.tag_list.pending
        assert app.tag_list.rows == [t for t in app.session.ordered_tags("big/repo") if "1.1" in t]
        assert "filtering…" not in str(app.main.query_one("#tags-pane").border_title)


async def test_a_big_repositorys_cheap_filter_is_worked_out_in_place(monkeypatch) -> None:
    """Issue 11: a filter that reads few tags (typed further, it narrows the last rows) is
    worked out at once: no worker, no frame of the old rows."""
    import threading

    from support.tui import settle

    from dregtui.tui import session as session_module

    monkeypatch.setattr(session_module, "HEAVY", 1000)
    monkeypatch.setattr(session_module, "QUICK", 2500)  # 2,000 tags of text: in place
    inv = two_thousand_tags()
    real = session_module.Session.visible_tags
    where: dict[str | None, set[str]] = {}

    def seen(self, repository, text=None, stop=None):  # type: ignore[no-untyped-def]
        where.setdefault(text or self.tag_filter, set()).add(threading.current_thread().name)
        return real(self, repository, text, stop)

    monkeypatch.setattr(session_module.Session, "visible_tags", seen)
    app = DregApp(None, inventory=inv, clock=lambda: 0)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_big_repo(app, pilot)
        await pilot.press("slash", "1", ".", "1")
        assert not app.tag_list.pending  # worked out as the key was handled
        assert where["1.1"] == {threading.main_thread().name}
        assert app.tag_list.rows == [t for t in app.session.ordered_tags("big/repo") if "1.1" in t]
        await pilot.press("space", "r", "e", ":", "1")  # a regex typed further narrows too
        await settle(pilot)
        assert where["1.1 re:1"] == {threading.main_thread().name}
        # a negated regex, each key afresh over 2,000 tags: a worker
        await pilot.press("space", "exclamation_mark", "r", "e", ":", "2")
        await settle(pilot)
        assert threading.main_thread().name not in where["1.1 re:1 !re:2"]
        assert not app.tag_list.pending
        assert app.tag_list.rows == [
            t for t in app.session.ordered_tags("big/repo") if "1.1" in t and "2" not in t
        ]


async def test_a_big_repository_is_never_sorted_on_the_ui_thread(monkeypatch) -> None:
    """The screen opens on the big repository (issue 25): its versions are sorted in a
    worker, the screen answers meanwhile (half a million versions took five seconds)."""
    import threading

    from support.tui import until

    from dregtui.tui import session as session_module

    monkeypatch.setattr(session_module, "HEAVY", 1000)
    on_ui: list[int] = []
    real = session_module.sort_tags

    def watched(tags):  # type: ignore[no-untyped-def]
        if threading.current_thread() is threading.main_thread() and len(tags) >= 1000:
            on_ui.append(len(tags))
        return real(tags)

    monkeypatch.setattr(session_module, "sort_tags", watched)
    app = DregApp(None, inventory=two_thousand_tags(), clock=lambda: 0)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: len(app.tag_list.rows) == 2000, "the rows in")
        assert app.tag_list.repository == "big/repo" and on_ui == []
        await pilot.press("s", "s", "s", "s")  # every order, and back
        await until(pilot, lambda: len(app.tag_list.rows) == 2000, "the rows in")
        assert on_ui == []
