"""The storage view: a registry's storage read whole (filesystem here; S3 in test_storage_s3.py)
gives the same repositories, tags and digests as a scan through the API, and what the API cannot
list: untagged manifests, each tag's history, every blob's size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dregtui.core.errors import StorageError
from dregtui.ops.scanner import Scanner
from dregtui.ops.storage_inventory import check_registry_pairing, inventory_from_view
from dregtui.storage.layout import read_storage
from dregtui.storage.opening import from_registry_config, open_storage, parse_storage


def _view(storage_root: Path):
    storage = open_storage(parse_storage(str(storage_root)))
    try:
        return read_storage(storage)
    finally:
        storage.close()


@pytest.fixture
def lived_in(registry, pusher):
    """latest pushed three times (two untagged revisions left), an index with its untagged
    platform children, a tag shared across repositories, a cosign-style signature."""
    for n in range(3):
        last = pusher.image("app", "latest", seed=f"app-{n}")
    pusher.image("app", "1.0", seed="app-1.0")
    pusher.index("multi/tool", "latest")
    pusher.tag("mirror/app", "stable", last)
    pusher.signature("app", last.digest)
    return last


def test_the_storage_holds_what_the_api_scan_sees_and_more(registry, client, lived_in):
    view = _view(registry.storage)
    api = Scanner(client).scan()
    stored = inventory_from_view(view, registry.url)
    assert stored.repository_names() == api.repository_names()
    for name in api.repository_names():
        api_tags = {t: api.tag_info(name, t).digest for t in api.tags(name)}
        storage_tags = {t: stored.tag_info(name, t).digest for t in stored.tags(name)}
        assert storage_tags == api_tags, name
    app = view.repositories["app"]
    assert len(app.untagged) == 2  # the two earlier pushes of latest
    assert [d for d, _ in app.history["latest"]][-1] == lived_in.digest
    assert len(app.history["latest"]) == 3
    multi = view.repositories["multi/tool"]
    assert len(multi.untagged) == 2  # the platform children: untagged, yet needed
    on_disk = sum(
        f.stat().st_size for f in (registry.storage / "docker/registry/v2/blobs").rglob("data")
    )
    assert view.blob_bytes == on_disk
    check_registry_pairing(view, client)  # the right pairing passes


def test_a_storage_of_another_registry_is_caught(make_registry, registry, pusher, lived_in):
    other = make_registry()
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    with RegistryClient(other.url) as c:
        ImagePusher(c).image("app", "latest", seed="something else")
        with pytest.raises(StorageError, match="not this registry's storage"):
            check_registry_pairing(_view(registry.storage), c)


@pytest.mark.parametrize(
    "where, expected",
    [
        ("missing", "does not exist"),
        ("parent", "is not a registry's storage root, but"),
        ("child", "is inside a registry's storage, not its root: give"),
        ("empty", "has no docker/registry/v2 folder"),
    ],
)
def test_a_storage_path_that_is_not_a_registry_root_is_one_sentence(
    registry, lived_in, tmp_path, where, expected
):
    path = {
        "missing": tmp_path / "nope",
        "parent": registry.storage.parent,
        "child": registry.storage / "docker/registry/v2/repositories",
        "empty": tmp_path,
    }[where]
    with pytest.raises(StorageError, match=expected) as err:
        open_storage(parse_storage(str(path)))
    assert "\n" not in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_storage_says_who_owns_it(registry, lived_in):
    v2 = registry.storage / "docker/registry/v2"
    v2.chmod(0)
    try:
        with pytest.raises(StorageError, match="belong to root or to the container's user"):
            open_storage(parse_storage(str(registry.storage)))
    finally:
        v2.chmod(0o755)


def test_the_storage_is_named_by_the_registrys_own_config(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n"
        "  delete:\n    enabled: true\n"
    )
    assert from_registry_config(str(config), env={}).path == "/srv/registry"
    env = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data"}
    assert from_registry_config(str(config), env=env).path == "/data"
    config.write_text(
        "storage:\n  s3:\n    bucket: reg\n    region: us-east-1\n"
        "    regionendpoint: http://127.0.0.1:9000\n    rootdirectory: /registry\n"
        "    accesskey: AK\n    secretkey: SK\n"
    )
    spec = from_registry_config(str(config), env={"REGISTRY_STORAGE_S3_BUCKET": "other"})
    assert (spec.bucket, spec.prefix, spec.description) == (
        "other",
        "registry",
        "s3://other/registry",
    )
    assert spec.s3["endpoint"] == "http://127.0.0.1:9000" and spec.s3["accesskey"] == "AK"


MAPS_AFTER_READING = """
import sys
from dregtui.storage.backends import FileStorage
from dregtui.storage.layout import MAX_MANIFEST

def maps():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)

