"""RegistryClient against the real registry (open, no auth)."""

from __future__ import annotations

import hashlib

import pytest
import requests
from conftest import BIG_REPOS

from dregtui.core.errors import (
    DeletionDisabledError,
    NotARegistryError,
    NotFoundError,
    ProtocolError,
    RegistryConnectionError,
    RegistryError,
)
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import DeleteOutcome
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient


def test_catalog_follows_link_across_pages(big_registry):
    with RegistryClient(big_registry.url) as c:
        first_page = requests.get(big_registry.url + "/v2/_catalog", timeout=10).json()[
            "repositories"
        ]
        assert len(first_page) == 100
        names = list(c.iter_catalog(page_size=40))
    assert len(names) == BIG_REPOS == len(set(names))
    assert names[0].startswith("ns") and all("/" in n for n in names)


def test_catalog_falls_back_to_a_smaller_page_size(make_registry):
    reg = make_registry(config={"catalog": {"maxentries": 5}})
    with RegistryClient(reg.url) as c:
        pusher = ImagePusher(c)
        base = pusher.image("a/r0", "1")
        for i in range(1, 12):
            pusher.tag(f"a/r{i}", "1", base)
        refused = requests.get(reg.url + "/v2/_catalog?n=1000", timeout=10)
        assert refused.status_code == 400 and "PAGINATION_NUMBER_INVALID" in refused.text
        assert c.list_repositories() == sorted(f"a/r{i}" for i in range(12))


def test_tags_schema2_oci_and_names_with_slashes(client, pusher):
    docker = pusher.image("team/sub/app", "1.0")
    oci = pusher.image("team/sub/app", "2.0", oci=True)
    pusher.tag("team/sub/app", "latest", oci)
    assert sorted(client.list_tags("team/sub/app")) == ["1.0", "2.0", "latest"]
    ref = client.head_manifest("team/sub/app", "1.0")
    assert ref.digest == docker.digest and ref.media_type == mediatypes.DOCKER_MANIFEST
    ref = client.head_manifest("team/sub/app", "latest")
    assert ref.digest == oci.digest and ref.media_type == mediatypes.OCI_MANIFEST
    manifest = client.get_manifest("team/sub/app", oci.digest)
    assert manifest.raw == oci.raw and len(manifest.layers) == 1 and manifest.config is not None
    assert client.head_manifest("team/sub/app", "nope") is None


def test_index_head_gives_the_index_digest_not_a_child(client, pusher):
    index, children = pusher.index("multi/arch", "v1", platforms=("linux/arm64", "linux/amd64"))
    ref = client.head_manifest("multi/arch", "v1")
    assert ref.digest == index.digest
    assert ref.media_type == mediatypes.OCI_INDEX
    assert ref.digest not in {child.digest for child in children}
    manifest = client.get_manifest("multi/arch", "v1")
    assert manifest.is_index and [str(d.platform) for d in manifest.manifests] == [
        "linux/arm64",
        "linux/amd64",
    ]
    config = client.get_config("multi/arch", manifest)
    assert (config.os, config.architecture) == ("linux", "amd64")


def test_get_manifest_mode_hashes_the_raw_body(registry, pusher):
    pushed = pusher.image("get/mode", "1", labels={"a": "b"})
    with RegistryClient(registry.url, use_get_manifest=True) as c:
        ref = c.head_manifest("get/mode", "1")
        assert ref.digest == pushed.digest == "sha256:" + hashlib.sha256(pushed.raw).hexdigest()
        config = c.get_config("get/mode", c.get_manifest("get/mode", "1"))
    assert config.labels == {"a": "b"}


def test_empty_and_unknown_repositories_have_no_tags(client, pusher):
    pushed = pusher.image("gone/app", "1")
    assert client.delete_manifest("gone/app", pushed.digest) == DeleteOutcome.DELETED
    assert client.list_tags("gone/app") == []  # {"tags": null}
    assert client.list_tags("never/was") == []  # 404 NAME_UNKNOWN
    assert "gone/app" in client.list_repositories()


def test_delete_manifest_then_not_found(client, pusher):
    pushed = pusher.image("del/app", "1")
    pusher.tag("del/app", "2", pushed)
    assert client.delete_manifest("del/app", pushed.digest) == DeleteOutcome.DELETED
    assert client.list_tags("del/app") == []
    assert client.delete_manifest("del/app", pushed.digest) == DeleteOutcome.NOT_FOUND
    with pytest.raises(NotFoundError):
        client.get_manifest("del/app", pushed.digest)


