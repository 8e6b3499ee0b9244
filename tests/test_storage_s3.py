"""The storage view on S3: a real registry (distribution's s3 driver) on a local S3 server
(moto), read by dregtui through the registry's own config.yml and through ``s3://BUCKET/PREFIX``
with the AWS_* environment; the twin of test_storage.py's filesystem tests. dregtui only lists
and reads: the bucket is the same, key for key and ETag for ETag, after it read it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from typing import Any

import pytest
from support import s3 as s3_fixtures
from support.s3 import ROOT, S3Registry, S3Server, new_bucket, start_s3_server

from dregtui.core.errors import NotFoundError, StorageError
from dregtui.core.stored import StorageView
from dregtui.demo.images import ImagePusher
from dregtui.demo.server import find_registry_binary
from dregtui.ops.scanner import Scanner
from dregtui.ops.storage_inventory import check_registry_pairing, inventory_from_view
from dregtui.registry.client import RegistryClient
from dregtui.storage.layout import read_storage
from dregtui.storage.opening import StorageSpec, from_registry_config, open_storage, parse_storage

s3_server = s3_fixtures.s3_server
s3_registry = s3_fixtures.s3_registry
s3_env = s3_fixtures.s3_env

BLOBS = f"{ROOT}/docker/registry/v2/blobs/"


def _view(spec: StorageSpec) -> StorageView:
    storage = open_storage(spec)
    try:
        return read_storage(storage)
    finally:
        storage.close()


def _one_sentence(spec: StorageSpec, expected: str) -> str:
    with pytest.raises(StorageError, match=expected) as err:
        _view(spec)
    message = str(err.value)
    assert "\n" not in message and message.endswith("."), message
    return message


@pytest.fixture
def lived_in(s3_registry: S3Registry) -> Any:
    """As test_storage.py's: latest pushed three times (two untagged revisions left), an index
    with its untagged platform children, a tag shared across repositories, a signature."""
    with RegistryClient(s3_registry.url) as client:
        pusher = ImagePusher(client)
        for n in range(3):
            last = pusher.image("app", "latest", seed=f"app-{n}")
        pusher.image("app", "1.0", seed="app-1.0")
        pusher.index("multi/tool", "latest")
        pusher.tag("mirror/app", "stable", last)
        pusher.signature("app", last.digest)
    return last


def test_the_bucket_holds_what_the_api_scan_sees_and_more(
    s3_registry: S3Registry, lived_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = s3_registry.objects()
    # the way a user names it: the registry's config.yml (endpoint and keys from it) ...
    by_config = _view(from_registry_config(str(s3_registry.config), env={}))
    # ... and s3://BUCKET/PREFIX with the endpoint and keys the AWS way
    for name, value in s3_registry.server.env.items():
        monkeypatch.setenv(name, value)
    by_url = _view(parse_storage(f"s3://{s3_registry.bucket}/{ROOT}"))
    assert by_config.description == by_url.description == f"s3://{s3_registry.bucket}/{ROOT}"

    with RegistryClient(s3_registry.url) as client:
        api = Scanner(client).scan()
        for view in (by_config, by_url):
            assert not view.warnings, view.warnings
            stored = inventory_from_view(view, s3_registry.url)
            assert stored.repository_names() == api.repository_names()
            assert set(api.repository_names()) == {"app", "mirror/app", "multi/tool"}
            for name in api.repository_names():
                assert _digests(stored, name) == _digests(api, name), name
            app = view.repositories["app"]
            assert len(app.untagged) == 2  # the two earlier pushes of latest
            history = app.history["latest"]
            assert len(history) == 3 and history[-1][0] == lived_in.digest
            assert [when for _, when in history] == sorted(when for _, when in history)
            assert len(view.repositories["multi/tool"].untagged) == 2  # platform children
            assert view.repositories["mirror/app"].tags["stable"] == lived_in.digest
            check_registry_pairing(view, client)  # the right pairing passes

    blob_data = {k: size for k, (size, _) in before.items() if k.startswith(BLOBS)}
    data = {k: size for k, size in blob_data.items() if k.endswith("/data")}
    assert data and by_config.blob_bytes == by_url.blob_bytes == sum(data.values())
    assert len(by_config.blobs) == len(data)
    assert s3_registry.objects() == before  # nothing written, moved or deleted


def test_an_empty_bucket_is_one_sentence(s3_server: S3Server, s3_env: dict[str, str]) -> None:
    bucket = new_bucket(s3_server, "empty")
    message = _one_sentence(parse_storage(f"s3://{bucket}/{ROOT}"), "is empty")
    assert bucket in message
    assert _keys(s3_server, bucket) == []


def test_a_wrong_prefix_names_the_rootdirectory(
    s3_registry: S3Registry, lived_in: Any, s3_env: dict[str, str]
) -> None:
    before = s3_registry.objects()
    _one_sentence(parse_storage(f"s3://{s3_registry.bucket}/elsewhere"), "is empty")
    _one_sentence(parse_storage(f"s3://{s3_registry.bucket}"), "rootdirectory")
    assert s3_registry.objects() == before


def test_a_bucket_that_does_not_exist_is_one_sentence(
    s3_server: S3Server, s3_env: dict[str, str]
) -> None:
    _one_sentence(parse_storage("s3://dregtui-no-such-bucket/registry"), "does not exist")
    names = [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]
    assert "dregtui-no-such-bucket" not in names


def test_a_closed_endpoint_fails_fast_in_one_sentence(s3_env: dict[str, str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = StorageSpec(
        bucket="registry",
        prefix=ROOT,
        s3={"endpoint": f"http://127.0.0.1:{port}", "accesskey": "a", "secretkey": "b"},
    )
    started = time.monotonic()
    _one_sentence(spec, "did not answer")
    assert time.monotonic() - started < 15


def test_a_silent_endpoint_fails_in_bounded_time(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that takes the connection and never answers: each attempt ends at the read
    timeout (one second here; opening.S3_READ_TIMEOUT), then one sentence."""
    from dregtui.storage import opening

    monkeypatch.setattr(opening, "S3_READ_TIMEOUT", 1.0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # the kernel completes the connections; nobody reads them
        spec = StorageSpec(
            bucket="registry",
            prefix=ROOT,
            s3={"endpoint": f"http://127.0.0.1:{sock.getsockname()[1]}"},
        )
        started = time.monotonic()
        _one_sentence(spec, "did not answer")
        assert time.monotonic() - started < 15


def test_a_denied_read_is_one_sentence(tmp_path: Any, s3_env: dict[str, str]) -> None:
    """A server of its own, with moto's IAM enforced: a user without any policy reads a
    bucket that holds a registry's storage."""
    with start_s3_server(tmp_path) as server:
        admin = server.client()
        bucket = new_bucket(server, "denied")
        admin.put_object(Bucket=bucket, Key=f"{BLOBS}sha256/ab/{'ab' * 32}/data", Body=b"x")
        iam = server.iam()
        iam.create_user(UserName="reader")  # no policy: denied everything
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.create_user(UserName="admin")
        iam.put_user_policy(
            UserName="admin",
            PolicyName="s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
        server.enforce_auth()
        admin = server.client(
            accesskey=admin_key["AccessKeyId"], secretkey=admin_key["SecretAccessKey"]
        )
        before = admin.list_objects_v2(Bucket=bucket)["Contents"]
        spec = StorageSpec(
            bucket=bucket,
            prefix=ROOT,
            s3={
                "endpoint": server.endpoint,
                "region": "us-east-1",
                "accesskey": key["AccessKeyId"],
                "secretkey": key["SecretAccessKey"],
            },
        )
        message = _one_sentence(spec, "S3 denied reading")
        assert "s3:ListBucket" in message
        spec = StorageSpec(
            bucket=bucket,
            prefix=ROOT,
            s3={**spec.s3, "secretkey": "not-the-secret"},
        )
        _one_sentence(spec, "S3 denied reading .*SignatureDoesNotMatch")
        assert admin.list_objects_v2(Bucket=bucket)["Contents"] == before


def _keys(server: S3Server, bucket: str) -> list[str]:
    answer = server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in answer.get("Contents", ())]


def _blob_data(registry: S3Registry) -> dict[str, int]:
    """The bucket's blob data objects: key -> bytes."""
    return {
        key: size
        for key, (size, _) in registry.objects().items()
        if key.startswith(BLOBS) and key.endswith("/data")
    }


def _tags(client: RegistryClient) -> dict[tuple[str, str], str]:
    """Every (repository, tag) -> digest, as the API answers now."""
    api = Scanner(client).scan()
    tags = {}
    for name in api.repository_names():
        for tag in api.tags(name):
            info = api.tag_info(name, tag)
            assert info is not None, (name, tag)
            tags[name, tag] = info.digest
    return tags


def _revisions(registry: S3Registry) -> dict[str, set[str]]:
    """Every repository's linked revisions (tagged or not), as the bucket holds them."""
    view = _view(from_registry_config(str(registry.config), env={}))
    return {name: set(repo.revisions) for name, repo in view.repositories.items()}


def test_remove_untagged_on_s3_frees_what_garbage_collect_frees(
    s3_registry: S3Registry, run_cli: Any
) -> None:
    """The S3 twin of test_untagged.py's: remove-untagged with --registry-config takes exactly
    the overwritten revisions, keeps an index's children, a kept image's referrer and its
    cosign-style signature; its figure is what distribution's garbage-collect (registry
    stopped) then deletes from the bucket; du counts the bucket's blob data; restore --last
    gives every tag and every revision back."""
    cli = ["-reg", s3_registry.url, "-c", "None", "--registry-config", str(s3_registry.config)]
    with RegistryClient(s3_registry.url) as client:
        pusher = ImagePusher(client)
        old = [pusher.image("app", "latest", seed=f"app-{n}") for n in range(2)]
        latest = pusher.image("app", "latest", seed="app-2")
        pusher.image("app", "1.0", seed="app-1.0")
        referrer = pusher.referrer(latest, "application/vnd.example.signature")
        signature = pusher.signature("app", latest.digest)
        _, children = pusher.index("multi/tool", "latest", seed="tool")
        taken = {("app", p.digest) for p in old}
        stays = {("app", latest.digest), ("app", referrer.digest), ("app", signature.digest)}
        stays |= {("multi/tool", c.digest) for c in children}
        snapshot, revisions = _tags(client), _revisions(s3_registry)
        # three latest, 1.0, the referrer and its fallback tag's index, the signature
        assert len(revisions["app"]) == 7

        data = _blob_data(s3_registry)
        du = json.loads(run_cli(*cli, "--json", "du").out)
        assert du["exact"] is True and du["total_bytes"] == sum(data.values()) > 0

        argv = (*cli, "--json", "remove-untagged", "--older-than", "0s", "--yes")
        done = run_cli(*argv)
        assert done.code == 0, done
        doc = json.loads(done.out)
        assert _planned(doc) == taken
        figure = doc["plan"]["totals"]["reclaimable_bytes"]
        assert doc["plan"]["totals"]["reclaimable_exact"] is True and figure > 0
        for repository, digest in taken:
            with pytest.raises(NotFoundError):
                client.get_manifest(repository, digest)
        for repository, digest in stays:  # platform manifests, the referrer, the signature
            assert client.get_manifest(repository, digest).digest == digest
        assert _tags(client) == snapshot
        assert _revisions(s3_registry)["app"] == revisions["app"] - {d for _, d in taken}

        restored = run_cli(*cli, "restore", "--last")
        assert restored.code == 0, restored
        for repository, digest in taken:
            assert client.get_manifest(repository, digest).digest == digest
        assert _tags(client) == snapshot and _revisions(s3_registry) == revisions

        again = run_cli(*argv)  # once more, then garbage-collect with the registry stopped
        assert again.code == 0, again
        assert _planned(json.loads(again.out)) == taken
        assert json.loads(again.out)["plan"]["totals"]["reclaimable_bytes"] == figure

    before = _blob_data(s3_registry)
    assert before == data  # deleting a manifest unlinks it; its blob stays until GC
    s3_registry.registry.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_"))}
    gc = subprocess.run(
        [find_registry_binary() or "docker-registry", "garbage-collect", str(s3_registry.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert gc.returncode == 0, gc.stdout[-2000:] + gc.stderr[-2000:]
    after = _blob_data(s3_registry)
    assert set(after) < set(before)
    assert sum(before[k] for k in set(before) - set(after)) == figure
    s3_registry.registry.start()  # what stays still answers, its config and layers too
    with RegistryClient(s3_registry.url) as client:
        for repository, digest in stays:
            manifest = client.get_manifest(repository, digest)
            assert manifest.digest == digest
            for blob in [manifest.config, *manifest.layers]:
                assert blob is not None and client.blob_exists(repository, blob.digest)
        assert _tags(client) == snapshot


def _planned(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["repository"], i["digest"]) for i in doc["plan"]["items"]}


def _digests(inventory, name):  # type: ignore[no-untyped-def]
    """Tag -> digest of one repository; every listed tag has its info."""
    infos = {t: inventory.tag_info(name, t) for t in inventory.tags(name)}
    assert all(info is not None for info in infos.values()), name
    return {t: info.digest for t, info in infos.items()}
