"""The registry layer: client, auth, media types, errors. No Textual here.

The names below load on first use (PEP 562), so ``import dregtui.registry.mediatypes`` from the
core (inventory, select, plan) does not pull in requests and urllib3 with the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dregtui.registry.client import RegistryClient, normalize_url
    from dregtui.registry.credentials import (
        Credentials,
        describe_credentials,
        resolve_credentials,
    )
    from dregtui.registry.errors import RegistryError
    from dregtui.registry.models import DeleteOutcome, ImageConfig, Manifest, ManifestRef

_WHERE = {
    "Credentials": "credentials",
    "describe_credentials": "credentials",
    "resolve_credentials": "credentials",
    "DeleteOutcome": "models",
    "ImageConfig": "models",
    "Manifest": "models",
    "ManifestRef": "models",
    "RegistryClient": "client",
    "normalize_url": "client",
    "RegistryError": "errors",
}

__all__ = [
    "Credentials",
    "DeleteOutcome",
    "ImageConfig",
    "Manifest",
    "ManifestRef",
    "RegistryClient",
    "RegistryError",
    "describe_credentials",
    "normalize_url",
    "resolve_credentials",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
