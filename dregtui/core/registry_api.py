"""What the core needs from a registry client, as a Protocol (no HTTP here).

:class:`~dregtui.registry.client.RegistryClient` implements it; the deletion engine
(``execute.py``), ``restore.py`` and the date lookups (``inventory/dates.py``) are typed against
it, so they can be read, and tested, without the transport.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from dregtui.core.oci.models import ImageConfig, Manifest, ManifestRef


class RegistryAPI(Protocol):
    base_url: str

    def checking(self) -> AbstractContextManager[None]:
        """While it lasts, on this thread: each request on a connection of its own, so no
        byte that answers another request is read as its answer (the safety path)."""
        ...

    def list_tags(self, repository: str) -> list[str]: ...

    def head_manifest(self, repository: str, reference: str) -> ManifestRef | None: ...

    def get_manifest(self, repository: str, reference: str) -> Manifest: ...

    def get_config(self, repository: str, manifest: Manifest) -> ImageConfig: ...

    def get_blob(self, repository: str, digest: str) -> bytes: ...

    def blob_exists(self, repository: str, digest: str) -> bool: ...

    def upload_blob(self, repository: str, data: bytes) -> str: ...

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str: ...

    def delete_manifest(self, repository: str, digest: str, *, check: bool = True) -> str: ...

    def delete_tag(self, repository: str, tag: str) -> bool: ...
