"""Regenerate the SVG screenshots in this folder (main, confirmation and result screens, and
with a storage the untagged list, at 120x36 and 80x24) from the fixed sample inventory: no
registry needed, deterministic.

    python screenshots/generate.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from dregtui.tui.sample_data import sample_app, show_confirm, show_main, show_result
from dregtui.tui.sample_storage import show_untagged

HERE = Path(__file__).resolve().parent
SCREENS = {
    "main": show_main,
    "confirm": show_confirm,
    "result": show_result,
    "untagged": show_untagged,
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
    for name in SCREENS:
        for size in SIZES:
            print(await shoot(name, size))


if __name__ == "__main__":
    asyncio.run(main())
