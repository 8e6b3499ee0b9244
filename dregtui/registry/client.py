"""RegistryClient: the one place that speaks the Docker Registry v2 / OCI distribution API.

One ``requests.Session`` per client (its connection pool sized to the scanner's workers),
environment settings resolved once, timeouts on every call, bounded retries (see
``transport.py``), auth driven by the ``WWW-Authenticate`` challenge (see ``auth.py``).
Thread-safe for concurrent use: the scanner shares one client between its workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from dregtui.core.errors import NotARegistryError, RegistryError
from dregtui.core.registry_url import parse_registry_url, redact_url
from dregtui.registry.auth import RegistryAuth
from dregtui.registry.credentials import Credentials, resolve_credentials
from dregtui.registry.errors import error_for_response
from dregtui.registry.failures import check_tls_files
from dregtui.registry.lane import FastLane
from dregtui.registry.listing import Listing
from dregtui.registry.manifests import ManifestReads
from dregtui.registry.ratelimit import RateLimiter
from dregtui.registry.session import RegistrySession
from dregtui.registry.transport import Transport
from dregtui.registry.writes import WriteOperations

log = logging.getLogger("dregtui.registry")

DEFAULT_TIMEOUT = 20.0  # seconds for a whole request, retries included (transport.py)


class RegistryClient(Listing, ManifestReads, FastLane, WriteOperations):
    """Talks to one registry. Thread-safe for concurrent reads (the scanner shares it).

    ``backoff`` is urllib3's backoff factor (retry.RegistryRetry): the first retry is
    immediate, the n-th waits ``backoff * 2**(n-1)`` seconds plus up to ``backoff / 2`` of
    jitter, capped at 8 s;
    ``max_retry_after`` caps how long a ``429``/``503`` ``Retry-After`` is honoured;
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        digest_auth: bool = False,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        use_get_manifest: bool = False,
        pool_size: int = 16,
        docker_config: str | None = None,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        credentials: Credentials | None = None,
        rate: float | None = None,
    ) -> None:
        try:
            url, url_user, url_password = parse_registry_url(url)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        self.base_url = url
        if username is None and url_user is not None:
            username, password = url_user, url_password
        self.timeout = timeout
        self.use_get_manifest = use_get_manifest
        if isinstance(cert, list | tuple) and len(cert) == 1:
            cert = cert[0]
        check_tls_files(verify, cert)
        if verify is False:
            # The user asked for --insecure: say it once (the CLI does), not per request.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.credentials = credentials or resolve_credentials(
            self.base_url, username=username, password=password, docker_config=docker_config
        )
        log.debug("credentials for %s: %s", self.base_url, self.credentials.source)
        self.session = RegistrySession(verify=verify, cert=cert)
        self.transport = Transport(
            self.session,
            registry=self.base_url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
            has_client_cert=cert is not None,
        )
        self.transport.mount(pool_size)
        if rate:
            self.transport.limiter = RateLimiter(rate)
        self.auth = RegistryAuth(
            self.credentials,
            self.session,
            digest=digest_auth,
            timeout=timeout,
            transport=self.transport,
            origin=self.base_url,
            allow_http_realm=verify is False,
        )
        self.session.auth = self.auth
        self.api_version: str | None = None
        self.direct = self._direct_connections(digest_auth)
        self._one_shot = threading.local()  # .depth: inside checking() on this thread
        self._checks_transport: Transport | None = None
        self._checks_lock = threading.Lock()

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        """On this thread, while it lasts: the requests a deletion's safety rests on (the
        re-checks before a DELETE, the DELETE and the check after it, an untag's steps, a
        restore's). No fast lane, and each request on a connection of its own, closed once
        its answer is read (``Transport.one_shot``): an answer duplicated by a proxy, or one
        the server sent unasked, is never read as the answer to another request. Same
        credentials and tokens."""
        with self._checks_lock:
            if self._checks_transport is None:
                verify = True if self.session.verify is None else self.session.verify
                session = RegistrySession(verify=verify, cert=self.session.cert)
                session.base_headers = dict(self.session.base_headers)
                session.proxies = dict(self.session.proxies)
                session.trust_env = self.session.trust_env
                session.auth = self.auth
                self._checks_transport = self.transport.one_shot(session)
        depth = getattr(self._one_shot, "depth", 0)
        self._one_shot.depth = depth + 1
        try:
            yield
        finally:
            self._one_shot.depth = depth

    @property
    def _checked(self) -> bool:
        return getattr(self._one_shot, "depth", 0) > 0

    # -- plumbing -------------------------------------------------------------------

    @property
    def credentials_source(self) -> str:
        """Where the credentials came from, for --debug logs (never the secret itself)."""
        return self.credentials.source

    def _url(self, path: str) -> str:
        if "://" in path:
            return path
        return self.base_url + "/" + path.lstrip("/")

    def _request(self, method: str, path: str, *, action: str, **kwargs: Any) -> requests.Response:
        transport = self._checks_transport if self._checked else self.transport
        assert transport is not None
        return transport.send(method, self._url(path), action=action, **kwargs)

    def _error(self, resp: requests.Response, action: str) -> RegistryError:
        return error_for_response(
            resp,
            action,
            registry=self.base_url,
            has_credentials=self.credentials.present,
            credentials_source=self.credentials.source if self.credentials.present else "",
        )

    @staticmethod
    def _repo_path(repository: str) -> str:
        if not repository or repository.startswith("/") or ".." in repository.split("/"):
            raise RegistryError(f"{repository!r} is not a valid repository name.")
        return quote(repository, safe="/")

    @staticmethod
    def _ref(reference: str) -> str:
        return quote(reference, safe=":")

    # -- API ------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: raises unless this is a reachable registry we may talk to.

        RegistryConnectionError (unreachable), RegistryTLSError, NotARegistryError,
        AuthenticationError (wrong or missing credentials).
        """
        action = "checking the API at /v2/"
        resp = self._request("GET", "/v2/", action=action, retry_refused=False)
        version = resp.headers.get("Docker-Distribution-API-Version")
        status = resp.status_code
        if status == 200:
            if version or self._looks_like_json(resp):
                self.api_version = version or "registry/2.0"
                return
            raise NotARegistryError(
                f"{self.base_url} answered, but it is not a Docker registry (GET /v2/ returned "
                "a page, not the registry API); check the URL."
            )
        if status == 401:
            challenge = resp.headers.get("WWW-Authenticate", "")
            if version or challenge.lower().startswith(("bearer", "basic", "digest")):
                raise self._error(resp, "checking the API at /v2/")
        if status in (401, 403, 404) and not version:
            raise NotARegistryError(
                f"{self.base_url} answered {status}, and it is not a Docker registry API (no "
                "/v2/ endpoint); check the URL."
            )
        raise self._error(resp, action)

    @staticmethod
    def _looks_like_json(resp: requests.Response) -> bool:
        if "json" in resp.headers.get("Content-Type", "").lower():
            return True
        try:
            json.loads(resp.content or b"null")
        except (ValueError, RecursionError):
            return False
        return True

    def close(self) -> None:
        if self.direct is not None:
            self.direct.close()
        if self._checks_transport is not None:
            self._checks_transport.session.close()
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryClient({redact_url(self.base_url)!r})"
