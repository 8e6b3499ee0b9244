"""How many requests a scan keeps in flight: a window that follows the round trip.

A scan's speed is requests in flight divided by the round trip (Little's law) until something
saturates: the registry's CPU, this process's (one interpreter, the GIL), or the network. Past
that point more requests in flight only queue: each takes longer and nothing goes faster,
while this process pays for every waiting thread. So the window is sized as BBR sizes what TCP
keeps in flight: twice the bandwidth-delay product,

    limit = 2 * best rate * shortest round trip

``best rate`` is the most requests per second the last 8 batches completed (a batch is
``limit`` answers, at least 8), ``shortest round trip`` the quickest answer seen (it ages
upwards by 2 % a batch, so one lucky sample, or a network that got slower, does not pin it).
While answers come back as quickly as ever the rate follows the window and the window doubles
each batch; once they queue (the round trip reaches twice its floor) it stops. Through a 20 ms
round trip that is dozens of requests. On loopback the rule asks for a few, but this process's
own work per answer is part of every round trip there, and fewer than 16 in flight measured
slower (docs/performance.md), so the window never goes below 16 (``FLOOR``; the cap, when
``--jobs`` is lower). And since the round trip there counts this process's own work too, the
rule says too few: every few batches the window tries twice as many in flight for one batch
(BBR's probing) and keeps them when they deliver 10 % more. The cap is ``--jobs`` when given (never exceeded), else 64;
``--rate`` is enforced below, in the transport, whatever the window says.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

START = 16  # requests in flight before the first measurement
FLOOR = 16  # the window never shrinks below this (or the cap, when smaller): see above
BATCH = 8  # answers at least per decision
RATES = 8  # batches whose rates are remembered (the best one counts)
GAIN = 2.0  # in flight: this many times the bandwidth-delay product
AGE = 1.02  # the shortest round trip rises this much a batch unless an answer renews it
PROBE_EVERY = 4  # batches between two tries of a window twice as large
PROBE_GAIN = 1.1  # a try is kept when it delivers this much more than the window before it


class InFlightWindow:
    """Not thread-safe: the scanner calls it with its lock held."""

    __slots__ = (
        "cap",
        "limit",
        "least",
        "_clock",
        "_floor",
        "_batch_floor",
        "_count",
        "_since",
        "_rates",
        "_probe",
        "_proven",
        "_batches",
    )

    def __init__(self, cap: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = max(1, cap)
        self.limit = min(self.cap, START)
        self.least = min(self.cap, FLOOR)
        self._clock = clock
        self._floor = math.inf
        self._batch_floor = math.inf
        self._count = 0
        self._since = clock()
        self._rates: deque[float] = deque(maxlen=RATES)
        self._probe: tuple[int, float] | None = None  # (the limit before a try, its rate)
        self._proven = 0  # the largest window a try showed to deliver more
        self._batches = 0

    def sample(self, seconds: float) -> int:
        """One answer's round trip; returns how much the limit changed (+ grew, - shrank)."""
        if self.cap == self.least:
            return 0  # nothing to decide
        self._count += 1
        if seconds < self._batch_floor:
            self._batch_floor = seconds
        if self._count < max(self.limit, BATCH):
            return 0
        now = self._clock()
        elapsed = now - self._since
        self._floor = min(self._floor * AGE, self._batch_floor)
        rate = self._count / elapsed if elapsed > 0 else 0.0
        if rate:
            self._rates.append(rate)
        self._count, self._since, self._batch_floor = 0, now, math.inf
        if not self._rates:
            return 0
        old = self.limit
        if self._probe is not None:  # the batch of a try: keep it only if it paid
            before, before_rate = self._probe
            self._probe = None
            if rate >= PROBE_GAIN * before_rate:
                self._proven = max(self._proven, old)
            else:
                self.limit = before
                return self.limit - old
        target = math.ceil(GAIN * max(self._rates) * self._floor)
        self.limit = max(self.least, self._proven, min(self.cap, 2 * old, target))
        self._batches += 1
        if self.limit == old and old < self.cap and self._batches >= PROBE_EVERY:
            # the round trip says enough; try twice as many in flight for one batch anyway
            # (where this process's own CPU is part of every round trip, as on loopback, the
            # round trip alone says too few)
            self._batches = 0
            self._probe = (old, rate)
            self.limit = min(self.cap, 2 * old)
        return self.limit - old
