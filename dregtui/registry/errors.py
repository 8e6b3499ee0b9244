"""Domain exceptions raised by the registry client, and the helpers that build them.

Every exception carries one readable sentence (``str(exc)``) that is safe to show to a
user: it never contains credentials or tokens (URLs are redacted), and text that came from
the registry is kept as plain data with control characters stripped (callers that render it
as markup must still escape it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from dregtui.textsafe import clean_line

if TYPE_CHECKING:
    import requests


class RegistryError(Exception):
    """Base class: something went wrong talking to a registry."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        return self.message


class RegistryConnectionError(RegistryError):
    """The registry could not be reached (DNS, refused, reset, timeout)."""


class UnsafeExchangeError(RegistryConnectionError):
    """An exchange HTTP cannot carry safely: an answer whose end cannot be known (a
    Content-Length that is not ASCII digits), or a request header value holding a CR, LF or
    NUL (which would change the request). Every further request is at risk alike, so it
    stops a scan or a deletion run, as a lost connection does."""


class RegistryTLSError(RegistryError):
    """TLS failed: unknown CA, missing or unreadable client certificate, ..."""


class NotARegistryError(RegistryError):
    """The URL answered, but not as a Docker Registry v2 / OCI distribution API."""


class AuthenticationError(RegistryError):
    """Credentials are missing or wrong (401)."""


class AuthorizationError(RegistryError):
    """The credentials are valid but not allowed to do this (403 / insufficient scope)."""


class NotFoundError(RegistryError):
    """Repository, manifest or blob unknown (404)."""


class CatalogUnavailableError(RegistryError):
    """The registry does not serve ``/v2/_catalog`` (Docker Hub, GHCR, GitLab, Harbor ...)."""


class DeletionDisabledError(RegistryError):
    """The registry refuses DELETE (405 UNSUPPORTED)."""


class RateLimitedError(RegistryError):
    """429 Too Many Requests, still refused after the retries."""


class ServerError(RegistryError):
    """5xx from the registry, still failing after the retries."""


class ProtocolError(RegistryError):
    """The registry answered something malformed (bad JSON, missing fields, bad digest)."""


class ResponseTooLargeError(RegistryError):
    """A body over its size limit (``limit`` bytes): refused, not read whole."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


DELETE_HINT = (
    "enable deletion in the registry configuration (storage.delete.enabled: true, "
    "or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it"
)

CATALOG_HINT = "name the repositories to work on with --repositories a,b,c (or in the config file)"

_MAX_DETAIL = 200


def clean_text(text: str, limit: int = _MAX_DETAIL) -> str:
    """Registry text as one safe line, length capped (``textsafe.clean_line``)."""
    return clean_line(text, limit)


def redact_url(url: str) -> str:
    """Drop any ``user:password@`` from a URL (and the query, which may hold tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
    from urllib.parse import urlsplit

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
