"""HTTP plumbing for the registry client: one session, retries, failures as domain errors.

- :class:`RegistrySession` resolves environment settings (proxies, ``REQUESTS_CA_BUNDLE``)
  once per origin instead of on every request, and lets an explicit ``verify`` win over the
  environment (plain requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=False``).
- :class:`Transport` sends a request with a timeout, retries what is safe to retry with
  exponential backoff, honours ``429 Retry-After``, and turns network failures into
  :class:`RegistryConnectionError` / :class:`RegistryTLSError` sentences (``failures.py``).
  Body-less reads take the lean urllib3 path of ``fastpath.py`` when they can.

Deadline. ``timeout`` bounds one call of :meth:`Transport.send` as a whole: connecting,
the headers and the entire body of every attempt, retries and backoff included (a body that
trickles one byte a second ends there too). Only the pauses a registry asks for with
``Retry-After`` (each capped by ``max_retry_after``) extend it. A retry that cannot start
before the deadline is not sent: the last answer or error stands.

Bodies are read while streaming and bounded: at most ``max_body`` bytes (4 MB unless the
caller says otherwise) for a success, error bodies are cut at 64 KB.

Redirects. A DELETE is never redirected (a 3xx to it is an error naming the target: the
manifest may still be there). Other changes follow only 307/308.

Retry policy. Reads (GET/HEAD) are retried on connection errors, timeouts, 5xx and 429.
A request that may change the registry (DELETE, POST, blob PUT) is only retried when it
surely was not applied: the connection could not be opened, or the registry answered
429 (it refused to process it). A manifest PUT is idempotent (same bytes under the same
reference) and is treated like a read.
"""

from __future__ import annotations

import contextlib
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
import urllib3
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
from dregtui.registry.ratelimit import RateLimiter

log = logging.getLogger("dregtui.registry")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_CONNECT_TIMEOUT = 10.0  # opening a connection never needs the full read timeout
MAX_BACKOFF = 8.0
MAX_REDIRECTS = 5
MB = 1024 * 1024
MAX_BODY = 4 * MB  # manifests: as distribution; list pages and token answers are far smaller
MAX_ERROR_BODY = 64 * 1024
READ_CHUNK = 64 * 1024


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
        self.limiter: RateLimiter | None = None  # --rate: every attempt takes a turn

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
        if method == "DELETE":
            raise RegistryError(
                f"{label[:1].upper() + label[1:]} at {where} redirected a DELETE ({status}) "
                f"to {redact_url(target)} while {action}; a redirected DELETE is not followed "
                "and nothing is reported deleted: give the URL it redirects to with -reg.",
                status=status,
            )
        if status in (307, 308) and hops < MAX_REDIRECTS:
            return target
        raise RegistryError(
            f"{label[:1].upper() + label[1:]} at {where} redirected a {method} ({status}) to "
            f"{redact_url(target)} while {action}; such redirects are not followed for "
            f"changes (the {method} would become a GET): give the URL it redirects to with -reg.",
            status=status,
        )

    def _retry_delay(
        self, resp: requests.Response, safe: bool, attempt: int, budget: int, deadline: float
    ) -> float:
        """Seconds to wait before resending, or -1 when this answer is the one to return."""
        status = resp.status_code
        retryable = status == 429 or (status in RETRY_STATUSES and safe)
        if not retryable or attempt >= budget:
            return -1.0
        delay = parse_retry_after(resp.headers.get("Retry-After"), self.max_retry_after)
        if delay is not None:
            return delay  # the deadline moves by as much (see the module docstring)
        delay = self._delay(attempt)
        return delay if time.monotonic() + delay < deadline else -1.0

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff * (2**attempt), MAX_BACKOFF)
        return float(base * (0.8 + 0.4 * random.random()))

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
        max_body: int = MAX_BODY,
        body_what: str = "an answer",
        **kwargs: Any,
    ) -> requests.Response:
        """One request, retried as the module docstring says. Returns any HTTP answer
        (status checks are the caller's); raises domain errors for network failures."""
        method = method.upper()
        safe = method in ("GET", "HEAD") if idempotent is None else idempotent
        budget = self.retries if retries is None else retries
        deadline = time.monotonic() + self.timeout
        kwargs.pop("timeout", None)
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
            delay = 0.0
            if self.limiter is not None:
                waited = time.monotonic()
                self.limiter.acquire()
                deadline += time.monotonic() - waited  # waiting for a turn is not the registry's
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise requests.exceptions.ReadTimeout("the deadline passed")
                timeout = (min(remaining, MAX_CONNECT_TIMEOUT), remaining)
                if use_fast and self.fast is not None:
                    resp = self.fast.send(method, url, kwargs.get("headers"), timeout)
                    use_fast = resp is not None  # anything unusual: the full path from now on
                if resp is None:
                    resp = self.session.request(method, url, timeout=timeout, stream=True, **kwargs)
                if not (changes and resp.is_redirect):
                    delay = self._retry_delay(resp, safe, attempt, budget, deadline)
                    if delay < 0:
                        cap = max_body if resp.status_code < 400 else MAX_ERROR_BODY
                        read_body(resp, method, deadline, cap, resp.status_code >= 400)
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
                delay = self._delay(attempt)
                if not retryable or attempt >= budget or time.monotonic() + delay >= deadline:
                    raise error from exc
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
            except BodyTooLarge as exc:
                raise RegistryError(
                    f"{label[:1].upper() + label[1:]} at {where} sent {body_what} larger than "
                    f"{_size(exc.limit)} while {action}: not reading it."
                ) from None
            if resp is not None:
                status = resp.status_code
                if changes and resp.is_redirect:
                    url = self._redirect(resp, url, method, action, where, label, hops)
                    hops += 1
                    continue
                if delay < 0:
                    return resp
                if resp.headers.get("Retry-After"):
                    deadline += delay  # a pause the registry asked for
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


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def _size(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit // 1024} KB"


def _set_read_timeout(raw: Any, seconds: float) -> None:
    sock = getattr(getattr(raw, "connection", None), "sock", None) or getattr(
        getattr(raw, "_connection", None), "sock", None
    )
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001))


def read_body(
    resp: requests.Response, method: str, deadline: float, cap: int, truncate: bool
) -> None:
    """Read the streamed body of ``resp`` into ``resp._content``: at most ``cap`` bytes
    (more: BodyTooLarge, or cut there when ``truncate``), all of it before ``deadline``
    (else ``requests.ReadTimeout``). The connection is closed when the body is not read
    to its end, else given back to the pool."""
    if getattr(resp, "_content_consumed", False) and getattr(resp, "_content", False) is not False:
        return
    raw = resp.raw
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        if method == "HEAD" or raw is None:
            complete = True
            return
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise requests.exceptions.ReadTimeout("the response did not end in time")
            _set_read_timeout(raw, remaining)
            chunk = raw.read1(READ_CHUNK) if hasattr(raw, "read1") else raw.read(READ_CHUNK)
            if not chunk:
                complete = True
                return
            size += len(chunk)
            if size > cap:
                if truncate:
                    chunks.append(chunk[: cap - size + len(chunk)])
                    return
                raise BodyTooLarge(cap)
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if "timed out" in str(exc):
            raise requests.exceptions.ReadTimeout(exc) from exc
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    finally:
        resp._content = b"".join(chunks)
        resp._content_consumed = True  # type: ignore[attr-defined]
        if raw is not None:
            if complete:
                release = getattr(raw, "release_conn", None)
                if release is not None:
                    release()
            else:
                raw.close()
