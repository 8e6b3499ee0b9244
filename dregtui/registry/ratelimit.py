"""A token bucket shared by every request of one client: ``--rate N`` requests per second.

It lives in the transport, so the scan, the TUI's detail loads, the checks before a deletion and
the deletions themselves all count against the same budget (bursts up to one second's worth).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SLICE = 0.25  # a waiting thread looks at ``cancelled`` at least this often


class RateLimiter:
    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be greater than 0")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 1.0  # the first request goes at once
        self._last = clock()

    def acquire(self, cancelled: threading.Event | None = None) -> bool:
        """Wait for one request's turn; False (at once) when ``cancelled`` is set meanwhile."""
        while True:
            with self._lock:
                now = self._clock()
                burst = max(self.rate, 1.0)
                self._tokens = min(burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return True
                wait = (1.0 - self._tokens) / self.rate
            if cancelled is not None:
                if cancelled.wait(min(wait, SLICE)):
                    return False
            else:
                self._sleep(min(wait, SLICE))
