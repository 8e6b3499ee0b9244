"""Sending a request to the registry: timeouts, retries, bounded bodies, failures as
domain errors.

:class:`Transport` sends a request through a :class:`~dregtui.registry.session.RegistrySession`
with a timeout, retries what is safe to retry (the policy is
:class:`~dregtui.registry.retry.RegistryRetry`), honours ``429 Retry-After``, and turns
network failures into :class:`RegistryConnectionError` / :class:`RegistryTLSError`
sentences (``failures.py``).

Deadline. ``timeout`` bounds one call of :meth:`Transport.send` as a whole: connecting,
the headers and the entire body of every attempt, retries and backoff included (a body that
trickles one byte a second ends there too). Only the pauses a registry asks for with
``Retry-After`` (each capped by ``max_retry_after``) extend it. A retry that cannot start
before the deadline is not sent: the last answer or error stands.

Bodies are read while streaming and bounded: at most ``max_body`` bytes (4 MB unless the
caller says otherwise) for a success, error bodies are cut at 64 KB.

Redirects. A DELETE is never redirected (a 3xx to it is an error naming the target: the
manifest may still be there). Other changes follow only 307/308.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3

from dregtui.core.errors import (
    RegistryError,
    RegistryTLSError,
    ResponseTooLargeError,
    UnsafeExchangeError,
)
from dregtui.core.registry_url import redact_url
from dregtui.registry.failures import (
    connection_not_established,
    describe_connection_error,
    describe_tls_error,
)
from dregtui.registry.ratelimit import RateLimiter
from dregtui.registry.retry import RegistryRetry
from dregtui.registry.session import CheckedAdapter, OneShotAdapter, RegistrySession
from dregtui.registry.wire import content_length

log = logging.getLogger("dregtui.registry")

MAX_CONNECT_TIMEOUT = 10.0  # opening a connection never needs the full read timeout
MAX_REDIRECTS = 5
MB = 1024 * 1024
MAX_BODY = 4 * MB  # manifests: as distribution; list pages and token answers are far smaller
MAX_ERROR_BODY = 64 * 1024
READ_CHUNK = 64 * 1024


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
        self.limiter: RateLimiter | None = None  # --rate: every attempt takes a turn
        # a call's first policy, per (retries, idempotent): urllib3 never changes a Retry
        # (each attempt's is a new one), so one is shared by every call that starts alike
        self._policies: dict[tuple[int, bool], RegistryRetry] = {}

    def mount(self, pool_size: int, *, one_shot: bool = False) -> None:
        """Mount the session's adapters: keep-alive pools of ``pool_size`` connections, or
        with ``one_shot`` pools whose every connection carries one request and its answer."""
        size = max(1, int(pool_size))
        kind = OneShotAdapter if one_shot else CheckedAdapter
        adapter = kind(pool_connections=4, pool_maxsize=size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def one_shot(self, session: RegistrySession) -> Transport:
        """A transport with this one's settings on ``session``, whose every request goes out
        on a connection of its own (``Connection: close``), closed once its answer is read:
        for the requests a deletion's safety rests on. No byte that answers another request
        (one a proxy duplicated, a stray answer queued on a kept-alive connection) can be
        read as the answer to one of them."""
        transport = Transport(
            session,
            registry=self.registry,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            max_retry_after=self.max_retry_after,
            has_client_cert=self.has_client_cert,
        )
        transport.limiter = self.limiter
        transport.mount(4, one_shot=True)
        session.base_headers["Connection"] = "close"
        return transport

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
        retry = self._policies.get((budget, safe))
        if retry is None:
            retry = RegistryRetry.for_call(
                budget, self.backoff, self.max_retry_after, idempotent=safe
            )
            self._policies[(budget, safe)] = retry
        hops = 0
        while True:
            resp: requests.Response | None = None
            wait: float | None = None  # None: this answer (or error) is the call's result
            asked = False  # the wait is a Retry-After pause: it moves the deadline
            if self.limiter is not None:
                waited = time.monotonic()
                self.limiter.acquire()
                deadline += time.monotonic() - waited  # waiting for a turn is not the registry's
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise requests.exceptions.ReadTimeout("the deadline passed")
                timeout = (min(remaining, MAX_CONNECT_TIMEOUT), remaining)
                resp = self.session.request(method, url, timeout=timeout, stream=True, **kwargs)
                _check_framing(resp, method, where, label, action)
                if not (changes and resp.is_redirect):
                    status = resp.status_code
                    if retry.attempts_left and retry.is_retry(
                        method, status, "Retry-After" in resp.headers
                    ):
                        nxt = retry.after(method, url, status)
                        pause = retry.pause_asked(resp)
                        asked = pause is not None
                        wait = pause if pause is not None else nxt.get_backoff_time()
                        if not asked and time.monotonic() + wait >= deadline:
                            wait = None  # no time left for another attempt
                        else:
                            retry = nxt
                    if wait is None:
                        cap = max_body if status < 400 else MAX_ERROR_BODY
                        read_body(resp, method, deadline, cap, status >= 400)
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
                retryable = (
                    retry.attempts_left
                    and retry.retries_failure(refused)
                    and (retry_refused or not refused)
                    and "does not resolve" not in error.message
                )
                nxt = retry.after(method, url)
                wait = nxt.get_backoff_time()
                if not retryable or time.monotonic() + wait >= deadline:
                    raise error from exc
                retry = nxt
                log.debug(
                    "%s %s: %s; retry %d in %.2fs",
                    method,
                    redact_url(url),
                    error,
                    len(retry.history),
                    wait,
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
                raise ResponseTooLargeError(
                    f"{label[:1].upper() + label[1:]} at {where} sent {body_what} larger than "
                    f"{_size(exc.limit)} while {action}: not reading it.",
                    limit=exc.limit,
                ) from None
            if resp is not None:
                if changes and resp.is_redirect:
                    url = self._redirect(resp, url, method, action, where, label, hops)
                    hops += 1
                    continue
                if wait is None:
                    return resp
                if asked:
                    deadline += wait  # a pause the registry asked for
                log.debug(
                    "%s %s: %d; retry %d in %.2fs",
                    method,
                    redact_url(url),
                    resp.status_code,
                    len(retry.history),
                    wait,
                )
                resp.close()
            assert wait is not None
            time.sleep(wait)


def _check_framing(
    resp: requests.Response, method: str, where: str, label: str, action: str
) -> None:
    """ProtocolError (the connection closed) for an answer whose length is not plain
    ASCII digits: where such an answer ends, and so what follows it, is anybody's guess."""
    try:
        content_length(resp.headers.get("Content-Length"))
    except ValueError as exc:
        resp.close()
        raise UnsafeExchangeError(
            f"{label[:1].upper() + label[1:]} at {where} answered a {method} with {exc} while "
            f"{action}: not reading it (a broken server or proxy in between)."
        ) from None


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
    (more: BodyTooLarge, before any byte is read when ``Content-Length`` announces more;
    or cut there when ``truncate``), all of it before ``deadline``
    (else ``requests.ReadTimeout``). The connection is closed when the body is not read
    to its end, else given back to the pool."""
    if getattr(resp, "_content_consumed", False) and getattr(resp, "_content", False) is not False:
        return
    raw = resp.raw
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        if raw is None:
            complete = True
            return
        if method == "HEAD":
            # nothing to read, but reading it marks http.client's response closed: a pooled
            # connection with an unclosed one answers its next request with ResponseNotReady
            raw.read()
            complete = True
            return
        length = content_length(resp.headers.get("Content-Length"))
        if not truncate and length is not None and length > cap:
            raise BodyTooLarge(cap)  # announced too large: not a byte of it is read
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
