"""Domain exceptions raised by the registry client.

Every exception carries one readable sentence (``str(exc)``) that is safe to show to a
user: it never contains credentials, and text that came from the registry is kept as
plain data (callers that render it must escape it).
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


DELETE_HINT = (
    "enable deletion in the registry configuration (storage.delete.enabled: true, "
    "or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it"
)
