"""Issue 11 figure: warm start of the TUI from a big cache, to a screen that answers keys.

    python3 bench/warm_start.py [TAGS ...]      # default 100,000 and 1,000,000

Writes the synthetic cache of bench/scale.py, then in one process: reads it (what `dregtui`
does first), builds the app and runs it under Pilot until the main screen is up and a key
(`j` in the tree) has been handled. Prints each step's seconds and the whole, beside a bare
Textual app's start in the same run. Asserts nothing.
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

from dregtui.inventory.cache import InventoryCache  # noqa: E402
from dregtui.tui.app import DregApp  # noqa: E402


async def bare() -> float:
    start = time.perf_counter()
    async with App().run_test(size=(120, 36)) as pilot:
        await pilot.press("j")
    return time.perf_counter() - start


async def warm(cache: InventoryCache) -> tuple[float, float]:
    start = time.perf_counter()
    found = cache.read()
    assert found is not None
    loaded = time.perf_counter() - start
    app = DregApp(None, inventory=found.inventory, scan=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("j")
        assert app.repo_tree.cursor_line >= 0
    return loaded, time.perf_counter() - start


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    print(f"bare Textual app: {asyncio.run(bare()):.2f} s to a handled key")
    with tempfile.TemporaryDirectory() as tmp:
        for tags in sizes:
            cache = InventoryCache(Path(tmp) / f"{tags}.json", URL)
            inv = build(tags)
            cache.save(inv)
            del inv
            loaded, total = asyncio.run(warm(cache))
            print(
                f"{tags:9,d} tags: cache read {loaded:.2f} s, screen answering keys after "
                f"{total:.2f} s in all"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
