"""The retry policy of :class:`~dregtui.registry.transport.Transport`, on urllib3's own.

Reads (GET/HEAD) are retried on connection errors, timeouts, 5xx and 429. A request that may
change the registry (DELETE, POST, blob PUT) is only retried when it surely was not applied:
the connection could not be opened, or the registry answered 429 (it refused to process it).
A manifest PUT is idempotent (same bytes under the same reference) and is treated like a read.
"""

from __future__ import annotations

import contextlib
from typing import Any, Self

import requests
import urllib3

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_BACKOFF = 8.0  # seconds


class RegistryRetry(urllib3.Retry):
    """The retry policy, on urllib3's own: which answers and failures are retried, how long
    to wait (exponential backoff with jitter, capped; ``Retry-After`` honoured and capped),
    and how many attempts are left. One instance per call of :meth:`Transport.send`.

    ``idempotent`` says whether the request may be resent after it may have reached the
    registry: reads and manifest PUTs may; a DELETE, POST or blob PUT is resent only when the
    registry surely did not process it (the connection never opened, or a 429).

    It is not mounted on the adapters: the transport bounds a whole call (every attempt,
    bodies included) by one deadline, reads each body inside its attempt, and names each
    failure in a sentence, and urllib3 retries below all three. The transport asks the
    policy at each answer or failure instead.
    """

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def __init__(self, *args: Any, idempotent: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idempotent = idempotent

    @classmethod
    def for_call(
        cls, retries: int, backoff: float, max_retry_after: float, *, idempotent: bool
    ) -> RegistryRetry:
        return cls(
            total=retries,
            redirect=0,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff,
            backoff_max=MAX_BACKOFF,
            backoff_jitter=backoff / 2,
            retry_after_max=max_retry_after,
            respect_retry_after_header=True,
            raise_on_status=False,
            idempotent=idempotent,
        )

    def new(self, **kwargs: Any) -> Self:
        kwargs.setdefault("idempotent", self.idempotent)
        return super().new(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:  # refused unprocessed: safe to resend whatever the method
            return True
        return self.idempotent and super().is_retry(method, status_code, has_retry_after)

    def retries_failure(self, refused: bool) -> bool:
        """A network failure: resend only what cannot have been applied twice."""
        return self.idempotent or refused

    def parse_retry_after(self, retry_after: str) -> float:
        """Seconds (fractions too, which some registries send) or an HTTP date, capped;
        ``InvalidHeader`` for anything else (the backoff applies then)."""
        try:
            seconds = float(retry_after)
        except ValueError:
            return super().parse_retry_after(retry_after)
        if seconds != seconds:  # NaN
            raise urllib3.exceptions.InvalidHeader(f"Invalid Retry-After header: {retry_after}")
        return min(max(seconds, 0.0), self.retry_after_max)

    def pause_asked(self, resp: requests.Response) -> float | None:
        """The pause a ``Retry-After`` asks for (capped), None without a usable one."""
        if resp.status_code not in self.RETRY_AFTER_STATUS_CODES:
            return None
        with contextlib.suppress(urllib3.exceptions.InvalidHeader):
            return self.get_retry_after(resp)  # type: ignore[arg-type]
        return None

    def after(self, method: str, url: str, status: int | None = None) -> RegistryRetry:
        """The policy for the next attempt (its history holds this one)."""
        entry = urllib3.util.retry.RequestHistory(method, url, None, status, None)
        total = self.total - 1 if isinstance(self.total, int) else self.total
        return self.new(total=total, history=(*self.history, entry))

    @property
    def attempts_left(self) -> bool:
        return isinstance(self.total, int) and self.total > 0


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), capped; None if unparseable."""
    if not value:
        return None
    try:
        return RegistryRetry(retry_after_max=cap).parse_retry_after(value.strip())
    except urllib3.exceptions.InvalidHeader:
        return None
