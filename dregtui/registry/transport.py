"""HTTP plumbing for the registry client: one session, retries, failures as domain errors.

- :class:`RegistrySession` resolves environment settings (proxies, ``REQUESTS_CA_BUNDLE``)
  once per origin instead of on every request, and lets an explicit ``verify`` win over the
  environment (plain requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=False``).
- :class:`Transport` sends a request with a timeout, retries what is safe to retry with
  exponential backoff, honours ``429 Retry-After``, and turns network failures into
  :class:`RegistryConnectionError` / :class:`RegistryTLSError` sentences.

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
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from dregtui.registry.errors import (
    RegistryConnectionError,
    RegistryError,
    RegistryTLSError,
    redact_url,
)
from dregtui.registry.fastpath import FastReads

log = logging.getLogger("dregtui.registry")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_BACKOFF = 8.0


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


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception (urllib3 wraps the socket error in several layers)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        if inner is None:
            inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _chain_text(exc: BaseException) -> str:
    parts = []
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(str(cur))
        nxt = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = nxt or cur.__cause__ or cur.__context__
    return " | ".join(parts)


def connection_not_established(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (safe to resend anything)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = _chain_text(exc)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Connection refused", "Failed to establish")
    ) or isinstance(
        _root_cause(exc), ConnectionRefusedError | urllib3.exceptions.NewConnectionError
    )


def describe_tls_error(
    exc: BaseException, registry: str, has_client_cert: bool, label: str = "the registry"
) -> RegistryTLSError:
    text = _chain_text(exc).lower()
    cap = label[:1].upper() + label[1:]
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        if "hostname" in text or "ip address mismatch" in text or "doesn't match" in text:
            return RegistryTLSError(
                f"The TLS certificate of {registry} does not match its host name; connect with "
                "the name the certificate was issued for, or use --insecure."
            )
        if "expired" in text:
            return RegistryTLSError(
                f"The TLS certificate of {registry} has expired; renew it, or use --insecure."
            )
        return RegistryTLSError(
            f"The TLS certificate of {registry} is signed by an unknown certificate authority "
            "(CA); pass the CA bundle with --verify CA_FILE, or use --insecure."
        )
    if (
        "wrong version number" in text
        or "record layer failure" in text
        or "packet length too long" in text
    ):
        return RegistryTLSError(
            f"{registry} does not speak TLS on this port; try the http:// URL instead."
        )
    client_cert_markers = (
        "certificate required",
        "certificate_required",
        "bad certificate",
        "bad_certificate",
        "handshake failure",
        "unknown ca",
        "unknown_ca",
    )
    if any(marker in text for marker in client_cert_markers):
        if has_client_cert:
            return RegistryTLSError(
                f"{cap} at {registry} rejected the client certificate; pass one that it "
                "trusts with -cert/-key."
            )
        return RegistryTLSError(
            f"{cap} at {registry} requires a TLS client certificate; pass it with -cert and -key."
        )
    if "connection reset" in text or "eof occurred" in text or "unexpected eof" in text:
        if has_client_cert:
            return RegistryTLSError(
                f"{cap} at {registry} closed the TLS connection; it probably does not "
                "trust the client certificate (pass one it trusts with -cert/-key)."
            )
        return RegistryTLSError(
            f"The TLS handshake with {registry} failed (the server closed the connection); it "
            "may require a client certificate (-cert/-key)."
        )
    return RegistryTLSError(
        f"The TLS connection to {registry} failed ({type(_root_cause(exc)).__name__})."
    )


def describe_connection_error(
    exc: requests.RequestException, registry: str, action: str, label: str = "the registry"
) -> RegistryError:
    if isinstance(exc, requests.exceptions.SSLError):
        return describe_tls_error(exc, registry, has_client_cert=False, label=label)
    cap = label[:1].upper() + label[1:]
    root = _root_cause(exc)
    text = _chain_text(exc).lower()
    if isinstance(exc, requests.ConnectTimeout):
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the connection timed out."
        )
    if isinstance(exc, requests.ReadTimeout):
        return RegistryConnectionError(
            f"{cap} at {registry} did not answer in time while {action}."
        )
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "name resolution" in text
        or "getaddrinfo" in text
    ):
        host = urlsplit(registry).hostname or registry
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the host name {host} does not resolve."
        )
    if isinstance(root, ConnectionRefusedError) or "connection refused" in text:
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the connection was refused (is it running, "
            "and is the port right?)."
        )
    if (
        isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        )
        or "reset" in text
        or "aborted" in text
        or "remote end closed" in text
        or "incomplete" in text
    ):
        return RegistryConnectionError(
            f"The connection to {label} at {registry} was lost while {action}."
        )
    if "no route to host" in text or "network is unreachable" in text:
        return RegistryConnectionError(f"Cannot reach {label} at {registry}: no route to the host.")
    return RegistryConnectionError(
        f"Cannot reach {label} at {registry} ({type(root).__name__}) while {action}."
    )


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
        kwargs.setdefault("timeout", self.timeout)
        where = where or self.registry
        attempt = 0
        use_fast = self.fast is not None and self.fast.eligible(method, url, kwargs)
        while True:
            resp: requests.Response | None = None
            if use_fast and self.fast is not None:
                resp = self.fast.send(method, url, kwargs.get("headers"), kwargs["timeout"])
                use_fast = resp is not None  # anything unusual: the full path from now on
            if resp is None:
                try:
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


def check_tls_files(verify: bool | str, cert: str | tuple[str, str] | None) -> None:
    """Fail early, in one sentence, on CA bundles or client certificates we cannot use."""
    if isinstance(verify, str) and not os.path.isdir(verify):
        _readable(verify, "CA bundle")
        try:
            ssl.create_default_context(cafile=verify)
        except (ssl.SSLError, ValueError) as exc:
            raise RegistryTLSError(
                f"The CA bundle {verify} holds no usable PEM certificate."
            ) from exc
    if cert is None:
        return
    certfile, keyfile = (cert, None) if isinstance(cert, str) else (cert[0], cert[1])
    _readable(certfile, "client certificate")
    if keyfile:
        _readable(keyfile, "client key")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        files = f"{certfile} and {keyfile}" if keyfile else certfile
        raise RegistryTLSError(
            f"The client certificate {files} cannot be loaded (not PEM, encrypted, or the key does "
            "not match the certificate)."
        ) from exc


def _readable(path: str, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise RegistryTLSError(f"Cannot read the {what} file {path}: {reason}.") from exc
