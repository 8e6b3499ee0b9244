"""Digests from a registry: the OCI grammar, verifiable algorithms, and bytes that must match.

A real registry computes its digests itself, so the hostile answers come from the scripted
fake server; the real registry shows the checks cost nothing on honest answers.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from support.fake_server import Reply, json_reply
from support.registry import cache_lines, column, write_cache_lines

from dregtui.core.errors import ProtocolError, RegistryError
from dregtui.core.oci import mediatypes
from dregtui.core.textsafe import UNSAFE
from dregtui.registry.client import RegistryClient

FAST = {"backoff": 0.01, "retries": 1, "timeout": 5}
BODY = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": "x", "digest": "sha256:" + "c" * 64, "size": 2},
        "layers": [],
    }
).encode()
SHA256 = "sha256:" + hashlib.sha256(BODY).hexdigest()
SHA512 = "sha512:" + hashlib.sha512(BODY).hexdigest()
OTHER = "sha256:" + "b" * 64


def _manifest(digest: str, body: bytes = BODY) -> Reply:
    return Reply(
        200, body, {"Docker-Content-Digest": digest, "Content-Type": mediatypes.OCI_MANIFEST}
    )


def _one_tag(fake, digest: str, tag: str = "1.0") -> None:
    fake.route("GET", "/v2/_catalog", json_reply({"repositories": ["app"]}))
    fake.route("GET", "/v2/app/tags/list", json_reply({"tags": [tag]}))
    fake.route("HEAD", f"/v2/app/manifests/{tag}", _manifest(digest))
    fake.route("GET", f"/v2/app/manifests/{tag}", _manifest(digest))


def _assert_one_safe_sentence(r, *needles: str) -> None:
    assert r.code not in (0, 3), r
    assert "Traceback" not in r.err
    assert not UNSAFE & (set(r.out + r.err) - {"\n"}), r
    last = r.err.splitlines()[-1]
    assert last.startswith("dregtui: error: The registry at "), r
    for needle in needles:
        assert needle in last, r


HOSTILE = [
    ("sha256:\x1b]0;owned\x07\x1b[2J" + "a" * 60, "is not a digest"),
    # U+202E in UTF-8, as a header arrives (latin-1): holds the C1 byte \x80
    ("\u202esha256:".encode().decode("latin-1") + "a" * 64, "is not a digest"),
    ("sha256:" + "A" * 64, "is not a valid sha256 digest (64 lowercase hex digits)"),
    ("sha512:", "is not a digest"),
    ("sha512:abc", "is not a valid sha512 digest (128 lowercase hex digits)"),
    ("md5:" + "a" * 32, "uses md5, an algorithm dregtui cannot verify (only sha256 and sha512)"),
]


@pytest.mark.parametrize(("digest", "why"), HOSTILE)
@pytest.mark.parametrize("command", ["query-tags", "dry-run", "remove-tags"])
def test_a_digest_header_outside_the_oci_grammar_is_a_registry_error(
    fake_registry, run_cli, digest, why, command
):
    # before: printed raw to stdout (query-tags, --dry-run) or "skipped ... already gone",
    # exit 0 (remove-tags: the HEAD of the garbage digest answered 404)
    _one_tag(fake_registry, digest)
    args = ["-reg", fake_registry.url, "-c", "None"]
    if command == "query-tags":
        r = run_cli(*args, "query-tags", "-r", "app", "-t", "1.0")
    else:
        extra = ["--dry-run"] if command == "dry-run" else ["--yes"]
        r = run_cli(*args, "remove-tags", "-r", "app", "-t", "1.0", *extra)
    _assert_one_safe_sentence(r, "as the digest of app:1.0, which " + why)
    assert "already gone" not in r.err and r.out == ""
    assert fake_registry.count("DELETE", "/v2/app/manifests/" + digest) == 0


def test_the_bad_digest_is_shown_cleaned_and_shortened(fake_registry):
    _one_tag(fake_registry, "sha256:" + "\x1b[31m" * 100)
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError) as err:
        c.head_manifest("app", "1.0")
    message = str(err.value)
    assert "'sha256:\ufffd\ufffd" in message and "…'" in message and len(message) < 260
    assert "\x1b" not in message


def test_sha512_digests_are_verified_like_sha256(fake_registry):
    fake_registry.route("GET", f"/v2/app/manifests/{SHA512}", _manifest(SHA512))
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.get_manifest("app", SHA512).digest == SHA512
        fake_registry.route("GET", f"/v2/app/manifests/{SHA512}", _manifest(SHA512, b"{}"))
        with pytest.raises(ProtocolError) as err:
            c.get_manifest("app", SHA512)
    assert f"claims {SHA512} for the manifest app@{SHA512}, but its bytes hash to sha512:" in str(
        err.value
    )


def test_a_manifest_fetched_by_digest_must_hash_to_it(fake_registry):
    fake_registry.route("GET", f"/v2/app/manifests/{OTHER}", _manifest(OTHER))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError) as err:
        c.get_manifest("app", OTHER)
    assert str(err.value) == (
        f"The registry at {fake_registry.url} claims {OTHER} for the manifest app@{OTHER}, but "
        f"its bytes hash to {SHA256}; refusing to trust that answer."
    )


def test_a_manifest_fetched_by_tag_must_hash_to_its_digest_header(fake_registry, run_cli):
    # the tag 1.0 answered with 1.1's digest: seen with --use-get-manifest (a GET has bytes)
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": ["app"]}))
    fake_registry.route("GET", "/v2/app/tags/list", json_reply({"tags": ["1.0"]}))
    fake_registry.route("GET", "/v2/app/manifests/1.0", _manifest(OTHER))
    args = ["-reg", fake_registry.url, "-c", "None", "--use-get-manifest"]
    r = run_cli(*args, "query-tags", "-r", "app", "-t", "1.0")
    _assert_one_safe_sentence(r, f"claims {OTHER} for the manifest app:1.0, but its bytes hash")
    with RegistryClient(fake_registry.url, use_get_manifest=True, **FAST) as c:
        with pytest.raises(ProtocolError):
            c.head_manifest("app", "1.0")
        with pytest.raises(ProtocolError):
            c.get_manifest("app", "1.0")
        # an honest header, or none (then the body's sha256 is the digest), is accepted
        fake_registry.route("GET", "/v2/app/manifests/1.0", _manifest(SHA256))
        assert c.head_manifest("app", "1.0").digest == SHA256
        fake_registry.route("GET", "/v2/app/manifests/1.0", Reply(200, BODY))
        assert c.get_manifest("app", "1.0").digest == SHA256


def test_a_head_by_digest_falls_back_to_get_and_checks_the_bytes(fake_registry):
    fake_registry.route("HEAD", f"/v2/app/manifests/{OTHER}", Reply(405))
    fake_registry.route("GET", f"/v2/app/manifests/{OTHER}", Reply(200, BODY))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError):
        c.head_manifest("app", OTHER)


def test_an_unverifiable_reference_is_refused_before_any_request(fake_registry):
    with RegistryClient(fake_registry.url, **FAST) as c:
        for call in (c.head_manifest, c.get_manifest, c.get_blob):
            with pytest.raises(RegistryError) as err:
                call("app", "md5:" + "a" * 32)
            assert "uses md5, an algorithm dregtui cannot verify" in str(err.value)
    assert [m for m, p, h in fake_registry.requests if "/app/" in p] == []


def test_descriptor_digests_in_a_body_follow_the_grammar(fake_registry):
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": "x\x1b[2J", "size": 1}],
        }
    ).encode()
    digest = "sha256:" + hashlib.sha256(index).hexdigest()
    fake_registry.route("GET", f"/v2/app/manifests/{digest}", Reply(200, index))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError) as err:
        c.get_manifest("app", digest)
    assert str(err.value) == (
        f"The manifest {digest} lists 'x\ufffd', which is not a digest (algorithm:hex, e.g. "
        "sha256:<64 hex digits>)."
    )


def test_a_blob_must_hash_to_its_digest(fake_registry):
    fake_registry.route("GET", f"/v2/app/blobs/{OTHER}", Reply(200, b"{}"))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError) as err:
        c.get_blob("app", OTHER)
    assert f"claims {OTHER} for the blob {OTHER}, but its bytes hash to sha256:" in str(err.value)


def test_a_manifest_put_answered_with_another_digest_is_an_error(fake_registry):
    # the untag placeholder's DELETE uses this digest: a wrong one would delete another image
    fake_registry.route(
        "PUT", "/v2/app/manifests/1.0", Reply(201, b"", {"Docker-Content-Digest": OTHER})
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        with pytest.raises(ProtocolError) as err:
            c.put_manifest("app", "1.0", BODY, mediatypes.OCI_MANIFEST)
        assert f"claims {OTHER} for the manifest uploaded as app:1.0" in str(err.value)
        fake_registry.route(
            "PUT", "/v2/app/manifests/1.0", Reply(201, b"", {"Docker-Content-Digest": SHA256})
        )
        assert c.put_manifest("app", "1.0", BODY, mediatypes.OCI_MANIFEST) == SHA256


def test_the_real_registry_passes_every_check(client, pusher):
    image = pusher.image("team/app", "1.0", labels={"k": "v"})
    index, _ = pusher.index("team/app", "multi")
    assert client.head_manifest("team/app", "1.0").digest == image.digest
    assert client.get_manifest("team/app", image.digest).digest == image.digest
    assert client.get_manifest("team/app", "multi").digest == index.digest
    manifest = client.get_manifest("team/app", "1.0")
    assert client.get_config("team/app", manifest).labels == {"k": "v"}


def test_a_poisoned_digest_in_the_cache_is_never_printed(small_registry, run_cli):
    from dregtui.state.cache import cache_name, default_cache_dir

    url = small_registry.url
    first = run_cli("-reg", url, "query-tags", "-r", "team/app-00", "-t", "1.0", "latest")
    assert first.code == 0 and first.out, first
    path = default_cache_dir() / cache_name(url)
    lines = cache_lines(path)
    _, _, names, refs, _ = next(x for x in lines[1:] if x[:2] == ["t", "team/app-00"])
    table = next(x for x in lines[1:] if x[0] == "d")
    at = column(refs)[names.index("1.0")] * 64
    table[2] = table[2][:at] + "\x1b]0;owned\x07" + table[2][at + 11 :]  # same length
    write_cache_lines(path, lines)
    r = run_cli("-reg", url, "query-tags", "-r", "team/app-00", "-t", "1.0", "latest")
    assert r.code == 0, r
    assert r.out == first.out  # rescanned: the registry's digest, not the cache's
    assert "is damaged; rescanning the registry" in r.err and "\x1b" not in r.out + r.err
