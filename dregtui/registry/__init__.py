"""The registry layer: client, transport, auth, errors (media types and manifest models are in
:mod:`dregtui.oci`). No Textual here.

The names below load on first use (PEP 562), so ``import dregtui.registry.api`` from the core
(execute, restore) does not pull in requests and urllib3 with the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dregtui.oci.models import DeleteOutcome, ImageConfig, Manifest, ManifestRef
    from dregtui.registry.client import RegistryClient, normalize_url
    from dregtui.registry.credentials import (
        Credentials,
        describe_credentials,
        resolve_credentials,
    )
    from dregtui.registry.errors import RegistryError

_WHERE = {
    "Credentials": "dregtui.registry.credentials",
    "describe_credentials": "dregtui.registry.credentials",
    "resolve_credentials": "dregtui.registry.credentials",
    "DeleteOutcome": "dregtui.oci.models",
    "ImageConfig": "dregtui.oci.models",
    "Manifest": "dregtui.oci.models",
    "ManifestRef": "dregtui.oci.models",
    "RegistryClient": "dregtui.registry.client",
    "normalize_url": "dregtui.registry.client",
    "RegistryError": "dregtui.registry.errors",
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
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
