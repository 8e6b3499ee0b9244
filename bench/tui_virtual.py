"""Benchmark: the tags pane with a huge repository (virtual list), through the real app.

Builds an in-memory inventory with N tags in one repository (no registry needed), opens it in
the app under Pilot and prints how long opening and scrolling (end + 20 page-ups; Pilot waits
for the app to be idle after every key, so that figure is mostly the wait) take; then, from a
key sent as a terminal sends it to the screen painted with its effect: each key of three
filters typed one at a time (a version range, text, a regex), a cursor move, and marking every
tag. Also the filter alone and the process's peak memory.
Usage: python bench/tui_virtual.py [N ...]   (default 10,000, 100,000 and 1,000,000)
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Callable

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.tui.app import DregApp


def inventory(tags: int) -> Inventory:
    inv = Inventory("http://registry.test")
    inv.set_repository(
        "big/repo",
        {f"1.{n // 1000}.{n % 1000}": TagInfo(f"sha256:{n % 977:064x}", "") for n in range(tags)},
    )
    inv.set_repository("small/repo", {"1.0": TagInfo("sha256:" + "0" * 64, "")})
    inv.mark_scanned(0)
    return inv


async def timed(pilot, *keys: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from pressing ``keys`` to a settled screen (Pilot waits for idle)."""
    start = time.perf_counter()
    await pilot.press(*keys)
    await pilot.pause()
    return time.perf_counter() - start


def send(app: DregApp, key: str) -> None:
    """One key, as the driver hands a terminal's key to the app (Pilot's press, less its wait
    for the process to go idle)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(
            _get_unicode_name_from_key(REPLACED_KEYS.get(key, key))
        )
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


class Drawn:
    """What the tags pane last drew (its rows, cursor, marks) and what of it reached the
    terminal: a key's effect is painted once the pane drew it and the frame was written."""

    state: tuple[object, int, int] | None = None
    shown: tuple[object, int, int] | None = None

    @classmethod
    def watch(cls) -> None:
        from textual.app import App

        from dregtui.tui.widgets.tag_list import TagList

        render_lines, display = TagList.render_lines, App._display

        def drawn(self, crop):  # type: ignore[no-untyped-def]
            cls.state = (self.rows, self.cursor, len(self.session.marks))
            return render_lines(self, crop)

        def written(self, screen, renderable):  # type: ignore[no-untyped-def]
            display(self, screen, renderable)
            cls.shown = cls.state

        TagList.render_lines = drawn  # type: ignore[method-assign]
        App._display = written  # type: ignore[method-assign]

    @classmethod
    def painted(cls, app: DregApp) -> bool:
        tags = app.tag_list
        shown = cls.shown
        return (
            shown is not None
            and shown[0] is tags.rows
            and shown[1:] == (tags.cursor, len(app.session.marks))
        )


async def key_to_paint(app: DregApp, key: str, handled: Callable[[], bool]) -> float:
    """Seconds from a key sent as the terminal sends it to a frame written with its effect in
    the tags pane (``handled`` says the app has acted on it). Pilot's press() is not used: it
    waits for the whole process to go idle, background workers included."""
    start = time.perf_counter()
    send(app, key)
    while not (handled() and Drawn.painted(app)):
        if time.perf_counter() - start > 30:
            raise SystemExit(f"the key {key!r} was not painted in 30 s")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - start


async def measure(tags: int) -> dict[str, float]:
    app = DregApp(None, inventory=inventory(tags), clock=lambda: 0)
    timings: dict[str, float] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        app.repo_tree.reveal("big/repo")
        await pilot.pause()
        timings["open"] = await timed(pilot, "enter")
        # a big repository's tags are parsed behind the screen once it opens (for filters)
        start = time.perf_counter()
        while any(w.group == "prepare" and not w.is_finished for w in app.workers):
            await asyncio.sleep(0.01)
        timings["prepare"] = time.perf_counter() - start
        start = time.perf_counter()
        await pilot.press("end")
        await pilot.pause()
        for _ in range(20):
            await pilot.press("pageup")
        await pilot.pause()
        timings["scroll"] = time.perf_counter() - start
        session = app.session
        # filters typed one key at a time: key to painted screen, each typed three times (the
        # median of each key is kept: a shared machine's hiccups are not the app's)
        per_key: dict[str, list[float]] = {}
        for text in ("<1.2", "1.2.3", "re:^1.2"):
            runs: list[list[float]] = []
            for _ in range(3):
                await pilot.press("slash")
                await pilot.pause()
                keys: list[float] = []
                for n, char in enumerate(text):
                    want = text[: n + 1]
                    keys.append(
                        await key_to_paint(
                            app,
                            char,
                            lambda w=want: session.tag_filter == w and not app.tag_list.pending,
                        )
                    )
                runs.append(keys)
                await pilot.press("escape")  # clears the filter
                await pilot.pause()
            per_key[text] = [statistics.median(column) for column in zip(*runs, strict=True)]
        for text, keys in per_key.items():
            timings[f"key {text}"] = max(keys)
            print(f"    {text!r} key by key (ms): " + " ".join(f"{k * 1000:.0f}" for k in keys))
        timings["keys"] = sum(sum(k) for k in per_key.values()) / sum(map(len, per_key.values()))
        app.tag_list.focus()
        await pilot.pause()
        row = app.tag_list.cursor
        timings["cursor"] = await key_to_paint(
            app, "down", lambda: app.tag_list.cursor == row + 1
        )  # a cursor move, for scale
        # marking every tag (no filter): key to painted screen
        timings["mark_all"] = await key_to_paint(app, "m", lambda: bool(session.marks))
        timings["marked"] = len(session.marks)
        # the filter itself, without the app: a fresh version filter, then a text filter
        # typed one key further (the rows the pane gets at each keystroke)
        for name, text in (("version", "<1.2"), ("text1", "1.2"), ("text2", "1.2.")):
            session.tag_filter = text
            start = time.perf_counter()
            session.visible_tags("big/repo")
            timings[name] = time.perf_counter() - start
    return timings


def main() -> int:
    Drawn.watch()
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    for tags in sizes:
        t = asyncio.run(measure(tags))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        slowest = ", ".join(
            f"{k[4:]!r} {v * 1000:.0f}" for k, v in t.items() if k.startswith("key ")
        )
        print(
            f"{tags:9,d} tags: open {t['open']:.2f} s (+{t['prepare']:.2f} s parsing behind the "
            f"screen), end+20 page-ups {t['scroll']:.2f} s; "
            f"filter typed, key to painted screen: {t['keys'] * 1000:.0f} ms a key on average, "
            f"slowest ms: {slowest} (a cursor move {t['cursor'] * 1000:.0f} ms); "
            f"marking all {t['marked']:,.0f}: {t['mark_all'] * 1000:.0f} ms; "
            f"the filter alone: '<1.2' {t['version'] * 1000:.0f} ms, '1.2' {t['text1'] * 1000:.0f} ms, "
            f"then '1.2.' {t['text2'] * 1000:.0f} ms; peak RSS so far {peak:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
