"""Driving the TUI in tests: wait for what the app is doing, not for a condition to come true.

``settle(pilot)`` returns once no worker is pending or running (every worker, whoever started
it: the app, a screen, a widget; ``app.workers`` holds them all) and the messages they posted
have been handled: after it, the screen shows the result, and the test asserts on it. ``until``
polls, and is only for what the app's workers do not own (a request a test holds at a gate, a
notification).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerState

BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


async def settle(pilot: Pilot[Any], *groups: str, timeout: float = 30.0) -> None:
    """Wait until no worker (only those of ``groups`` when some are named) is pending or
    running, twice in a row with the message queues drained in between (a finished worker's
    message may start the next one). A worker that failed or was cancelled counts as done: the
    test asserts on what the user sees about it."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        await pilot.pause()
        busy = [w for w in app.workers if w.state in BUSY and (not groups or w.group in groups)]
        if not busy:
            quiet += 1
            continue
        quiet = 0
        left = deadline - time.monotonic()
        if left <= 0:
            names = ", ".join(sorted({f"{w.group}:{w.name}" for w in busy}))
            raise AssertionError(f"workers still busy after {timeout:.0f}s: {names}")
        running = [w for w in busy if w.state is WorkerState.RUNNING]
        if not running:  # pending: about to start on the next loop turn
            continue
        # Worker.wait awaits the worker's task; it is never cancelled from here (cancelling
        # the waiter would cancel the worker).
        waits = [asyncio.ensure_future(w.wait()) for w in running]
        done, _ = await asyncio.wait(waits, timeout=left)
        for task in done:
            task.exception()  # WorkerFailed / WorkerCancelled: done, as far as we wait


async def until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 20.0
) -> None:
    """Poll for something no worker of the app owns (a gated request, a notification)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f}s: {what}")
        await pilot.pause(0.02)


async def open_repository(pilot: Pilot[Any], repository: str) -> None:
    """After the scan: the repository's tags on screen, with the focus on them."""
    app: Any = pilot.app
    await settle(pilot)
    app.repo_tree.reveal(repository)
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    assert app.tag_list.repository == repository and app.tag_list.has_focus


async def delete_marked(pilot: Pilot[Any]) -> None:
    """d, then y on the confirmation with its default choice: the deletion runs to the
    result screen."""
    from dregtui.tui.screens.confirm import ConfirmScreen
    from dregtui.tui.screens.result import ResultScreen

    app = pilot.app
    await pilot.press("d")
    await settle(pilot)
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(app.screen, ResultScreen)
