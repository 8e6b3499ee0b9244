"""Registry text is data: markup-like names, ANSI escapes and control characters are shown
literally (never styled, never sent to the terminal)."""

from __future__ import annotations

import asyncio
import html
import re

from dregtui.inventory.model import Inventory, TagInfo
from dregtui.tui.app import DregApp
from dregtui.tui.details import Details
from dregtui.tui.text import clean, literal

EVIL_REPO = "evil/[bold red]boom[/]"
EVIL_TAG = "[link=http://x]click[/link]\x1b[31mred\x07"
DIGEST = "sha256:" + "ab" * 32


def screen_text(app: DregApp) -> str:
    svg = app.export_screenshot()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
    return text


def test_clean_and_literal() -> None:
    assert clean("a\x1b[31mb\x1b]0;title\x07c\x00d") == "abc\ufffdd"
    assert literal("[bold]x[/bold]").plain == "[bold]x[/bold]"
    assert literal("[bold]x[/bold]").spans == []


def test_hostile_names_and_labels_shown_literally() -> None:
    inv = Inventory("http://registry.test")
    inv.set_repository(EVIL_REPO, {EVIL_TAG: TagInfo(DIGEST, "")})
    inv.set_repository("plain/app", {"1.0": TagInfo(DIGEST, "")})
    inv.mark_scanned(0)
    details = Details(DIGEST, "", size=10, created="[i]2024[/i]", labels={"[b]k": "\x1b[2Jv[/b]"})

    async def run() -> None:
        app = DregApp(None, inventory=inv, details=[details], clock=lambda: 60)
        async with app.run_test(size=(120, 36)) as pilot:
            app.repo_tree.reveal(EVIL_REPO)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.tag_list.rows == [EVIL_TAG]
            text = screen_text(app)
            assert "[bold red]boom[/]" in text  # tree and tags pane title
            assert "[link=http://x]click[/link]red" in text  # ANSI dropped, BEL removed
            assert "[i]2024[/i]" in text and "[b]k=v[/b]" in text
            assert "\x1b" not in text
            # the reverse panel lists the other repository holding the digest, literally
            assert "plain/app:1.0" in text
            await pilot.press("space", "d")
            await pilot.pause()
            confirm = screen_text(app)
            assert "[bold red]boom[/]" in confirm and "[link=http://x]click[/link]red" in confirm

    asyncio.run(run())
