"""Issue 11 figure: warm start of the TUI from a big cache, to a screen that answers keys.

    python3 bench/warm_start.py [TAGS ...]      # default 10,000, 100,000 and 1,000,000

Writes the synthetic cache of bench/scale.py, then in one process does what `dregtui` does:
reads the cache's first line, builds the app (the tree from that line, the rest loading in a
worker) and runs it under Pilot until the main screen is up and a key (`j` in the tree) has
been handled; keeps pressing keys while the rest loads (the slowest is printed) and until the
inventory is in. Prints those seconds beside a bare Textual app's start in the same run.
Asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from scale import URL, build  # noqa: E402
from textual.app import App  # noqa: E402

from dregtui.state.cache import InventoryCache  # noqa: E402
from dregtui.tui.app import DregApp  # noqa: E402


async def bare() -> float:
    start = time.perf_counter()
    async with App().run_test(size=(120, 36)) as pilot:
        await pilot.press("j")
        return time.perf_counter() - start


async def warm(cache: InventoryCache) -> tuple[float, float, float, float]:
    """Seconds to: the header read, a screen that has handled a key, the slowest of the keys
    pressed while the rest loads, the whole inventory in (tree labels with counts)."""
    start = time.perf_counter()
    header = cache.peek()
    assert header is not None
    peeked = time.perf_counter() - start

    app = DregApp(None, cached=header, load_cache=cache.load, scan=False)
    async with app.run_test(size=(120, 36)):
        # Pilot's press() waits for the process to go idle (it never is while the rest loads):
        # keys go in as the terminal sends them and the cursor is watched instead.
        answering = await key(app, "j") + time.perf_counter() - start
        slowest = 0.0
        while app.loading_cache or not app.session.inventory.scanned:
            slowest = max(slowest, await key(app, "k" if app.repo_tree.cursor_line else "j"))
            await asyncio.sleep(0.02)
        loaded = time.perf_counter() - start
    return peeked, answering, slowest, loaded


async def key(app: DregApp, name: str) -> float:
    """Seconds from a key sent to the tree's cursor having moved."""
    while not app.main.is_mounted or not app.repo_tree.root.children:
        await asyncio.sleep(0.001)
    before = app.repo_tree.cursor_line
    start = time.perf_counter()
    app.simulate_key(name)
    while app.repo_tree.cursor_line == before:
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    print(f"bare Textual app: {asyncio.run(bare()):.2f} s to a handled key")
    with tempfile.TemporaryDirectory() as tmp:
        for tags in sizes:
            cache = InventoryCache(Path(tmp) / f"{tags}.json", URL)
            inv = build(tags)
            cache.save(inv)
            del inv
            peeked, answering, slowest, loaded = asyncio.run(warm(cache))
            print(
                f"{tags:9,d} tags: header {peeked * 1000:.0f} ms; screen answering keys after "
                f"{answering:.2f} s; slowest key while loading {slowest * 1000:.0f} ms; "
                f"everything in after {loaded:.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
