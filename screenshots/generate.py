"""Regenerate the SVG screenshots in this folder (main, confirmation and result screens, the
journal, how an image was built, a filter's inline error, and with a storage the untagged list,
at 120x36 and 80x24) from the fixed sample inventory: no registry needed, deterministic (the
journal's times are shown in UTC).

    python screenshots/generate.py
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from dregtui.tui.sample_data import (
    sample_app,
    show_build,
    show_confirm,
    show_filter_error,
    show_main,
    show_result,
)
from dregtui.tui.sample_journal import show_journal
from dregtui.tui.sample_storage import show_untagged

HERE = Path(__file__).resolve().parent
SCREENS = {
    "main": show_main,
    "confirm": show_confirm,
    "result": show_result,
    "untagged": show_untagged,
    "journal": show_journal,
    "build": show_build,
    "filter": show_filter_error,
}
SIZES = ((120, 36), (80, 24))


async def shoot(name: str, size: tuple[int, int]) -> Path:
    app = sample_app()
    async with app.run_test(size=size) as pilot:
        await SCREENS[name](pilot)
        await pilot.pause()
        filename = f"{name}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(filename, path=str(HERE))
    return HERE / filename


async def main() -> None:
    os.environ["TZ"] = "UTC"  # the journal shows local times: the same on every machine
    time.tzset()
    for name in SCREENS:
        for size in SIZES:
            print(await shoot(name, size))


if __name__ == "__main__":
    asyncio.run(main())
