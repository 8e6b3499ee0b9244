"""Long work over a million items, done in steps that let other threads run between them."""

from __future__ import annotations

import threading
import time

# Work on a million items goes in steps of this many, and lets other threads run between them:
# one C call over them all (a dict update, say) would hold the UI thread up for a second.
STEP = 32_768


def yield_to_other_threads() -> None:
    """Let a waiting thread (the UI's) have the interpreter now; nothing when there is no
    other thread (a command: yielding would only give the CPU away on a busy machine)."""
    if threading.active_count() > 1:
        time.sleep(0)