storage = FileStorage(__import__("pathlib").Path(sys.argv[1]))
keys = sys.argv[2:]
storage.read(keys[:20], MAX_MANIFEST)  # the reader threads started
before = maps()
bodies = storage.read(keys, MAX_MANIFEST)
print(maps() - before, sum(len(b) for b in bodies))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="counts Linux's memory maps")
def test_reading_many_small_files_leaves_no_memory_mapping_behind(tmp_path):
    """Each small file read into a buffer of the limit (4 MiB) used to leave a memory mapping
    (glibc shrinks such a buffer in place): past vm.max_map_count (65,530 manifests) the process
    could allocate nothing more. In a fresh interpreter, as glibc's thresholds depend on what
    the process allocated before."""
    import subprocess
    import sys

    keys = []
    for n in range(2000):
        key = f"docker/registry/v2/blobs/sha256/{n % 256:02x}/{n:064x}/data"
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"{}" * 300)
        keys.append(key)
    done = subprocess.run(
        [sys.executable, "-c", MAPS_AFTER_READING, str(tmp_path), *keys],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    new_maps, read = map(int, done.stdout.split())
    assert read == 2000 * 600
    assert new_maps < 100


def test_a_file_is_read_whole_up_to_the_limit_and_refused_past_it(tmp_path):
    from dregtui.storage.backends import FileStorage

    for size in (0, 1, 16, 17):
        (tmp_path / f"f{size}").write_bytes(b"x" * size)
    storage = FileStorage(tmp_path)
    try:
        assert storage.read(["f0", "f1", "f16", "gone"], 16) == [b"", b"x", b"x" * 16, None]
        with pytest.raises(StorageError, match="f17 is larger than 16 bytes; not reading it"):
            storage.read(["f17"], 16)
    finally:
        storage.close()


def test_the_filesystem_read_opens_few_folders_and_sees_what_a_full_walk_sees(tmp_path: Path):
    """FileStorage.layout_files (a stat per link, a listing per folder of links) gives the
    same view as the generic walk of every folder (files(), as S3 lists), strays, symbolic
    links and deleted links included."""
    from dregtui.storage.backends import FileStorage

    v2 = tmp_path / "docker/registry/v2"

    def write(key: str, text: str = "") -> Path:
        path = v2 / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    digests = [f"{n:064x}" for n in range(1, 6)]
    for hex_ in digests:
        write(f"blobs/sha256/{hex_[:2]}/{hex_}/data", "{}")
    repo = "repositories/team/app"
    for hex_ in digests[:4]:
        write(f"{repo}/_manifests/revisions/sha256/{hex_}/link", f"sha256:{hex_}")
        write(f"{repo}/_layers/sha256/{hex_}/link", f"sha256:{hex_}")
    (v2 / f"{repo}/_manifests/revisions/sha256/{digests[4]}").mkdir()  # deleted: no link
    write(f"{repo}/_manifests/revisions/sha256/not-hex/link", "x")
    write(f"{repo}/_manifests/revisions/sha256/stray", "x")
    write(f"{repo}/_uploads/x/data", "x")
    for tag, hexes in {"one": digests[:1], "two": digests[1:3], "gone": digests[3:4]}.items():
        for n, hex_ in enumerate(hexes):
            link = write(f"{repo}/_manifests/tags/{tag}/index/sha256/{hex_}/link", "sha256:" + hex_)
            os.utime(link, (1000 + n, 1000 + n))
        if tag != "gone":
            write(f"{repo}/_manifests/tags/{tag}/current/link", f"sha256:{hexes[-1]}")
    write(f"{repo}/_manifests/tags/one/index/sha256/{digests[2]}/link.tmp", "x")
    # symbolic links are not followed: neither a link file nor a folder
    (v2 / f"{repo}/_manifests/tags/two/index/sha256/{digests[3]}").mkdir()
    os.symlink(
        v2 / f"{repo}/_manifests/revisions/sha256/{digests[3]}/link",
        v2 / f"{repo}/_manifests/tags/two/index/sha256/{digests[3]}/link",
    )
    os.symlink(v2 / f"{repo}/_manifests/tags/one", v2 / f"{repo}/_manifests/tags/linked")
    (v2 / f"{repo}/_manifests/tags/odd/current").mkdir(parents=True)
    os.symlink(
        v2 / f"{repo}/_manifests/tags/one/current/link", v2 / f"{repo}/_manifests/tags/odd/cur"
    )
    write("repositories/empty/_manifests/tags/x", "x")

    class Walked:  # the generic interface only, as S3Storage offers it
        def __init__(self, inner: FileStorage) -> None:
            self.description = inner.description
            self.files, self.folders, self.read = inner.files, inner.folders, inner.read

    storage = FileStorage(tmp_path)
    try:
        assert hasattr(storage, "layout_files")
        fast, walked = read_storage(storage), read_storage(Walked(storage))  # type: ignore[arg-type]
    finally:
        storage.close()
    assert fast == walked
    app = fast.repositories["team/app"]
    assert sorted(app.revisions) == ["sha256:" + h for h in digests[:4]]
    assert app.tags == {"one": "sha256:" + digests[0], "two": "sha256:" + digests[2]}
    assert app.history["two"] == [("sha256:" + digests[1], 1000), ("sha256:" + digests[2], 1001)]
    assert app.history["gone"] == [("sha256:" + digests[3], 1000)]
    assert len(app.layers) == 4
    assert fast.repositories["empty"].revisions == {}
