"""Registry text is data: markup-like names, ANSI escapes and control characters are shown
literally (never styled, never sent to the terminal)."""

from __future__ import annotations

import html
import re

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.textsafe import clean
from dregtui.ops.imagefacts import ImageFacts as Details
from dregtui.tui.app import DregApp
from dregtui.tui.text import literal

EVIL_REPO = "evil/[bold red]boom[/]"
EVIL_TAG = "[link=http://x]click[/link]\x1b[31mred\x07"
DIGEST = "sha256:" + "ab" * 32


def screen_text(app: DregApp) -> str:
    svg = app.export_screenshot()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
    return text


def test_clean_and_literal() -> None:
    # the one sanitizer (dregtui/core/textsafe.py): each sequence or control is one visible mark
    assert clean("a\x1b[31mb\x1b]0;title\x07c\x00d") == "a\ufffdb\ufffdc\ufffdd"
    assert literal("[bold]x[/bold]").plain == "[bold]x[/bold]"
    assert literal("[bold]x[/bold]").spans == []


async def test_hostile_names_and_labels_shown_literally() -> None:
    inv = Inventory("http://registry.test")
    inv.set_repository(EVIL_REPO, {EVIL_TAG: TagInfo(DIGEST, "")})
    inv.set_repository("plain/app", {"1.0": TagInfo(DIGEST, "")})
    inv.mark_scanned(0)
    details = Details(DIGEST, "", size=10, created="[i]2024[/i]", labels={"[b]k": "\x1b[2Jv[/b]"})

    app = DregApp(None, inventory=inv, details=[details], clock=lambda: 60)
    async with app.run_test(size=(120, 36)) as pilot:
        app.repo_tree.reveal(EVIL_REPO)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.tag_list.rows == [EVIL_TAG]
        text = screen_text(app)
        assert "[bold red]boom[/]" in text  # tree and tags pane title
        # each escape sequence and the BEL shown as one U+FFFD, never sent to the terminal
        assert "[link=http://x]click[/link]\ufffdred\ufffd" in text
        assert "[i]2024[/i]" in text and "[b]k=\ufffdv[/b]" in text
        assert "\x1b" not in text
        # the reverse panel lists the other repository holding the digest, literally
        assert "plain/app:1.0" in text
        await pilot.press("space", "d")
        await pilot.pause()
        confirm = screen_text(app)
        assert "[bold red]boom[/]" in confirm
        assert "[link=http://x]click[/link]\ufffdred\ufffd" in confirm


async def test_hostile_registry_names_and_errors(fake_registry) -> None:  # type: ignore[no-untyped-def]
    """A (fake) registry serving markup/ANSI names and a markup error message."""
    from urllib.parse import quote

    from support.fake_server import error_reply, json_reply
    from support.tui import settle, until

    from dregtui.registry.client import RegistryClient

    evil_ok, evil_bad = "[bold]ok[/bold]\x1b[5m", "[red]bad[/red]"
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [evil_ok, evil_bad]}))
    fake_registry.route(
        "GET",
        f"/v2/{quote(evil_ok)}/tags/list",
        json_reply({"name": evil_ok, "tags": ["[i]t[/i]"]}),
    )
    fake_registry.route(
        "GET",
        f"/v2/{quote(evil_bad)}/tags/list",
        error_reply(400, "NAME_INVALID", "[blink]no[/blink] \x1b[31mway"),
    )
    head = json_reply(
        {},
        **{
            "Docker-Content-Digest": DIGEST,
            "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        },
    )
    fake_registry.route("HEAD", f"/v2/{quote(evil_ok)}/manifests/{quote('[i]t[/i]')}", head)

    with RegistryClient(fake_registry.url, retries=0) as client:
        app = DregApp(client)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: bool(app._notifications), "a notification")
            await settle(pilot)
            text = screen_text(app)
            # a slash makes "[bold]ok[" a namespace: both halves shown as typed
            assert "[bold]ok[/" in text and "bold]ok" in text and "[red]bad[/" in text
            assert "\x1b" not in text
            messages = " ".join(n.message for n in app._notifications)
            assert "[red]bad[/red]" in messages and "\x1b" not in messages
            assert app.is_running


def test_log_lines_wait_until_the_screen_is_gone() -> None:
    """urllib3's "connection pool is full" (or a warning of ours) written to the terminal
    while the screen is up lands on top of it: held, then said once each, after."""
    import io
    import logging

    from dregtui.cli.commands.tui import held_log_lines
    from dregtui.cli.main import _configure_logging

    terminal = io.StringIO()
    _configure_logging("warning", False, terminal)
    try:
        with held_log_lines():
            for _ in range(3):
                logging.getLogger("urllib3.connectionpool").warning("Connection pool is full")
            logging.getLogger("dregtui").warning("one more")
            assert terminal.getvalue() == ""  # nothing while the screen is up
        lines = terminal.getvalue().splitlines()
        assert len(lines) == 2
        assert "Connection pool is full" in lines[0] and lines[0].endswith("(3 times)")
        assert "one more" in lines[1]
        logging.getLogger("dregtui").warning("after")
        assert "after" in terminal.getvalue()  # the terminal's handler is back
    finally:
        _configure_logging("warning", False, io.StringIO())
