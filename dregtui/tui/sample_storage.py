"""A fixed registry storage behind the sample inventory (:mod:`dregtui.tui.sample_data`) for
snapshot tests: team/api's v1.4.2 was pushed three times, so two earlier images are untagged."""

from __future__ import annotations

import json
from typing import Any

from dregtui.core.collect import Marks
from dregtui.core.oci import mediatypes
from dregtui.core.stored import StorageView, StoredRepository
from dregtui.tui.sample_data import NOW, _digest, sample_inventory, show_main
from dregtui.tui.untagged import summarise

HOUR = 3600.0
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _manifest(seed: str, blobs: dict[str, int], sizes: tuple[int, ...]) -> tuple[str, bytes]:
    config = _digest(seed + "/config")
    layers = [_digest(f"{seed}/layer{n}") for n in range(len(sizes))]
    blobs[config] = 1_400
    blobs.update(zip(layers, sizes, strict=True))
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config, "size": 1_400},
            "layers": [
                {"mediaType": LAYER, "digest": d, "size": s}
                for d, s in zip(layers, sizes, strict=True)
            ],
        }
    ).encode()
    digest = _digest(seed)
    blobs[digest] = len(body)
    return digest, body


def sample_storage() -> StorageView:
    inventory, _ = sample_inventory()
    view = StorageView("sample")
    for name, tags in inventory.repositories.items():
        stored = StoredRepository(name)
        for tag, info in tags.items():
            stored.revisions[info.digest] = NOW - 30 * 24 * HOUR
            stored.tags[tag] = info.digest
            stored.history[tag] = [(info.digest, NOW - 30 * 24 * HOUR)]
            view.blobs.setdefault(info.digest, 2_000)
        view.repositories[name] = stored
    api = view.repositories["team/api"]
    current = api.tags["v1.4.2"]
    old = []
    for number, sizes in enumerate([(31_000_000, 2_100_000), (12_500_000,)]):
        digest, body = _manifest(f"team/api:v1.4.2#{number}", view.blobs, sizes)
        view.manifests[digest] = body
        api.revisions[digest] = NOW - (10 - 3 * number) * 24 * HOUR
        old.append(digest)
    api.history["v1.4.2"] = [
        (old[0], NOW - 10 * 24 * HOUR),
        (old[1], NOW - 7 * 24 * HOUR),
        (current, NOW - 2 * 24 * HOUR),
    ]
    return view


async def show_untagged(pilot: Any) -> None:
    """The sample with its storage read: team/api's untagged node open, the first marked."""
    await show_main(pilot)
    app = pilot.app
    collect = Marks(sample_storage())
    app.session.storage.read(collect, summarise(collect, NOW))
    app.main.refresh_tree()
    tree = app.repo_tree
    node = tree._repo_nodes["team/api"]
    node.expand()
    await pilot.pause()
    tree.focus()
    tree.move_cursor(node.children[0])
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("space")
    for _ in range(200):  # what the marks free: a worker, started once the marks are painted
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.main.status_bar.frees is not None:
            break
    await pilot.pause()


async def show_untagged_confirm(pilot: Any) -> None:
    await show_untagged(pilot)
    await pilot.press("d")
    await pilot.pause()
