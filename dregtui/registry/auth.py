"""Registry authentication driven by the ``WWW-Authenticate`` challenge.

:class:`RegistryAuth` is a ``requests`` auth object set on the client's session:

- Before a request, if the registry's challenge is already known, it adds the header
  (Basic credentials, or a Bearer token for the request's scope, fetched once and cached).
- After a ``401``, it reads the challenge, gets what it asks for (a token for the scope the
  registry names, or Basic credentials) and resends the request once.

Bearer tokens come from ``GET realm?service=..&scope=..`` (scope repeated), with Basic
credentials when there are any, or ``POST realm`` (OAuth2 ``refresh_token`` grant) when the
docker config holds an identity token. Tokens are cached per (realm, service, scope) until
shortly before ``expires_in`` (default 60 s) runs out, and renewed on ``401`` with
``error="invalid_token"`` or ``"insufficient_scope"``. The cache is thread-safe: sixteen
workers asking for one scope cause one token request. A token with fewer rights than asked
is not an error here; the registry's answer to the request decides.

With ``digest=True`` the session answers Digest challenges with ``requests.auth.HTTPDigestAuth``;
a registry that challenges for Basic or Bearer instead is still answered as it asks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth, _basic_auth_str
from requests.cookies import extract_cookies_to_jar

from dregtui.core.errors import (
    AuthenticationError,
    ProtocolError,
    RegistryError,
)
from dregtui.core.registry_url import redact_url
from dregtui.registry.credentials import Credentials
from dregtui.registry.errors import parse_error_body
from dregtui.registry.wire import bad_header_value

if TYPE_CHECKING:
    from dregtui.registry.transport import Transport

log = logging.getLogger("dregtui.registry")

DEFAULT_EXPIRES_IN = 60
CLIENT_ID = "dregtui"

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+)/(?:manifests|blobs|tags)/")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: basic, bearer, digest
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` (possibly several challenges) defensively."""
    out: list[Challenge] = []
    pos = 0
    header = header or ""
    while pos < len(header):
        match = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)").match(header, pos)
        if not match:
            break
        scheme = match.group(1).lower()
        pos = match.end()
        params: dict[str, str] = {}
        while pos < len(header):
            pm = _PARAM.match(header, pos)
            if not pm:
                break
            value = pm.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[pm.group(1).lower()] = value
            pos = pm.end()
        out.append(Challenge(scheme, params))
    return out


