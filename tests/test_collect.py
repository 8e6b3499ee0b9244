"""The garbage collector's model (dregtui/core/collect.py) on a storage view built by hand: which
untagged manifests nothing kept needs, and what unlinking them frees."""

from __future__ import annotations

import json

from dregtui.core.collect import Marks, untagged_candidates, untagged_space
from dregtui.core.stored import StorageView, StoredRepository

HOUR = 3600.0
STRAY = "sha256:" + "f0" * 32  # a blob nothing references
CHILD = "sha256:" + "ab" * 32


def _d(c: str) -> str:
    return "sha256:" + c * 64


def _image(config: str, *layers: str, subject: str | None = None) -> bytes:
    doc: dict[str, object] = {
        "config": {"digest": _d(config), "size": 10},
        "layers": [{"digest": _d(x), "size": 100} for x in layers],
    }
    if subject:
        doc["subject"] = {"digest": subject, "size": 1}
    return json.dumps(doc).encode()


def _index(*children: str) -> bytes:
    return json.dumps(
        {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"digest": c, "size": 1} for c in children],
        }
    ).encode()


def _view() -> StorageView:
    """app: latest (image 1) overwritten twice (old images 2, 3: 3 shares 1's layer); a
    referrer (4) of latest and one (5) of old image 2. multi: a tagged index (6) with two
    untagged children (7, 8), and an old untagged index (9) whose child 10 it alone names."""
    manifests = {
        _d("1"): _image("a", "b"),
        _d("2"): _image("c", "d"),
        _d("3"): _image("e", "b"),
        _d("4"): _image("f", subject=_d("1")),
        _d("5"): _image("0", subject=_d("2")),
        _d("6"): _index(_d("7"), _d("8")),
        _d("7"): _image("a", "b"),
        _d("8"): _image("c", "d"),
        _d("9"): _index(_d("7"), CHILD),
        CHILD: _image("e", "d"),
    }
    blobs = {d: len(b) for d, b in manifests.items()}
    blobs |= {_d(c): 10 for c in "acef0"} | {_d(c): 100 for c in "bd"}
    blobs[STRAY] = 7
    app = StoredRepository(
        "app",
        revisions={_d(c): 0.0 for c in "12345"},
        tags={"latest": _d("1")},
    )
    multi = StoredRepository(
        "multi",
        revisions={d: 0.0 for d in (_d("6"), _d("7"), _d("8"), _d("9"), CHILD)},
        tags={"1.0": _d("6")},
    )
    return StorageView("test", {"app": app, "multi": multi}, blobs, manifests)


def test_untagged_candidates_are_what_nothing_kept_needs() -> None:
    marks = Marks(_view())
    taken = untagged_candidates(marks, ["app", "multi"], older_than=HOUR, now=2 * HOUR)
    assert [(c.repository, c.digest) for c in taken] == [
        ("app", _d("2")),
        ("app", _d("3")),
        ("app", _d("5")),  # the referrer of a manifest that goes, goes
        ("multi", _d("9")),
        ("multi", CHILD),  # the child only a taken index names
    ]
    index = taken[3]
    assert index.is_index and taken[4].parents == (_d("9"),)


def test_the_grace_period_keeps_young_manifests_and_what_they_need() -> None:
    view = _view()
    view.repositories["app"].revisions[_d("2")] = 1.5 * HOUR  # pushed half an hour ago
    marks = Marks(view)
    taken = untagged_candidates(marks, ["app"], older_than=HOUR, now=2 * HOUR)
    assert [c.digest for c in taken] == [_d("3")]  # 2 is young, 5 refers to it
    every = untagged_candidates(marks, ["app"], older_than=0, now=2 * HOUR)
    assert [c.digest for c in every] == [_d("2"), _d("3"), _d("5")]


def test_frees_counts_the_blobs_no_remaining_revision_marks() -> None:
    view = _view()
    marks = Marks(view)
    assert marks.unreferenced() == {STRAY}
    # image 3: its own JSON and config e (e is also the config of the child only index 9
    # names: that one stays here); layer b stays with latest
    assert marks.frees([("app", _d("3"))]) == view.blobs[_d("3")]
    assert marks.frees([("app", _d("2"))]) == view.blobs[_d("2")]  # c and d: multi's 8 has them
    assert marks.frees([("app", _d("2")), ("nope", _d("1"))]) == view.blobs[_d("2")]
    space = untagged_space(marks)
    taken = untagged_candidates(marks, view.repositories, older_than=0, now=0)
    assert space.untagged == marks.frees((c.repository, c.digest) for c in taken)
    assert space.unreferenced == 7 and space.total == view.blob_bytes
