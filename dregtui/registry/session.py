"""The HTTP session every request of the client goes through, and its adapters.

- :class:`RegistrySession` resolves environment settings (proxies, ``REQUESTS_CA_BUNDLE``)
  once per origin instead of on every request, and lets an explicit ``verify`` win over the
  environment (plain requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=False``).
- :class:`CheckedAdapter` refuses a request with a CR, LF or NUL in a header before any of
  it is sent; :class:`OneShotAdapter` also never reuses a connection (the safety path's
  requests, ``Transport.one_shot``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from dregtui.core.errors import UnsafeExchangeError
from dregtui.registry.wire import bad_header_value


class RegistrySession(requests.Session):
    """A Session whose environment lookup is cached per origin (scheme://host:port), and
    whose default headers are merged here, once per request, with a plain dict update.

    ``requests`` merges a session's headers and params into each request's through a
    ``runtime_checkable`` Protocol check per mapping (``to_key_val_list``), four a request,
    a cost every manifest HEAD pays. With ``headers`` and ``params`` None on the session it
    skips the merge; :meth:`request` does it instead (a header whose value is None is
    dropped, as ``requests`` drops it). Change ``base_headers``, not ``headers``.
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
