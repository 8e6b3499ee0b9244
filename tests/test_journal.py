"""The deletion journal: 0600 JSON lines in the user data dir, batches, voids, bad lines."""

from __future__ import annotations

import json
import stat

from dregtui.state.journal import Journal, JournalRecord, journal_path


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


def test_a_torn_write_is_cut_back_and_a_torn_tail_never_swallows_the_next_record(monkeypatch):
    import errno
    import os

    journal = Journal()
    first = rec("b1", "app", 1)
    journal.append(first)
    real = os.write

    def disk_full(fd, data):
        real(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    try:
        journal.append(rec("b1", "app", 2))
        raise AssertionError("append must raise")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    monkeypatch.setattr(os, "write", real)
    assert journal.records() == [first] and journal.problems == []  # cut back: nothing torn
    # A torn tail left by a crash (or an older version): the next record gets its own line.
    with journal.path.open("ab") as fh:
        fh.write(b'{"id":"torn","batch":"b2","time":"2026')
    after = rec("b3", "app", 3)
    journal.append(after)
    assert journal.records() == [first, after]
    (problem,) = journal.problems
    assert "is cut short" in problem.message and problem.batch == "b2"


def test_a_record_with_a_wrong_field_type_is_rejected_with_a_sentence():
    journal = Journal()
    good = rec("b1", "app", 1)
    journal.append(good)
    bad = good.to_json() | {"id": "bad", "tags": "10"}
    with journal.path.open("a") as fh:
        fh.write(json.dumps(bad) + "\n")
    assert journal.records() == [good]
    (problem,) = journal.problems
    assert "its tags is a string, not a list of strings" in problem.message


def test_restore_list_marks_restored_batches_and_counts_untagged_tags():
    journal = Journal()
    deleted = rec("b1", "app", 1, time="2026-01-01T00:00:00.000000Z")
    untag = rec("b2", "app", 2, kind="untag", time="2026-01-02T00:00:00.000000Z")
    journal.append(deleted)
    journal.append(untag)
    assert journal.last().id == "b2"
    assert journal.find("b2").summary().endswith("app: 2 tags untagged")
    journal.mark_restored("b2", [untag.id])
    assert journal.find("b2").summary().endswith("app: 2 tags untagged  (restored)")
    assert journal.last().id == "b1"
