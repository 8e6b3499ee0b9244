"""--rate: one token bucket in the transport covers every request of a client."""

from __future__ import annotations

import threading

from dregtui.ops.connect import make_client
from dregtui.registry.ratelimit import RateLimiter
from dregtui.state.config import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_bucket_allows_rate_per_second_after_a_one_second_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        assert limiter.acquire()
    # a burst of at most one token at start, then 4 per second: 9 turns take 2 s
    assert 1.9 <= clock.now <= 2.1
    assert all(s <= 0.25 for s in clock.slept)


def test_a_cancelled_wait_returns_at_once() -> None:
    limiter = RateLimiter(0.01)
    assert limiter.acquire()  # the first turn is free
    cancelled = threading.Event()
    cancelled.set()
    assert limiter.acquire(cancelled) is False


def test_every_request_of_the_client_goes_through_the_rate_limit(registry, run_cli) -> None:
    """The TUI, the checks before a deletion and the deletions use the client's transport."""
    with make_client(Settings(registry=registry.url, rate=5.0)) as client:
        limiter = client.transport.limiter
        assert limiter is not None and limiter.rate == 5.0
        taken: list[str] = []
        real = limiter.acquire

        def counting(cancelled: threading.Event | None = None) -> bool:
            taken.append("turn")
            return real(cancelled)

        limiter.acquire = counting  # type: ignore[method-assign]
        client.ping()
        client.list_repositories()
        assert client.head_manifest("nothing/here", "1.0") is None
        assert len(taken) >= 3
    with make_client(Settings(registry=registry.url)) as client:
        assert client.transport.limiter is None
