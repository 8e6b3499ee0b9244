"""The registry layer: client, auth, media types, errors. No Textual here."""

from dregtui.registry.client import RegistryClient, normalize_url
from dregtui.registry.credentials import Credentials, describe_credentials, resolve_credentials
from dregtui.registry.errors import RegistryError
from dregtui.registry.models import DeleteOutcome, ImageConfig, Manifest, ManifestRef

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
