"""The deletion journal: 0600 JSON lines in the user data dir, batches, voids, bad lines."""

from __future__ import annotations

import json
import stat

from dregtui.inventory.journal import Journal, JournalRecord, journal_path


def rec(batch: str, repo: str, n: int, **kw) -> JournalRecord:
    return JournalRecord(
        batch=batch,
        registry="http://127.0.0.1:5000",
        repository=repo,
        digest=f"sha256:{n:064x}",
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest=b'{"schemaVersion": 2}\n\x00raw',
        tags=("1.0", "latest"),
        **kw,
    )


def test_journal_roundtrip_batches_and_voids(tmp_path):
    journal = Journal()
    assert journal.path == journal_path()
    assert str(journal.path).endswith("dregtui/journal.jsonl")
    assert journal.records() == [] and journal.last() is None
    first = rec("b1", "app", 1, time="2026-01-01T00:00:00.000000Z")
    journal.append(first)
    journal.append(rec("b1", "lib", 2, time="2026-01-01T00:00:01.000000Z"))
    third = rec("b2", "app", 3, time="2026-01-02T00:00:00.000000Z")
    journal.append(third)
    journal.void(third.id)
    journal.append(rec("b3", "app", 4, time="2026-01-03T00:00:00.000000Z"))
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    with journal.path.open("a") as fh:
        fh.write('not json\n{"id": 1}\n')

    records = journal.records()
    assert [r.digest[-1] for r in records] == ["1", "2", "4"]
    assert records[0] == first  # raw bytes survive byte for byte
    batches = journal.batches()
    assert [b.id for b in batches] == ["b3", "b1"]
    assert journal.last().id == "b3"
    assert journal.find("b1").repositories == ["app", "lib"]
    assert "2 manifests, 4 tags" in journal.find("b1").summary()
    single = journal.find(first.id)
    assert single is not None and single.records == (first,)
    assert journal.find("nope") is None
    assert journal.batches(registry="http://other") == []
    line = json.loads(journal.path.read_text().splitlines()[0])
    assert set(line) == {
        "id", "batch", "time", "kind", "registry", "repository", "digest", "media_type", "manifest", "tags",
    }  # fmt: skip
