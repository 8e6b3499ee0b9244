"""A fixed deletion journal (no file, no clock) for the journal screen's snapshot tests and
screenshots: three batches of the sample registry, one of them restored, one partly."""

from __future__ import annotations

import hashlib
import json

from dregtui.core.oci import mediatypes
from dregtui.state.journal import Batch, Journal, JournalRecord
from dregtui.tui.sample_data import REGISTRY


def _record(batch: str, time: str, repository: str, tags: list[str], size: int) -> JournalRecord:
    seed = f"{repository}:{tags[0]}"
    layer = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    config = "sha256:" + hashlib.sha256((seed + "/config").encode()).hexdigest()
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                   "size": 1_500},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                    "size": size}],
    }  # fmt: skip
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return JournalRecord(
        batch=batch,
        registry=REGISTRY,
        repository=repository,
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
        media_type=mediatypes.OCI_MANIFEST,
        manifest=raw,
        tags=tuple(tags),
        id=hashlib.sha256(raw).hexdigest()[:12],
        time=time,
    )


def sample_batches() -> list[Batch]:
    newest = [
        _record("3f2a9c1d7e8b", "2023-11-14T22:05:12.000000Z", "team/api", [v], 48_000_000)
        for v in ("v1.0.0", "v1.1.0")
    ]
    builds = [
        _record("9b1e04c2aa51", "2023-11-14T21:40:03.000000Z", "ci/builds", [f"0.1.{n}"], 9_000)
        for n in range(40)
    ] + [_record("9b1e04c2aa51", "2023-11-14T21:40:05.000000Z", "team/web", ["canary"], 21_000)]
    oldest = [
        _record("c07d5e2f1b39", "2023-11-13T09:12:44.000000Z", "team/web", ["2.0.0", "old"], 5_000)
    ]
    return [
        Batch("3f2a9c1d7e8b", REGISTRY, newest[0].time, tuple(newest)),
        Batch(
            "9b1e04c2aa51",
            REGISTRY,
            builds[0].time,
            tuple(builds),
            frozenset(r.id for r in builds[:12]),
        ),
        Batch(
            "c07d5e2f1b39", REGISTRY, oldest[0].time, tuple(oldest), frozenset(r.id for r in oldest)
        ),
    ]


class SampleJournal(Journal):
    """The sample batches; never reads or writes a file."""

    def __init__(self) -> None:
        super().__init__("/nonexistent/sample-journal.jsonl")

    def batches(self, registry: str | None = None) -> list[Batch]:
        return [b for b in sample_batches() if registry is None or b.registry == registry]


async def show_journal(pilot) -> None:  # type: ignore[no-untyped-def]
    """The main screen (team/api open), then J on the sample journal."""
    from dregtui.tui.sample_data import show_main

    await show_main(pilot)
    pilot.app.main.deletion_flow.journal = SampleJournal()
    await pilot.press("J")
    await pilot.pause()


async def show_restore_confirm(pilot) -> None:  # type: ignore[no-untyped-def]
    """The journal, then the confirmation of its second batch (partly restored)."""
    from dregtui.tui.screens.journal import RestoreConfirmScreen

    await show_journal(pilot)
    await pilot.press("down")
    pilot.app.push_screen(RestoreConfirmScreen(sample_batches()[1]))
    await pilot.pause()
