"""The registry layer: client, auth, media types, errors. No Textual here."""

from dregtui.registry.client import RegistryClient, normalize_url
from dregtui.registry.errors import RegistryError
from dregtui.registry.models import DeleteOutcome, Manifest, ManifestRef

__all__ = ["DeleteOutcome", "Manifest", "ManifestRef", "RegistryClient", "RegistryError", "normalize_url"]
