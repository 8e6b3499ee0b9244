"""HTTP plumbing for the registry client: one session, retries, failures as domain errors.

- :class:`RegistrySession` resolves environment settings (proxies, ``REQUESTS_CA_BUNDLE``)
  once per origin instead of on every request, and lets an explicit ``verify`` win over the
  environment (plain requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=False``).
- :class:`Transport` sends a request with a timeout, retries what is safe to retry with
  exponential backoff, honours ``429 Retry-After``, and turns network failures into
  :class:`RegistryConnectionError` / :class:`RegistryTLSError` sentences (``failures.py``).
  Body-less reads take the lean urllib3 path of ``fastpath.py`` when they can.

Retry policy. Reads (GET/HEAD) are retried on connection errors, timeouts, 5xx and 429.
A request that may change the registry (DELETE, POST, blob PUT) is only retried when it
surely was not applied: the connection could not be opened, or the registry answered
429 (it refused to process it). A manifest PUT is idempotent (same bytes under the same
reference) and is treated like a read.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from dregtui.registry.errors import (
    RegistryError,
    RegistryTLSError,
    redact_url,
)
from dregtui.registry.failures import (
    connection_not_established,
    describe_connection_error,
    describe_tls_error,
)
from dregtui.registry.fastpath import FastReads

log = logging.getLogger("dregtui.registry")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_CONNECT_TIMEOUT = 10.0  # opening a connection never needs the full read timeout
MAX_BACKOFF = 8.0
MAX_REDIRECTS = 5


class RegistrySession(requests.Session):
    """A Session whose environment lookup is cached per origin (scheme://host:port)."""

    def __init__(
        self, verify: bool | str = True, cert: str | tuple[str, str] | None = None
    ) -> None:
        super().__init__()
        # An explicit CA bundle or verify=False wins; True defers to the environment once.
        if verify is True and self.trust_env:
            verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        self.verify = verify
        self.cert = cert
        self._proxy_cache: dict[str, dict[str, str]] = {}
        self._proxy_lock = threading.Lock()

    def env_proxies(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._proxy_cache.get(origin)
        if cached is None:
            cached = get_environ_proxies(url) if self.trust_env else {}
            with self._proxy_lock:
                self._proxy_cache[origin] = cached
        return cached

    def merge_environment_settings(  # type: ignore[override]
        self,
        url: str,
        proxies: Mapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: Any,
    ) -> dict[str, Any]:
        merged = dict(self.env_proxies(url))
        merged.update(self.proxies)
        merged.update(proxies or {})
        return {
            "proxies": merged,
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), capped; None if unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


class Transport:
    """Sends requests through one :class:`RegistrySession` with timeouts and retries."""

    def __init__(
        self,
        session: RegistrySession,
        *,
        registry: str,
        timeout: float,
        retries: int,
        backoff: float,
        max_retry_after: float,
        has_client_cert: bool,
    ) -> None:
        self.session = session
        self.registry = registry
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, backoff)
        self.max_retry_after = max_retry_after
        self.has_client_cert = has_client_cert
        self.fast: FastReads | None = None

    def mount(self, pool_size: int) -> None:
        size = max(1, int(pool_size))
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @staticmethod
    def _redirect(
        resp: requests.Response,
        url: str,
        method: str,
        action: str,
        where: str,
        label: str,
        hops: int,
    ) -> str:
        """Where a 307/308 answer to a change sends it; any other redirect is an error."""
        status = resp.status_code
        target = urljoin(url, resp.headers.get("Location", ""))
        resp.close()
        if status in (307, 308) and hops < MAX_REDIRECTS:
            return target
        raise RegistryError(
            f"{label[:1].upper() + label[1:]} at {where} redirected a {method} ({status}) to "
            f"{redact_url(target)} while {action}; such redirects are not followed for "
            f"changes (the {method} would become a GET): give the URL it redirects to with -reg.",
            status=status,
        )

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff * (2**attempt), MAX_BACKOFF)
        return base * (0.8 + 0.4 * random.random())

    def send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        idempotent: bool | None = None,
        retries: int | None = None,
        retry_refused: bool = True,
        where: str | None = None,
        label: str = "the registry",
        **kwargs: Any,
    ) -> requests.Response:
        """One request, retried as the module docstring says. Returns any HTTP answer
        (status checks are the caller's); raises domain errors for network failures."""
        method = method.upper()
        safe = method in ("GET", "HEAD") if idempotent is None else idempotent
        budget = self.retries if retries is None else retries
        kwargs.setdefault("timeout", (min(self.timeout, MAX_CONNECT_TIMEOUT), self.timeout))
        changes = method not in ("GET", "HEAD")
        if changes:
            # requests turns a DELETE or PUT answered with 301/302/303 into a GET, whose 200
            # would read as success: follow only 307/308 (method and body kept), here.
            kwargs["allow_redirects"] = False
        where = where or self.registry
        attempt = 0
        hops = 0
        use_fast = self.fast is not None and self.fast.eligible(method, url, kwargs)
        while True:
            resp: requests.Response | None = None
            try:
                if use_fast and self.fast is not None:
                    resp = self.fast.send(method, url, kwargs.get("headers"), kwargs["timeout"])
                    use_fast = resp is not None  # anything unusual: the full path from now on
                if resp is None:
                    resp = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise describe_tls_error(exc, where, self.has_client_cert, label) from exc
            except requests.exceptions.InvalidURL as exc:
                raise RegistryError(f"The URL {redact_url(url)} is not valid.") from exc
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                error = describe_connection_error(exc, where, action, label)
                refused = connection_not_established(exc)
                retryable = (safe or refused) and (retry_refused or not refused)
                if "does not resolve" in error.message:
                    retryable = False
                if not retryable or attempt >= budget:
                    raise error from exc
                delay = self._delay(attempt)
                log.debug(
                    "%s %s: %s; retry %d in %.2fs",
                    method,
                    redact_url(url),
                    error,
                    attempt + 1,
                    delay,
                )
            except requests.RequestException as exc:  # InvalidSchema, TooManyRedirects ...
                raise RegistryError(
                    f"The request to {label} at {where} failed ({type(exc).__name__}) "
                    f"while {action}."
                ) from exc
            except OSError as exc:  # unreadable CA bundle / client certificate
                raise RegistryTLSError(
                    f"Cannot use the TLS files for {where}: {exc.strerror or exc}."
                ) from exc
            if resp is not None:
                status = resp.status_code
                if changes and resp.is_redirect:
                    url = self._redirect(resp, url, method, action, where, label, hops)
                    hops += 1
                    continue
                retryable = status == 429 or (status in RETRY_STATUSES and safe)
                if not retryable or attempt >= budget:
                    return resp
                delay = parse_retry_after(resp.headers.get("Retry-After"), self.max_retry_after)
                if delay is None:
                    delay = self._delay(attempt)
                log.debug(
                    "%s %s: %d; retry %d in %.2fs",
                    method,
                    redact_url(url),
                    status,
                    attempt + 1,
                    delay,
                )
                resp.close()
            attempt += 1
            time.sleep(delay)
