"""A small Docker token-auth server for tests: RS256 JWTs the real registry accepts.

The JWT header carries ``x5c`` (base64 DER of a self-signed certificate, which the registry
trusts through ``auth.token.rootcertbundle``). Claims: iss, aud (= service, a string), sub,
exp, nbf, iat, jti, access. A valid user gets every action it asked for (optionally limited
by ``rights``); anonymous callers get a token with no access; wrong credentials get 401.
Every token request is recorded so tests can assert caching.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from support.httpserver import LoopbackServer
from support.tls import KeyPair, self_signed_rsa


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_scope(scope: str) -> dict[str, Any] | None:
    """``repository:ns/app:pull,push`` -> {"type", "name", "actions"}."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


@dataclass
class TokenRequest:
    method: str
    account: str | None
    scopes: list[str]
    service: str


@dataclass
class TokenIssuer:
    directory: Path
    users: dict[str, str] = field(default_factory=lambda: {"alice": "wonderland"})
    service: str = "dregtui-registry"
    issuer: str = "dregtui-token-issuer"
    expires_in: int = 300
    # user -> actions that user may get (default: everything asked for)
    rights: dict[str, set[str]] = field(default_factory=dict)
    # refresh (identity) token -> user, for the OAuth2 POST grant
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    # "both", "token" or "access_token": which field(s) the answer carries
    token_field: str = "both"
    include_expires_in: bool = True
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.signer: KeyPair = self_signed_rsa()
        self.bundle = self.directory / "token-root.crt"
        self.bundle.write_bytes(self.signer.cert.public_bytes(serialization.Encoding.PEM))
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> TokenIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                issuer._handle_get(self)

            def do_POST(self) -> None:  # noqa: N802
                issuer._handle_post(self)

        self._server = LoopbackServer(Handler).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def realm(self) -> str:
        assert self._server is not None
        return f"{self._server.url}/token"

    def registry_config(self) -> dict[str, Any]:
        return {
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": self.service,
                    "issuer": self.issuer,
                    "rootcertbundle": str(self.bundle),
                }
            }
        }

    def count(self, scope: str | None = None) -> int:
        with self._lock:
            if scope is None:
                return len(self.requests)
            return sum(1 for r in self.requests if scope in r.scopes)

    # -- token making -----------------------------------------------------------------

    def make_token(
        self, account: str | None, scopes: list[str], expires_in: int | None = None
    ) -> str:
        now = int(time.time())
        access = []
        allowed = self.rights.get(account or "", None)
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None or account is None:
                continue
            actions = parsed["actions"]
            if allowed is not None:
                actions = [a for a in actions if a in allowed or "*" in allowed]
            if actions:
                access.append({**parsed, "actions": actions})
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [
                base64.b64encode(self.signer.cert.public_bytes(serialization.Encoding.DER)).decode()
            ],
        }
        claims = {
            "iss": self.issuer,
            "sub": account or "",
            "aud": self.service,
            "exp": now + (expires_in or self.expires_in),
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self.signer.key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )  # type: ignore[call-arg,union-attr]
        return f"{signing_input}.{_b64url(signature)}"

    def _answer(
        self, handler: BaseHTTPRequestHandler, account: str | None, scopes: list[str]
    ) -> None:
        token = self.make_token(account, scopes)
        doc: dict[str, Any] = {"issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if self.token_field in ("both", "token"):
            doc["token"] = token
        if self.token_field in ("both", "access_token"):
            doc["access_token"] = token
        if self.include_expires_in:
            doc["expires_in"] = self.expires_in
        _send_json(handler, 200, doc)

    def _handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        service = (query.get("service") or [""])[0]
        account = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", None
            if self.users.get(user) != password:
                with self._lock:
                    self.requests.append(TokenRequest("GET", None, scopes, service))
                _send_json(
                    handler,
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                )
                return
            account = user
        with self._lock:
            self.requests.append(TokenRequest("GET", account, scopes, service))
        self._answer(handler, account, scopes)

    def _handle_post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode())
        scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
        service = (form.get("service") or [""])[0]
        refresh = (form.get("refresh_token") or [""])[0]
        account = self.refresh_tokens.get(refresh)
        with self._lock:
            self.requests.append(TokenRequest("POST", account, scopes, service))
        if (form.get("grant_type") or [""])[0] != "refresh_token" or account is None:
            _send_json(handler, 401, {"error": "invalid_grant"})
            return
        self._answer(handler, account, scopes)


def _send_json(handler: BaseHTTPRequestHandler, status: int, doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
