"""Restore from the journal against the real registry, before and after garbage collection."""

from __future__ import annotations

import subprocess

from support.registry import resolve

from dregtui.core.plan import build_plan
from dregtui.core.plan_model import PlanMode
from dregtui.core.selection import Selection
from dregtui.demo.server import find_registry_binary
from dregtui.ops.execute import execute_plan
from dregtui.ops.restore import RestoreStatus, restore_batch
from dregtui.ops.scanner import Scanner
from dregtui.state.journal import Journal


def delete(client, mode=None, **selection):
    inv = Scanner(client, jobs=4).scan()
    p = build_plan(inv, Selection.from_args(**selection).select(inv), mode)
    result = execute_plan(client, p, inv)
    assert result.exit_code == 0, result.to_json()
    return result


def test_restore_after_delete_brings_back_tags_and_index(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    b = pusher.image("app", "1.1", oci=True)
    index, children = pusher.index("app", "2.0")
    pusher.tag("app", "2.0-arm64", children[1])
    before = {t: resolve(client, "app", t) for t in client.list_tags("app")}
    delete(client, PlanMode(match_all_tags=False), repositories=["app"], regex=[".*"])
    assert client.list_tags("app") == []
    batch = Journal().last()
    # 4 tagged digests and the index's untagged child, taken along
    assert batch is not None and len(batch.records) == 5
    assert resolve(client, "app", children[0].digest) is None
    result = restore_batch(client, batch)
    assert result.exit_code == 0, result.to_json()
    assert {t: resolve(client, "app", t) for t in client.list_tags("app")} == before
    assert resolve(client, "app", children[0].digest) == children[0].digest
    assert before["1.1"] == b.digest and before["2.0"] == index.digest


def test_restore_untag_and_never_overwrite_a_moved_tag(client, pusher):
    a = pusher.image("app", "1.0")
    pusher.tag("app", "1.0.0", a)
    pusher.image("app", "3.0", seed="three")
    delete(client, PlanMode(untag=True), repositories=["app"], tags=["1.0", "3.0"])
    assert sorted(client.list_tags("app")) == ["1.0.0"]
    newer = pusher.image("app", "3.0", seed="pushed-after")
    result = restore_batch(client, Journal().last())
    assert resolve(client, "app", "1.0") == a.digest
    assert resolve(client, "app", "3.0") == newer.digest  # left alone
    assert result.exit_code == 3
    partial = [i for i in result.items if i.status is RestoreStatus.PARTIAL]
    assert len(partial) == 1 and "point elsewhere" in partial[0].message


def test_restore_after_garbage_collection_says_blobs_are_gone(registry, client, pusher):
    pusher.image("app", "1.0", seed="gone", layer_size=4096)
    pusher.image("app", "2.0", seed="stays")
    delete(client, repositories=["app"], tags=["1.0"])
    registry.stop()
    gc = subprocess.run(
        [find_registry_binary(), "garbage-collect", str(registry.workdir / "config.yml")],
        capture_output=True,
        timeout=60,
    )
    assert gc.returncode == 0, gc.stderr
    registry.start()
    result = restore_batch(client, Journal().last())
    assert result.exit_code == 1
    (item,) = result.items
    assert item.status is RestoreStatus.FAILED and "garbage collector" in item.message
    assert resolve(client, "app", "1.0") is None


def test_restore_last_twice_says_restored_already(registry, client, pusher, run_cli):
    image = pusher.image("app", "1.0", seed="twice")
    assert run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0").code == 0
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0 and resolve(client, "app", "1.0") == image.digest
    batch = Journal().batches()[0]
    assert batch.is_restored
    registry.stop()  # a second restore makes no request
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0 and "was restored already" in r.out, r
    r = run_cli("restore", batch.id)
    assert r.code == 0 and r.out == f"Batch {batch.id} was restored already: nothing to restore.\n"
    assert "(restored)" in run_cli("restore").out


def test_restore_puts_a_tag_back_over_a_placeholder_and_refuses_bad_bytes(
    registry, client, pusher, run_cli
):
    import dataclasses
    import json as _json

    from dregtui.core.oci import mediatypes
    from dregtui.core.oci.mediatypes import PLACEHOLDER_ANNOTATION

    a = pusher.image("app", "1.0")
    pusher.tag("app", "keep", a)
    delete(client, PlanMode(untag=True), repositories=["app"], tags=["1.0"])
    empty = client.upload_blob("app", b"{}")
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
           "config": {"mediaType": mediatypes.OCI_EMPTY, "digest": empty, "size": 2},
           "layers": [], "annotations": {PLACEHOLDER_ANNOTATION: "x"}}  # fmt: skip
    client.put_manifest("app", "1.0", _json.dumps(doc).encode(), mediatypes.OCI_MANIFEST)
    batch = Journal().last()
    forged = dataclasses.replace(batch, records=tuple(
        dataclasses.replace(r, manifest=r.manifest + b" ") for r in batch.records))  # fmt: skip
    result = restore_batch(client, forged)
    assert result.exit_code == 1 and "hashes to" in result.items[0].message
    assert resolve(client, "app", "1.0") != a.digest
    result = restore_batch(client, batch)
    assert result.exit_code == 0, result.to_json()
    assert resolve(client, "app", "1.0") == a.digest


def test_restore_warns_about_a_torn_line_and_a_directory_journal(registry, pusher, run_cli):
    pusher.image("app", "1.0", seed="torn")
    assert run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0").code == 0
    journal = Journal()
    batch = journal.last()
    with journal.path.open("ab") as fh:
        fh.write(b'{"id":"x","batch":"' + batch.id.encode() + b'","ti')
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 1 and "cut short" in r.err and "may be incomplete" in r.err, r
    journal.path.unlink()
    journal.path.mkdir()
    r = run_cli("restore")
    assert (
        r.code == 1
        and r.err.startswith("dregtui: error: The journal ")
        and "is a directory" in r.err
    )
