"""The tags pane is a virtual list: a repository with 50,000 tags opens, scrolls and filters.

Timings are printed by bench/tui_virtual.py, never asserted here."""

from __future__ import annotations

from dregtui.inventory.model import Inventory, TagInfo
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
