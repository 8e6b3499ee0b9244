"""What the digest pane shows about a manifest, fetched through the registry client.

Runs in worker threads only (it does network I/O). Results are cached by digest: a digest's
content never changes, so an entry is valid for as long as the app runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from dregtui.registry.client import RegistryClient
from dregtui.registry.errors import RegistryError
from dregtui.registry.models import ImageConfig, Manifest


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class Details:
    """Size, created date, labels, layers or platforms of one manifest."""

    digest: str
    media_type: str
    size: int | None = None
    created: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    layers: tuple[Layer, ...] = ()
    platforms: tuple[tuple[str, str], ...] = ()  # (platform, child digest)
    os_arch: str = ""
    error: str | None = None

    @property
    def created_day(self) -> str:
        return (self.created or "")[:10]


class DetailsCache:
    """Thread-safe digest -> Details map."""

    def __init__(self, initial: dict[str, Details] | None = None) -> None:
        self._items: dict[str, Details] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, digest: str) -> Details | None:
        return self._items.get(digest)

    def put(self, details: Details) -> None:
        with self._lock:
            self._items[details.digest] = details

    def __contains__(self, digest: str) -> bool:
        return digest in self._items

    def missing(self, digests: list[str]) -> list[str]:
        return [d for d in dict.fromkeys(digests) if d not in self._items]


def _image_details(client: RegistryClient, repository: str, manifest: Manifest) -> Details:
    config = ImageConfig()
    if manifest.config is not None:
        try:
            config = ImageConfig.parse(client.get_blob(repository, manifest.config.digest))
        except RegistryError:
            config = ImageConfig()
    os_arch = f"{config.os}/{config.architecture}" if config.os or config.architecture else ""
    return Details(
        digest=manifest.digest,
        media_type=manifest.media_type,
        size=manifest.total_size,
        created=config.created,
        labels=config.labels,
        layers=tuple(Layer(d.digest, d.size, d.media_type) for d in manifest.layers),
        os_arch=os_arch,
    )


def fetch_details(client: RegistryClient, repository: str, digest: str) -> Details:
    """Manifest (+ image config, + first child's config for an index); errors become data."""
    try:
        manifest = client.get_manifest(repository, digest)
        if not manifest.is_index:
            return _image_details(client, repository, manifest)
        platforms = tuple(
            (str(d.platform) if d.platform else "?", d.digest) for d in manifest.manifests
        )
        size = 0
        created = None
        labels: dict[str, str] = {}
        for number, child in enumerate(manifest.manifests):
            if number >= 8:  # bounded: a huge index only gets its first children sized
                break
            sub = _image_details(client, repository, client.get_manifest(repository, child.digest))
            size += sub.size or 0
            created = created or sub.created
            labels = labels or sub.labels
        return Details(
            digest=digest,
            media_type=manifest.media_type,
            size=size,
            created=created,
            labels=labels,
            platforms=platforms,
        )
    except RegistryError as exc:
        return Details(digest=digest, media_type="", error=str(exc))
