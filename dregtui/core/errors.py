"""The errors every layer raises about a registry, each one readable sentence.

``str(exc)`` is safe to show to a user: it never contains credentials or tokens (URLs are
redacted by whoever builds the sentence), and text that came from the registry is kept as
plain data with control characters stripped (callers that render it as markup must still
escape it). How an HTTP answer becomes one of these is :mod:`dregtui.registry.errors`.
"""

from __future__ import annotations


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


class StorageError(Exception):
    """A registry's storage (its directory or bucket) cannot be read as one: missing,
    unreadable, not a registry root, or not the storage of the registry given. One sentence."""
