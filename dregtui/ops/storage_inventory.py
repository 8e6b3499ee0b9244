"""The inventory read from a registry's storage instead of through its API, and the check that
storage and registry belong together.

What the storage gives that the API cannot: every manifest revision, tagged or not, each tag's
history, every blob's size. Deletions still go through the registry's API with every safety
check and the journal (:mod:`dregtui.ops.execute`); the storage is only read.
"""

from __future__ import annotations

from collections.abc import Iterable

from dregtui.core.errors import ProtocolError, StorageError
from dregtui.core.footprints import Footprint
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import Manifest
from dregtui.core.referrers import artifact_of
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.stored import StorageView
from dregtui.state.config import Settings
from dregtui.storage.layout import check_pairing, read_storage
from dregtui.storage.opening import from_registry_config, open_storage, parse_storage

PAIRING_REPOSITORIES = 3  # repositories sampled to check storage and registry belong together
PAIRING_TAGS = 4  # tags of each


def storage_given(settings: Settings) -> bool:
    return bool(settings.storage or settings.registry_config)


def read_view(
    settings: Settings, client: RegistryAPI, repositories: Iterable[str] | None = None
) -> StorageView:
    """The storage the settings name (``--storage``, else ``--registry-config``), read, and
    checked against the registry's API on a sample of tags (StorageError for a wrong
    pairing: caught here, before anything could be deleted on the strength of it)."""
    if settings.storage:
        spec = parse_storage(settings.storage)
    elif settings.registry_config:
        spec = from_registry_config(settings.registry_config)
    else:
        raise StorageError(
            "No storage given: pass --storage PATH|s3://BUCKET or --registry-config."
        )
    storage = open_storage(spec)
    try:
        view = read_storage(storage, repositories)
    finally:
        storage.close()
    check_registry_pairing(view, client)
    return view


def check_registry_pairing(view: StorageView, client: RegistryAPI) -> None:
    """Compare a sample of the storage's tags (spread over its repositories) with what the
    registry answers for them."""
    named = sorted(name for name, r in view.repositories.items() if r.tags)
    if not named:
        return
    step = max(1, len(named) // PAIRING_REPOSITORIES)
    sample: dict[str, dict[str, str]] = {}
    for name in named[::step][:PAIRING_REPOSITORIES]:
        tags = sorted(view.repositories[name].tags)
        for tag in tags[:: max(1, len(tags) // PAIRING_TAGS)][:PAIRING_TAGS]:
            ref = client.head_manifest(name, tag)
            sample.setdefault(name, {})[tag] = ref.digest if ref is not None else "absent"
    check_pairing(view, sample)


def inventory_from_view(view: StorageView, registry: str) -> Inventory:
    """The tags, footprints and index children the storage holds, as an API scan records them
    (sizes of every blob from the storage's own listing)."""
    inventory = Inventory(registry)
    parsed: dict[str, Manifest] = {}
    for digest, body in view.manifests.items():
        try:
            parsed[digest] = Manifest.parse(body, digest)
        except ProtocolError:
            view.warnings.append(f"{digest}: its body is not a manifest; its size is unknown.")
    for digest, manifest in parsed.items():
        artifact = artifact_of(manifest)
        if artifact is not None:
            inventory.set_artifact(digest, artifact)
        if manifest.is_index:
            refs = manifest.manifests
            inventory.set_children(digest, (d.digest for d in refs))
        else:
            layers = tuple(
                d for d in manifest.layers if d.media_type not in mediatypes.FOREIGN_LAYERS
            )
            refs = ((manifest.config,) if manifest.config else ()) + layers
        inventory.set_footprint(
            digest,
            Footprint.of(
                len(manifest.raw), ((d.digest, view.blobs.get(d.digest, d.size)) for d in refs)
            ),
        )
    inventory.add_repositories(view.repositories)
    for name, repository in view.repositories.items():
        inventory.set_repository(
            name,
            {
                tag: TagInfo(digest, parsed[digest].media_type if digest in parsed else "")
                for tag, digest in repository.tags.items()
            },
        )
    inventory.mark_scanned()
    return inventory
