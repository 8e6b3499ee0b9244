"""A lean path for the scanner's hot requests: body-less GET/HEAD straight to urllib3.

``requests`` spends most of its per-request CPU preparing the request (URL re-parsing,
header/cookie/hook merging, environment lookups): about three quarters of the client's
cost on loopback. A full scan is thousands of identical manifest HEADs, so reads without a
body go directly to the session adapter's urllib3 connection pool (same pool, TLS settings
and connections as the session), with the auth header the challenge already calls for.

Anything unusual goes back to the full ``requests`` path, which owns auth challenges,
redirects, proxies, cookies and error reporting: a proxy for the origin, digest auth, session
cookies, a 401 or a redirect in the answer, or any exception (the full path then retries and
explains it), except a read timeout: it is raised as ``requests.ReadTimeout`` and counts as
one attempt of the transport's retry budget. The body is left to the transport, which reads
it under the same size caps and deadline as the full path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from dregtui.registry.transport import RegistrySession

FAST_METHODS = frozenset({"GET", "HEAD"})
FAST_KWARGS = frozenset({"headers", "timeout"})


class FastReads:
    """Sends eligible reads through urllib3; returns None when the full path must do it."""

    def __init__(
        self,
        session: RegistrySession,
        auth_header: Callable[[str, str], str | None] | None = None,
        on_challenge: Callable[[str, str], None] | None = None,
    ) -> None:
        self.session = session
        self.auth_header = auth_header
        self.on_challenge = on_challenge
        self.enabled = True
        self._pools: dict[str, Any] = {}
        self._lock = threading.Lock()

    def eligible(self, method: str, url: str, kwargs: dict[str, Any]) -> bool:
        return (
            self.enabled
            and method in FAST_METHODS
            and FAST_KWARGS.issuperset(kwargs)
            and isinstance(kwargs.get("timeout"), tuple)
            and not self.session.proxies
            and not len(self.session.cookies)  # cookies (sticky sessions): the full path
            and not self.session.env_proxies(url)
        )

    def _pool(self, url: str, origin: str) -> Any:
        pool = self._pools.get(origin)
        if pool is not None and pool.pool is not None:  # not closed by the pool manager
            return pool
        adapter = self.session.get_adapter(url)
        if not isinstance(adapter, HTTPAdapter) or not hasattr(
            adapter, "get_connection_with_tls_context"
        ):
            self.enabled = False  # requests < 2.32.2: the full path does everything
            return None
        prep = requests.PreparedRequest()
        prep.prepare(method="GET", url=url)
        pool = adapter.get_connection_with_tls_context(
            prep, self.session.verify, None, self.session.cert
        )
        with self._lock:
            self._pools[origin] = pool
        return pool

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        timeout: tuple[float, float],
    ) -> requests.Response | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            pool = self._pool(url, origin)
            if pool is None:
                return None
            merged = dict(self.session.headers)
            if headers:
                merged.update(headers)
            if self.auth_header is not None:
                auth = self.auth_header(method, url)
                if auth:
                    merged["Authorization"] = auth
            raw = pool.urlopen(
                method,
                target or "/",
                body=None,
                headers=merged,
                redirect=False,
                assert_same_host=False,
                preload_content=False,  # the transport reads it, bounded (transport.read_body)
                decode_content=True,
                retries=urllib3.Retry(0, read=False, redirect=False),
                timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            )
        except urllib3.exceptions.ReadTimeoutError as exc:
            # The registry is slow, not the fast path: one attempt spent (resending the
            # same read on the full path at once would double every timeout).
            raise requests.exceptions.ReadTimeout(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            return None
        if raw.status == 401 or 300 <= raw.status < 400:
            raw.close()
            challenge = raw.headers.get("WWW-Authenticate")
            if raw.status == 401 and challenge and self.on_challenge is not None:
                self.on_challenge(url, challenge)
            return None
        if "set-cookie" in raw.headers:
            prep = requests.PreparedRequest()
            prep.prepare(method=method, url=url, headers=merged)
            extract_cookies_to_jar(self.session.cookies, prep, raw)  # type: ignore[no-untyped-call]
        resp = requests.Response()
        resp.status_code = raw.status
        resp.headers = CaseInsensitiveDict(raw.headers)
        resp.reason = raw.reason or ""
        resp.url = url
        resp.raw = raw
        return resp