def scope_for(method: str, url: str) -> str | None:
    """The token scope a request needs, or None (``/v2/`` itself)."""
    path = urlsplit(url).path
    if path.rstrip("/") == "/v2":
        return None
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = _REPO_PATH.match(path)
    if not match:
        return None
    name = unquote(match.group("name"))
    method = method.upper()
    if method in ("GET", "HEAD"):
        actions = "pull"
    elif method == "DELETE":
        actions = "pull,delete"
    else:
        actions = "pull,push"
    return f"repository:{name}:{actions}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Tokens per key, one fetch per key at a time, expiry with a small safety margin."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def peek(self, key: tuple[str, ...]) -> str | None:
        token = self._tokens.get(key)
        if token is not None and self._clock() < token.expires_at:
            return token.value
        return None

    def put(self, key: tuple[str, ...], value: str, expires_in: float) -> None:
        margin = min(10.0, expires_in * 0.1)
        with self._lock:
            self._tokens[key] = _Token(value, self._clock() + max(0.0, expires_in - margin))

    def invalidate(self, key: tuple[str, ...], value: str | None) -> None:
        """Forget the token for ``key`` if it is still ``value`` (another thread may have
        renewed it already)."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and (value is None or token.value == value):
                del self._tokens[key]

    def alias(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        """Let ``target`` use the token cached under ``source`` (same expiry)."""
        with self._lock:
            token = self._tokens.get(source)
            if token is not None:
                self._tokens[target] = token

    def get(self, key: tuple[str, ...], fetch: Callable[[], tuple[str, float]]) -> str:
        value = self.peek(key)
        if value is not None:
            return value
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            value = self.peek(key)
            if value is not None:
                return value
            value, expires_in = fetch()
            self.put(key, value, expires_in)
            return value


class _NoAuth(AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class RegistryAuth(AuthBase):
    """Challenge-driven auth for one registry (see the module docstring)."""

    def __init__(
        self,
        credentials: Credentials,
        session: requests.Session,
        *,
        digest: bool = False,
        timeout: float = 30.0,
        transport: Transport | None = None,
        origin: str | None = None,
        allow_http_realm: bool = False,
    ) -> None:
        # Challenges are answered only for this origin (the registry's): a redirect to
        # another host (blob storage, a Link to elsewhere) never gets the credentials.
        self.origin = _origin(origin) if origin else None
        # Credentials go to a plain-http token realm only when the registry itself is plain
        # http, or the user opted out of TLS checks (--insecure).
        self.allow_http_realm = allow_http_realm
        self.credentials = credentials
        self.session = session
        self.timeout = timeout
        self.transport = transport
        self.tokens = TokenCache()
        self.token_requests = 0  # how many tokens were fetched (for --debug and tests)
        self._challenges: dict[str, Challenge] = {}
        basic = credentials.basic
        self._digest = HTTPDigestAuth(*basic) if digest and basic else None
        self._basic_header = _basic_auth_str(*basic) if basic else None

    # -- requests hooks -------------------------------------------------------------

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._foreign(r.url or ""):
            return r  # no credentials, no challenge answered: not the registry
        if self._digest is not None:
            # Digest answers a Digest challenge; a registry that asks for Basic or a Bearer
            # token instead still gets what its challenge asks for (hook order: digest first).
            r = self._digest(r)
            # ... but only the registry's own: never a host a redirect leads to.
            r.hooks["response"] = [
                self._digest_401 if h == self._digest.handle_401 else h for h in r.hooks["response"]
            ]
        header = self.preemptive_header(r.method or "GET", r.url or "")
        if header:
            r.headers["Authorization"] = header
        r.register_hook("response", self._handle_401)  # type: ignore[no-untyped-call]
        return r

    def _digest_401(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
        if self._digest is None or self._foreign(resp.request.url or ""):
            return resp
        answer: requests.Response = self._digest.handle_401(resp, **kwargs)  # type: ignore[no-untyped-call]
        return answer

    def _foreign(self, url: str) -> bool:
        return self.origin is not None and _origin(url) != self.origin

    def _remember(self, url: str, challenge: Challenge) -> None:
        kept = {k: v for k, v in challenge.params.items() if k in ("realm", "service")}
        self._challenges[_origin(url)] = Challenge(challenge.scheme, kept)

    def preemptive_header(self, method: str, url: str) -> str | None:
        """The Authorization header the origin's known Basic or Bearer challenge calls for
        (None if none is known yet; a Digest exchange is left to ``requests``)."""
        challenge = self._challenges.get(_origin(url))
        if challenge is None:
            return None
        return self._header_for(challenge, method, url, None)

    def _handle_401(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
        if resp.status_code != 401:
            return resp
        resp.content  # noqa: B018 - read the (small) body now: the connection must not linger
        challenges = parse_challenges(resp.headers.get("WWW-Authenticate", ""))
        challenge = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if challenge is None:
            return resp
        request = resp.request
        url = request.url or ""
        if self._foreign(url):
            log.debug("not answering the %s challenge of %s", challenge.scheme, redact_url(url))
            return resp
        sent = request.headers.get("Authorization")
        self._remember(url, challenge)
        header = self._header_for(challenge, request.method or "GET", url, sent)
        if not header or header == sent:
            return resp
        return self._resend(resp, header, **kwargs)

    @staticmethod
    def _resend(resp: requests.Response, header: str, **kwargs: Any) -> requests.Response:
        resp.content  # noqa: B018 - drain so the connection can be reused
        resp.close()
        prep = resp.request.copy()
        extract_cookies_to_jar(prep._cookies, resp.request, resp.raw)  # type: ignore[attr-defined,no-untyped-call]
        prep.prepare_cookies(prep._cookies)  # type: ignore[attr-defined]
        prep.headers["Authorization"] = header
        again = resp.connection.send(prep, **kwargs)
        again.history.append(resp)
        again.request = prep
        return again

    # -- headers and tokens ---------------------------------------------------------

    def _header_for(
        self, challenge: Challenge, method: str, url: str, sent: str | None
    ) -> str | None:
        if challenge.scheme == "basic":
            return self._basic_header
        if challenge.scheme != "bearer" or not challenge.realm:
            return None
        wanted = scope_for(method, url)
        scope = challenge.params.get("scope") or wanted or ""
        service = challenge.params.get("service", "")
        key = (challenge.realm, service, scope)
        own_key = (challenge.realm, service, wanted or "")
        if sent and sent.startswith("Bearer "):
            # The registry refused the token we sent (expired, revoked, too few rights):
            # forget it, unless another thread already replaced it.
            self.tokens.invalidate(key, sent[7:])
            self.tokens.invalidate(own_key, sent[7:])
        token = self.tokens.get(key, lambda: self._fetch_token(challenge, scope))
        if own_key != key:
            # The registry named another scope than we guessed: next time, use its token.
            self.tokens.alias(key, own_key)
        return f"Bearer {token}"

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if self.transport is not None:
            return self.transport.send(
                method,
                url,
                action="requesting an access token",
                where=redact_url(url),
                label="the token server",
                **kwargs,
            )
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, url, **kwargs)

    def _fetch_token(self, challenge: Challenge, scope: str) -> tuple[str, float]:
        realm = challenge.realm
        service = challenge.params.get("service", "")
        scopes = [s for s in scope.split(" ") if s]
        creds = self.credentials
        if creds.present:
            self._check_realm(realm)
        log.debug("fetching a token from %s for %s", redact_url(realm), scope or "(no scope)")
        self.token_requests += 1
        resp: requests.Response | None = None
        if creds.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "service": service,
                "client_id": CLIENT_ID,
                "scope": " ".join(scopes),
            }
            try:
                resp = self._send("POST", realm, data=form, auth=_NoAuth(), idempotent=True)
            except RegistryError as exc:
                if exc.status not in (301, 302, 303):
                    raise
                resp = None  # a POST is not followed through such a redirect: GET instead
            if resp is not None and resp.status_code in (404, 405):
                resp = None  # no OAuth endpoint: fall back to GET with Basic
        if resp is None:
            params = [("service", service)] if service else []
            params += [("scope", s) for s in scopes]
            basic = creds.basic
            auth: AuthBase = HTTPBasicAuth(*basic) if basic else _NoAuth()
            resp = self._send("GET", realm, params=params, auth=auth)
        return self._parse_token(resp, realm)

    def _check_realm(self, realm: str) -> None:
        """Refuse to send credentials in clear text to a token realm behind an https registry."""
        scheme = urlsplit(realm).scheme.lower()
        registry_scheme = (self.origin or "").split("://", 1)[0]
        if scheme == "http" and registry_scheme == "https" and not self.allow_http_realm:
            raise AuthenticationError(
                f"The registry at {self.origin} sends clients to {redact_url(realm)} for tokens, a plain "
                "http address: dregtui does not send the credentials there unencrypted (anyone "
                "on the way could read the password); fix the registry's auth.token.realm, or "
                "pass --insecure to allow it."
            )

    def _parse_token(self, resp: requests.Response, realm: str) -> tuple[str, float]:
        where = redact_url(realm)
        if resp.status_code in (401, 403):
            body = parse_error_body(resp).summary(resp.status_code)
            if self.credentials.present:
                raise AuthenticationError(
                    f"The token server at {where} rejected the credentials (from "
                    f"{self.credentials.source}) ({body}); check the user name and password.",
                    status=resp.status_code,
                )
            raise AuthenticationError(
                f"The token server at {where} requires credentials ({body}); pass -u/-p, set "
                "REGISTRY_USER and REGISTRY_PASSWORD, or run docker login.",
                status=resp.status_code,
            )
        if resp.status_code != 200:
            raise RegistryError(
                f"The token server at {where} answered "
                f"{parse_error_body(resp).summary(resp.status_code)}.",
                status=resp.status_code,
            )
        try:
            doc = json.loads(resp.content)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ProtocolError(f"The token server at {where} answered malformed JSON.") from exc
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"The token server at {where} answered without a token.")
        if bad_header_value(token):
            raise AuthenticationError(
                f"The token server at {urlsplit(realm).hostname or where} answered a token "
                "holding a control character (a CR, LF or NUL) or a character outside "
                "latin-1: not using it (sent as a header it would change the request)."
            )
        expires_in = doc.get("expires_in")
        if (
            not isinstance(expires_in, int | float)
            or isinstance(expires_in, bool)
            or expires_in <= 0
        ):
            expires_in = DEFAULT_EXPIRES_IN
        return token, float(expires_in)
