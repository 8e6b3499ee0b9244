"""From an HTTP answer to one of the errors of :mod:`dregtui.core.errors`: error bodies parsed
defensively, URLs redacted, registry text cleaned to one safe line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dregtui.core.errors import (
    AuthenticationError,
    AuthorizationError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    RegistryTLSError,
    ServerError,
)
from dregtui.core.textsafe import clean_line

if TYPE_CHECKING:
    import requests


_MAX_DETAIL = 200


def clean_text(text: str, limit: int = _MAX_DETAIL) -> str:
    """Registry text as one safe line, length capped (``textsafe.clean_line``)."""
    return clean_line(text, limit)


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error response said, parsed defensively."""

    codes: tuple[str, ...] = ()
    detail: str = ""  # one clean line, empty when the body was HTML or nothing useful

    @property
    def code(self) -> str | None:
        return self.codes[0] if self.codes else None

    def summary(self, status: int) -> str:
        """``404 MANIFEST_UNKNOWN: manifest unknown`` or ``502`` alone."""
        text = str(status)
        if self.codes:
            text += " " + ", ".join(self.codes)
        if self.detail:
            text += ": " + self.detail.rstrip(". ")
        return text


def parse_error_body(resp: requests.Response) -> ErrorBody:
    """JSON ``{"errors": [{"code", "message"}]}``, plain text or HTML (which is ignored)."""
    try:
        raw = resp.content or b""
    except OSError:  # requests.RequestException is an OSError
        return ErrorBody()
    raw = raw[:65536]
    content_type = resp.headers.get("Content-Type", "").lower()
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return ErrorBody()
    if "html" in content_type or text[:1] == "<":
        return ErrorBody()
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return ErrorBody(detail=clean_text(text.splitlines()[0] if text else ""))
    codes: list[str] = []
    messages: list[str] = []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list):
        for item in errors:
            if not isinstance(item, dict):
                continue
            code = item.get("code")
            if isinstance(code, str) and code:
                codes.append(clean_text(code, 40))
            message = item.get("message")
            if isinstance(message, str) and message and message not in messages:
                messages.append(message)
    elif isinstance(doc, dict):
        for key in ("message", "error", "detail", "details"):
            value = doc.get(key)
            if isinstance(value, str) and value:
                messages.append(value)
                break
    return ErrorBody(tuple(dict.fromkeys(codes)), clean_text("; ".join(messages)))


def error_for_response(
    resp: requests.Response,
    action: str,
    *,
    registry: str,
    has_credentials: bool = False,
    credentials_source: str = "",
) -> RegistryError:
    """Map a failed response to a domain exception with one sentence.

    ``action`` completes "... while <action>", e.g. ``"listing the tags of ns/app"``.
    """
    status = resp.status_code
    body = parse_error_body(resp)
    what = body.summary(status)
    kwargs: dict[str, Any] = {"status": status, "code": body.code}
    if status == 401:
        asked = _origin_of(getattr(resp, "url", "") or "")
        if asked and asked != _origin_of(registry):
            return AuthenticationError(
                f"{clean_text(asked)}, where the registry at {registry} redirected while "
                f"{action}, asks for credentials ({what}); dregtui sends credentials only to "
                "the registry itself: check the registry's redirect (storage or proxy) settings.",
                **kwargs,
            )
        if has_credentials and "insufficient_scope" in resp.headers.get("WWW-Authenticate", ""):
            return AuthorizationError(
                f"The registry at {registry} did not grant access for {action} ({what}); "
                "the account lacks the rights for it.",
                **kwargs,
            )
        if has_credentials:
            source = f" (from {credentials_source})" if credentials_source else ""
            return AuthenticationError(
                f"The registry at {registry} rejected the credentials{source} while {action} "
                f"({what}); check the user name and password.",
                **kwargs,
            )
        return AuthenticationError(
            f"The registry at {registry} requires credentials for {action} ({what}); pass "
            "-u/-p, set REGISTRY_USER and REGISTRY_PASSWORD, or run docker login.",
            **kwargs,
        )
    if status == 400 and "HTTP request to an HTTPS server" in body.detail:
        return RegistryTLSError(
            f"The registry at {registry} expects HTTPS; use the https:// URL.", **kwargs
        )
    if status == 403:
        return AuthorizationError(
            f"The registry at {registry} refused {action} ({what}); the account is not allowed to do it.",
            **kwargs,
        )
    doing = action[:1].upper() + action[1:]
    if status == 404:
        return NotFoundError(f"{doing} failed: not found at {registry} ({what}).", **kwargs)
    if status == 429:
        return RateLimitedError(
            f"The registry at {registry} kept rate-limiting {action} ({what}); try again later "
            "or lower --jobs.",
            **kwargs,
        )
    if status >= 500:
        return ServerError(
            f"The registry at {registry} failed while {action} ({what}); try again later.",
            **kwargs,
        )
    return RegistryError(f"{doing} failed at {registry} ({what}).", **kwargs)


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (lower case), "" if it has none."""

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{suffix}"
