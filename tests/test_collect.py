"""The garbage collector's model (dregtui/core/collect.py) on a storage view built by hand: which
untagged manifests nothing kept needs, and what unlinking them frees."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- the rules at every shape (Hypothesis) ----------------------------------------------------

DIGESTS = [f"sha256:{n:064x}" for n in range(1, 9)]  # manifests
LAYERS = [f"sha256:{n:064x}" for n in range(100, 106)]


@st.composite
def views(draw: st.DrawFn) -> StorageView:
    """Manifests 1-8: an image (some layers, maybe a subject) or an index of later manifests;
    one to three repositories linking some of them, with tags and link times; stray blobs."""
    manifests: dict[str, bytes] = {}
    for n, digest in enumerate(DIGESTS):
        later = DIGESTS[n + 1 :]
        if later and draw(st.booleans()):
            manifests[digest] = _index(*draw(st.lists(st.sampled_from(later), max_size=3)))
        else:
            layers = draw(st.lists(st.sampled_from(LAYERS), min_size=1, max_size=3))
            subject = draw(st.none() | st.sampled_from(DIGESTS))
            doc = json.loads(_image("0"))
            doc["config"]["digest"], doc["layers"] = layers[0], [{"digest": x} for x in layers]
            if subject and subject != digest:
                doc["subject"] = {"digest": subject}
            manifests[digest] = json.dumps(doc).encode()
    blobs = {d: 100 + n for n, d in enumerate(DIGESTS + LAYERS)}
    repositories = {}
    for r in range(draw(st.integers(1, 3))):
        linked = draw(st.lists(st.sampled_from(DIGESTS), min_size=1, unique=True))
        when = {d: draw(st.sampled_from([0.0, 1.5 * HOUR])) for d in linked}
        tags = draw(st.dictionaries(st.sampled_from("abc"), st.sampled_from(linked)))
        repositories[f"r{r}"] = StoredRepository(f"r{r}", revisions=when, tags=tags)
    return StorageView("drawn", repositories, blobs, manifests)


def _marked(view: StorageView, linked: set[tuple[str, str]]) -> set[str]:
    """garbage-collect's marking, written plainly: every linked revision's blob and refs."""
    out = set()
    for _, digest in linked:
        out.add(digest)
        doc = json.loads(view.manifests[digest])
        entries = [doc.get("config"), *doc.get("layers", []), *doc.get("manifests", [])]
        out |= {e["digest"] for e in entries if e}
    return out


@settings(max_examples=300, deadline=None)
@given(views(), st.sampled_from([0.0, HOUR]))
def test_candidates_keep_what_stays_whole_and_free_what_gc_frees(view, grace) -> None:  # type: ignore[no-untyped-def]
    marks = Marks(view)
    taken = untagged_candidates(marks, view.repositories, older_than=grace, now=2 * HOUR)
    gone = {(c.repository, c.digest) for c in taken}
    linked = {(r.name, d) for r in view.repositories.values() for d in r.revisions}
    stays = linked - gone
    for repo, digest in gone:
        stored = view.repositories[repo]
        assert digest not in stored.tags.values()
        assert grace == 0 or 2 * HOUR - stored.revisions[digest] >= grace
    for repo, digest in stays:  # nothing that stays names what goes
        body = json.loads(view.manifests[digest])
        for child in body.get("manifests", []):
            assert (repo, child["digest"]) not in gone
    for repo, digest in gone:  # nothing that goes refers to what stays
        subject = json.loads(view.manifests[digest]).get("subject")
        assert subject is None or (repo, subject["digest"]) not in stays
    freed = _marked(view, linked) - _marked(view, stays)
    assert marks.frees(gone) == sum(view.blobs[b] for b in freed)
    unreferenced = set(view.blobs) - _marked(view, linked)
    assert marks.unreferenced() == unreferenced