def test_delete_tag_is_unsupported_on_distribution_2_8(client, pusher):
    pusher.image("untag/app", "1")
    assert client.delete_tag("untag/app", "1") is False
    assert client.list_tags("untag/app") == ["1"]


def test_deletion_disabled(nodelete_registry):
    with RegistryClient(nodelete_registry.url) as c:
        pushed = ImagePusher(c).image("keep/app", "1")
        with pytest.raises(DeletionDisabledError) as err:
            c.delete_manifest("keep/app", pushed.digest)
        assert c.delete_tag("keep/app", "1") is False
    message = str(err.value)
    assert "storage.delete.enabled" in message and "\n" not in message
    assert err.value.status == 405


def test_ping_open_registry_and_not_a_registry(registry, fake_registry):
    with RegistryClient(registry.url) as c:
        c.ping()
        assert c.api_version == "registry/2.0"
    fake_registry.route("GET", "/v2/", fake_html := _html())
    assert fake_html.status == 200
    with RegistryClient(fake_registry.url) as c, pytest.raises(NotARegistryError) as err:
        c.ping()
    assert "not a Docker registry" in str(err.value) and "<" not in str(err.value)


def test_unreachable_registry_is_one_sentence(registry):
    url = registry.url
    registry.stop()
    with (
        RegistryClient(url, retries=1, backoff=0.01) as c,
        pytest.raises(RegistryConnectionError) as err,
    ):
        c.ping()
    assert "connection was refused" in str(err.value) and "\n" not in str(err.value)


def test_user_and_password_in_the_url_are_never_shown(registry):
    with RegistryClient(registry.url.replace("://", "://joe:s3cret@")) as c:
        assert "s3cret" not in repr(c) and c.base_url == registry.url
        assert c.credentials.username == "joe"
        c.ping()  # an open registry ignores the credentials


def _html():
    from support.fake_server import Reply

    return Reply(200, "<html><body>Welcome to nginx!</body></html>", {"Content-Type": "text/html"})


def test_docker_manifest_list_and_index_without_amd64(client, pusher):
    listed, _ = pusher.index("ml/app", "1", oci=False, platforms=("linux/arm64", "linux/s390x"))
    ref = client.head_manifest("ml/app", "1")
    assert (ref.digest, ref.media_type) == (listed.digest, mediatypes.DOCKER_MANIFEST_LIST)
    config = client.get_config("ml/app", client.get_manifest("ml/app", "1"))
    assert (config.os, config.architecture) == ("linux", "arm64")  # no amd64: the first child


def test_put_manifest_by_digest_and_signature_tags(client, pusher):
    pushed = pusher.image("sig/app", "1")
    sig = pusher.signature("sig/app", pushed.digest)
    assert sig.tag == pushed.digest.replace(":", "-") + ".sig"
    assert sorted(client.list_tags("sig/app")) == sorted(["1", sig.tag])
    again = client.put_manifest("sig/app", pushed.digest, pushed.raw, pushed.media_type)
    assert again == pushed.digest


def test_registry_stopped_mid_catalog(registry, pusher):
    base = pusher.image("die/r0", "1")
    for i in range(1, 5):
        pusher.tag(f"die/r{i}", "1", base)
    with RegistryClient(registry.url, retries=1, backoff=0.01) as c:
        names = c.iter_catalog(page_size=2)
        assert [next(names), next(names)] == ["die/r0", "die/r1"]
        registry.stop()
        with pytest.raises(RegistryConnectionError) as err:
            list(names)
    assert "connection was refused" in str(err.value)


def test_a_blob_digest_is_never_deleted_as_a_manifest(client, pusher):
    import json

    pushed = pusher.image("blob/app", "1")
    config_digest = json.loads(pushed.raw)["config"]["digest"]
    with pytest.raises(ProtocolError) as err:
        client.delete_manifest("blob/app", config_digest)
    assert "Refusing to delete" in str(err.value)
    assert client.blob_exists("blob/app", config_digest)
    with pytest.raises(RegistryError):
        client.delete_manifest("blob/app", "1")  # a tag is not a digest
    assert client.delete_manifest("blob/app", "sha256:" + "0" * 64) == DeleteOutcome.NOT_FOUND
    assert client.get_config("blob/app", client.get_manifest("blob/app", "1")).os == "linux"
