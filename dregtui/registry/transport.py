"""HTTP plumbing for the registry client: one session, retries, failures as domain errors.

- :class:`RegistrySession` resolves environment settings (proxies, ``REQUESTS_CA_BUNDLE``)
  once per origin instead of on every request, and lets an explicit ``verify`` win over the
  environment (plain requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=False``).
- :class:`Transport` sends a request with a timeout, retries what is safe to retry with
  exponential backoff, honours ``429 Retry-After``, and turns network failures into
  :class:`RegistryConnectionError` / :class:`RegistryTLSError` sentences (``failures.py``).

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
reference) and is treated like a read. The policy is :class:`RegistryRetry`, a
``urllib3.Retry``: its backoff (exponential, jittered, capped), its ``Retry-After`` parsing
and its attempt history.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

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
from dregtui.registry.wire import bad_header_value, content_length

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
    """A Session whose environment lookup is cached per origin (scheme://host:port), and
    whose default headers are merged here, once per request, with a plain dict update.

    ``requests`` merges a session's headers and params into each request's through a
    ``runtime_checkable`` Protocol check per mapping (``to_key_val_list``), four a request,
    about a tenth of a manifest HEAD's CPU in this process. With ``headers`` and ``params``
    None on the session it skips the merge; :meth:`request` does it instead (a header whose
    value is None is dropped, as ``requests`` drops it). Change ``base_headers``, not
    ``headers``.
    """

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
        self.base_headers: dict[str, str | bytes] = dict(self.headers)
        self.headers = None  # type: ignore[assignment]
        self.params = None  # type: ignore[assignment]

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        *,
        headers: Mapping[str, str | bytes | None] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        merged: dict[str, str | bytes] = dict(self.base_headers)
        if headers:
            for key, value in headers.items():
                # case-insensitively, as requests merges: the request's spelling wins
                for known in [k for k in merged if k.lower() == key.lower()]:
                    del merged[known]
                if value is not None:
                    merged[key] = value
        return super().request(method, url, headers=merged, **kwargs)

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


class _OneShotPool(urllib3.HTTPConnectionPool):
    """A pool that closes each connection given back to it: the next request opens a new one."""

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.close()
        super()._put_conn(conn)


class _OneShotHTTPSPool(urllib3.HTTPSConnectionPool):
    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.close()
        super()._put_conn(conn)


_ONE_SHOT_POOLS = {"http": _OneShotPool, "https": _OneShotHTTPSPool}


class CheckedAdapter(HTTPAdapter):
    """requests' adapter, refusing a request with a header value that could end the header
    or the request where it stands (a CR, LF or NUL, say from a token server): nothing of it
    is sent. Every request of the client passes here, credentials and tokens included."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        for name, value in request.headers.items():
            if bad_header_value(value) or bad_header_value(name):
                host = urlsplit(request.url or "").hostname or "the registry"
                raise UnsafeExchangeError(
                    f"Refusing to send a request to {host}: its {name} header holds a control "
                    "character (a CR, LF or NUL) or a character outside latin-1, which would "
                    "change the request itself."
                )
        return super().send(request, *args, **kwargs)


class OneShotAdapter(CheckedAdapter):
    """requests' adapter on pools that never reuse a connection, proxied or not."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _ONE_SHOT_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _ONE_SHOT_POOLS
        return manager


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
