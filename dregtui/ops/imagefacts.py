"""What one manifest is, as people ask about it: size, created date, labels, layers, platforms.

One rule for every caller: ``--older-than`` and ``--keep-last --by-date`` (through
:mod:`dregtui.ops.dates`), the TUI's date sort and its digest pane.

- An image: its size is config + layers (``Manifest.total_size``); created date, labels and
  os/arch come from its config blob.
- An index: its platforms are listed; its size is the sum of its children's, its labels the first
  child's that has any, and its **created date the newest of its children's** (an index is only
  as old as its newest platform image). At most ``MAX_CHILDREN`` children are fetched.

Registry errors become data (``ImageFacts.error``), never exceptions: a caller shows "unknown".

An image's history (:func:`image_history`, how it was built) is asked for apart, when the
digest pane shows that image: the facts are kept for every digest a date sort reads, and a
history is up to a hundred lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dregtui.core.errors import RegistryError
from dregtui.core.oci import mediatypes
from dregtui.core.oci.history import ImageHistory, parse_history
from dregtui.core.oci.models import ImageConfig, Manifest
from dregtui.core.registry_api import RegistryAPI

MAX_CHILDREN = 8
IMAGE_CONFIGS = (mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG)


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class ImageFacts:
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
    history: ImageHistory | None = None  # loaded when the digest pane shows it

    @property
    def created_day(self) -> str:
        return (self.created or "")[:10]


def parse_created(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp (nanoseconds and ``Z`` tolerated) -> aware datetime, or None."""
    if not text or not isinstance(text, str):
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in value:  # Python parses at most 6 fraction digits
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        value = head + "." + digits[:6] + rest[len(digits) :]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def newest(dates: list[str | None]) -> str | None:
    """The newest of ``dates`` (as given), None when none can be read."""
    known = [(d, parse_created(d)) for d in dates]
    readable = [(parsed, text) for text, parsed in known if parsed is not None and text]
    return max(readable)[1] if readable else None


def image_facts(client: RegistryAPI, repository: str, digest: str) -> ImageFacts:
    """The facts of ``repository@digest`` (see the module docstring)."""
    try:
        manifest = client.get_manifest(repository, digest)
        if not manifest.is_index:
            return _image(client, repository, manifest)
        platforms = tuple(
            (str(d.platform) if d.platform else "?", d.digest) for d in manifest.manifests
        )
        children = [
            _image(client, repository, client.get_manifest(repository, child.digest))
            for child in manifest.manifests[:MAX_CHILDREN]
        ]
        return ImageFacts(
            digest=digest,
            media_type=manifest.media_type,
            size=sum(c.size or 0 for c in children),
            created=newest([c.created for c in children]),
            labels=next((c.labels for c in children if c.labels), {}),
            platforms=platforms,
        )
    except RegistryError as exc:
        return ImageFacts(digest=digest, media_type="", error=str(exc))


def _image(client: RegistryAPI, repository: str, manifest: Manifest) -> ImageFacts:
    config = ImageConfig()
    if manifest.config is not None:
        try:
            config = ImageConfig.parse(client.get_blob(repository, manifest.config.digest))
        except RegistryError:
            config = ImageConfig()
    os_arch = f"{config.os}/{config.architecture}" if config.os or config.architecture else ""
    return ImageFacts(
        digest=manifest.digest,
        media_type=manifest.media_type,
        size=manifest.total_size,
        created=config.created if isinstance(config.created, str) else None,
        labels=config.labels,
        layers=tuple(Layer(d.digest, d.size, d.media_type) for d in manifest.layers),
        os_arch=os_arch,
    )


def image_history(client: RegistryAPI, repository: str, digest: str) -> ImageHistory:
    """How ``repository@digest`` was built (:mod:`dregtui.core.oci.history`); an index's is its
    first platform image's (linux/amd64 when it has one), named in ``platform``. Registry errors
    are said in ``note``, never raised."""
    try:
        manifest = client.get_manifest(repository, digest)
        platform = ""
        if manifest.is_index:
            children = [c for c in manifest.manifests if str(c.platform) != "unknown/unknown"]
            if not children:
                return ImageHistory(note="This index lists no platform image.")
            child = next((c for c in children if str(c.platform) == "linux/amd64"), children[0])
            platform = str(child.platform) if child.platform else "?"
            manifest = client.get_manifest(repository, child.digest)
            if manifest.is_index:
                return ImageHistory(note="This index lists another index.", platform=platform)
        if manifest.config is None:
            return ImageHistory(note="This manifest has no image config.", platform=platform)
        if manifest.config.media_type not in IMAGE_CONFIGS:
            return ImageHistory(note="Not an image (an artifact): no build steps.")
        config = client.get_blob(repository, manifest.config.digest)
    except RegistryError as exc:
        return ImageHistory(note=str(exc))
    history = parse_history(config, [layer.size for layer in manifest.layers])
    return replace(history, platform=platform)
