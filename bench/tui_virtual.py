"""Benchmark: the tags pane with a huge repository (virtual list), through the real app.

Builds an in-memory inventory with N tags in one repository (no registry needed), opens it in
the app under Pilot and prints how long opening, scrolling (end + 20 page-ups) and a version
filter take, and the process's peak memory. Pilot waits for the app to be idle after every key, so the
scroll figure (21 keys) is mostly that wait, flat in N. Usage: python bench/tui_virtual.py [N ...]
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time

from dregtui.inventory.model import Inventory, TagInfo
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


async def measure(tags: int) -> dict[str, float]:
    app = DregApp(None, inventory=inventory(tags), clock=lambda: 0)
    timings: dict[str, float] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        app.repo_tree.reveal("big/repo")
        await pilot.pause()
        timings["open"] = await timed(pilot, "enter")
        start = time.perf_counter()
        await pilot.press("end")
        await pilot.pause()
        for _ in range(20):
            await pilot.press("pageup")
        await pilot.pause()
        timings["scroll"] = time.perf_counter() - start
        start = time.perf_counter()
        await pilot.press("slash", *"<1.2", "enter")
        await pilot.pause()
        timings["filter"] = time.perf_counter() - start
        # a text filter typed one key at a time: key to settled screen (Pilot waits for idle)
        await pilot.press("escape")
        await pilot.press("slash")
        await pilot.pause()
        per_key = []
        for key in "1.2.3":
            per_key.append(await timed(pilot, key))
        await pilot.press("enter")
        timings["key"] = sum(per_key) / len(per_key)
        timings["key_max"] = max(per_key)
        # the same in a bare app: what Pilot's press-and-wait costs without any filtering
        timings["bare_key"] = await timed(pilot, "j")
        # marking every tag (no filter): key to settled screen
        session_filter = app.session.tag_filter
        app.session.tag_filter = ""
        app.main.show_repository("big/repo")
        await pilot.pause()
        timings["mark_all"] = await timed(pilot, "m")
        marked = len(app.session.marks)
        app.session.tag_filter = session_filter
        timings["marked"] = marked
        # the filter itself, without Pilot's wait: a fresh version filter, then a text filter
        # typed one key further (the rows the pane gets at each keystroke)
        session = app.session
        for name, text in (("version", "<1.2"), ("text1", "1.2"), ("text2", "1.2.")):
            session.tag_filter = text
            start = time.perf_counter()
            session.visible_tags("big/repo")
            timings[name] = time.perf_counter() - start
    return timings


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 50_000, 100_000]
    for tags in sizes:
        t = asyncio.run(measure(tags))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{tags:7d} tags: open {t['open']:.2f} s, end+20 page-ups {t['scroll']:.2f} s, "
            f"filter '<1.2' {t['filter']:.2f} s; typing '1.2.3': {t['key'] * 1000:.0f} ms a key "
            f"(slowest {t['key_max'] * 1000:.0f} ms; a cursor move {t['bare_key'] * 1000:.0f} ms); "
            f"marking all {t['marked']:.0f}: {t['mark_all'] * 1000:.0f} ms; "
            f"the filter alone: '<1.2' {t['version'] * 1000:.0f} ms, '1.2' {t['text1'] * 1000:.0f} ms, "
            f"then '1.2.' {t['text2'] * 1000:.0f} ms; peak RSS so far {peak:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
