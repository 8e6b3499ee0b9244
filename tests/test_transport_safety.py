"""Transport safety: redirects of changes, and credentials only for the registry.

Distribution 2.8 never redirects a DELETE nor sends anyone to another host, so the scripted
fake server plays the registry (and the other host) where needed.
"""

from __future__ import annotations

import time

import pytest
from support.fake_server import FakeRegistry, Reply, error_reply, json_reply

from dregtui.core.errors import RegistryError
from dregtui.core.oci import mediatypes
from dregtui.registry.client import RegistryClient

FAST = {"backoff": 0.01, "retries": 1, "timeout": 5}
DIGEST = "sha256:" + "ab" * 32
PATH = f"/v2/app/manifests/{DIGEST}"
MANIFEST = Reply(
    200, b"{}", {"Docker-Content-Digest": DIGEST, "Content-Type": mediatypes.OCI_MANIFEST}
)


def test_a_delete_answered_with_302_is_an_error_never_a_get(fake_registry):
    # requests would turn the DELETE into a GET whose 200 read as "deleted"
    fake_registry.route("HEAD", PATH, MANIFEST)
    fake_registry.route("GET", PATH, MANIFEST)
    fake_registry.route("DELETE", PATH, Reply(302, b"", {"Location": PATH}))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RegistryError) as err:
        c.delete_manifest("app", DIGEST)
    message = str(err.value)
    assert "redirected a DELETE (302)" in message and "-reg" in message
    assert fake_registry.count("DELETE", PATH) == 1 and fake_registry.count("GET", PATH) == 0
    fake_registry.route("PUT", "/v2/app/manifests/1.0", Reply(301, b"", {"Location": "/x"}))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RegistryError) as err:
        c.put_manifest("app", "1.0", b"{}", mediatypes.OCI_MANIFEST)
    assert "redirected a PUT (301)" in str(err.value)


def test_a_delete_answered_with_307_is_an_error_naming_where_it_went(fake_registry):
    # it used to be followed: to another origin, "deleted", exit 0, the manifest still there
    other = FakeRegistry().start()
    try:
        other.route("DELETE", PATH, Reply(202))
        fake_registry.route("HEAD", PATH, MANIFEST)
        fake_registry.route("DELETE", PATH, Reply(307, b"", {"Location": other.url + PATH}))
        with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RegistryError) as err:
            c.delete_manifest("app", DIGEST)
        message = str(err.value)
        assert "redirected a DELETE (307)" in message and other.url in message
        assert "\n" not in message
        assert fake_registry.count("DELETE", PATH) == 1 and not other.requests
    finally:
        other.stop()


def test_credentials_never_go_to_another_host_a_redirect_names(fake_registry):
    other = FakeRegistry().start()
    try:
        challenge = {"WWW-Authenticate": 'Basic realm="elsewhere"'}
        other.route("GET", "/blob", error_reply(401, "UNAUTHORIZED", "who are you", **challenge))

        def blob(path: str, headers: dict[str, str]) -> Reply:
            if "Authorization" not in headers:
                registry_challenge = {"WWW-Authenticate": 'Basic realm="registry"'}
                return error_reply(401, "UNAUTHORIZED", "log in", **registry_challenge)
            return Reply(307, b"", {"Location": f"{other.url}/blob"})

        fake_registry.route("GET", f"/v2/app/blobs/{DIGEST}", blob)
        with (
            RegistryClient(fake_registry.url, username="alice", password="s3cret", **FAST) as c,
            pytest.raises(RegistryError),
        ):
            c.get_blob("app", DIGEST)
        assert any("Authorization" in h for m, p, h in fake_registry.requests if "blobs" in p)
        assert other.requests and all("Authorization" not in h for _, _, h in other.requests)
    finally:
        other.stop()


def test_a_challenge_from_a_redirect_target_names_the_host_that_asked(fake_registry):
    """It used to read "the registry rejected the credentials": the registry never did."""
    other = FakeRegistry().start()
    try:
        basic = {"WWW-Authenticate": 'Basic realm="storage"'}
        other.route("GET", "/blob", error_reply(401, "UNAUTHORIZED", "who are you", **basic))
        fake_registry.route(
            "GET", f"/v2/app/blobs/{DIGEST}", Reply(307, b"", {"Location": f"{other.url}/blob"})
        )
        client = RegistryClient(fake_registry.url, username="alice", password="s3cret", **FAST)
        with client as c, pytest.raises(RegistryError) as err:
            c.get_blob("app", DIGEST)
        message = str(err.value)
        assert message.startswith(f"{other.url}, where the registry at {fake_registry.url}")
        assert "asks for credentials" in message and "rejected" not in message
        assert all("Authorization" not in h for _, _, h in other.requests)
    finally:
        other.stop()


def test_a_read_timeout_costs_one_attempt_not_two(fake_registry):
    # the lean read path used to hand a timed-out read to the full path, which sent it again
    # at once: every timeout waited twice as long as asked
    fake_registry.route("HEAD", PATH, Reply(200, b"", delay=0.6))
    with RegistryClient(fake_registry.url, retries=0, timeout=0.3) as c:
        with pytest.raises(RegistryError) as err:
            c.head_manifest("app", DIGEST)
        assert "did not answer in time" in str(err.value)
        assert fake_registry.count("HEAD", PATH) == 1
        # a retry budget does not stretch the deadline: still one request, still in time
        c.transport.retries, c.transport.backoff = 2, 0.01
        start = time.monotonic()
        with pytest.raises(RegistryError):
            c.head_manifest("app", DIGEST)
        assert time.monotonic() - start < 1.0
        assert fake_registry.count("HEAD", PATH) == 2


def test_digest_credentials_never_answer_another_hosts_challenge(fake_registry):
    other = FakeRegistry().start()
    digest = {"WWW-Authenticate": 'Digest realm="x", nonce="abc", qop="auth"'}
    try:
        other.route("GET", "/blob", error_reply(401, "UNAUTHORIZED", "who are you", **digest))

        def blob(path: str, headers: dict[str, str]) -> Reply:
            if "Authorization" not in headers:
                return error_reply(401, "UNAUTHORIZED", "log in", **digest)
            return Reply(307, b"", {"Location": f"{other.url}/blob"})

        fake_registry.route("GET", f"/v2/app/blobs/{DIGEST}", blob)
        with (
            RegistryClient(
                fake_registry.url, username="alice", password="s3cret", digest_auth=True, **FAST
            ) as c,
            pytest.raises(RegistryError),
        ):
            c.get_blob("app", DIGEST)
        sent = [h.get("Authorization", "") for m, p, h in fake_registry.requests if "blobs" in p]
        assert any(a.startswith("Digest ") for a in sent)
        assert other.requests and all("Authorization" not in h for _, _, h in other.requests)
    finally:
        other.stop()


def test_an_oauth_token_post_that_redirects_falls_back_to_get(fake_registry):
    from dregtui.registry.credentials import Credentials

    realm = f"{fake_registry.url}/token"
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'}

    def api(path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") == "Bearer from-get":
            return json_reply({})
        return error_reply(401, "UNAUTHORIZED", "token please", **challenge)

    fake_registry.route("GET", "/v2/", api)
    fake_registry.route("POST", "/token", Reply(302, b"", {"Location": "/token"}))
    fake_registry.route("GET", "/token", json_reply({"token": "from-get"}))
    creds = Credentials(identity_token="idt", source="test")
    with RegistryClient(fake_registry.url, credentials=creds, **FAST) as c:
        c.ping()
    assert fake_registry.count("POST", "/token") == 1 and fake_registry.count("GET", "/token") == 1


@pytest.mark.parametrize("action", ["trickle", "stall"])
def test_a_body_that_trickles_or_stalls_ends_at_the_deadline(fake_registry, action):
    """The read timeout used to reset with every byte: one byte a second never timed out."""
    fake_registry.route("GET", "/v2/slow/tags/list", Reply(200, action=action))
    with RegistryClient(fake_registry.url, retries=2, backoff=0.01, timeout=1.0) as c:
        start = time.monotonic()
        with pytest.raises(RegistryError) as err:
            c.list_tags("slow")
        assert time.monotonic() - start < 3.0
    assert "did not answer in time" in str(err.value) and "\n" not in str(err.value)


def test_the_default_deadline_is_under_30_seconds() -> None:
    from dregtui.registry.client import DEFAULT_TIMEOUT
    from dregtui.state.config import Settings

    assert DEFAULT_TIMEOUT < 30 and Settings().timeout < 30


@pytest.mark.parametrize(
    ("path", "call", "limit"),
    [
        ("/v2/_catalog?n=1000", lambda c: c.list_repositories(), "4 MB"),
        ("/v2/app/tags/list", lambda c: c.list_tags("app"), "64 MB"),
        (f"/v2/app/manifests/{DIGEST}", lambda c: c.get_manifest("app", DIGEST), "4 MB"),
    ],
)
def test_an_endless_body_is_cut_at_its_size_limit(fake_registry, path, call, limit):
    """Catalog pages and manifests: read while streaming, never past a few MB; a tag list
    page (distribution 2.8 sends every tag at once) never past 64 MB."""
    fake_registry.route("GET", path, Reply(200, action="endless"))
    with RegistryClient(fake_registry.url, retries=0, timeout=10) as c:
        start = time.monotonic()
        with pytest.raises(RegistryError) as err:
            call(c)
        assert time.monotonic() - start < 5.0
    assert f"larger than {limit}" in str(err.value) and "not reading it" in str(err.value)


def test_an_oversized_manifest_is_refused_before_it_is_read_whole(fake_registry):
    body = b'{"schemaVersion":2,"layers":[' + b" " * (6 * 1024 * 1024) + b"]}"
    headers = {"Content-Type": mediatypes.OCI_MANIFEST}
    fake_registry.route("GET", "/v2/app/manifests/1.0", Reply(200, body, headers))
    client = RegistryClient(fake_registry.url, retries=0, use_get_manifest=True)
    with client as c, pytest.raises(RegistryError) as err:
        c.head_manifest("app", "1.0")
    assert "larger than 4 MB" in str(err.value)


def test_timeout_option_bounds_a_stalled_registry(fake_registry, run_cli):
    fake_registry.route("GET", "/v2/_catalog?n=1000", Reply(200, action="stall"))
    start = time.monotonic()
    r = run_cli("-reg", fake_registry.url, "-c", "None", "--timeout", "1", "list-repo-names")
    assert time.monotonic() - start < 3.0
    assert (
        r.code == 1 and r.err.startswith("dregtui: error: ") and "did not answer in time" in r.err
    )
    r = run_cli("-reg", fake_registry.url, "--timeout", "nan", "list-repo-names")
    assert r.code == 1 and "argument --timeout: must be more than 0" in r.err


def test_a_delete_answered_202_that_deleted_nothing_is_a_failure(fake_registry, run_cli):
    """A registry (or a proxy in front of it) that says 202 and keeps the manifest: the HEAD
    after the DELETE shows it is still there, so nothing is reported deleted; the journal keeps
    the record of a DELETE that was sent (restoring a manifest still there changes nothing)."""
    import hashlib
    import json as jsonlib

    from dregtui.state.journal import Journal

    body = jsonlib.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "layers": []}
    ).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    headers = {"Docker-Content-Digest": digest, "Content-Type": mediatypes.OCI_MANIFEST}
    fake_registry.route("GET", "/v2/_catalog", Reply(200, b'{"repositories":["app"]}'))
    fake_registry.route("GET", "/v2/app/tags/list", Reply(200, b'{"name":"app","tags":["1.0"]}'))
    for ref in ("1.0", digest):
        fake_registry.route("GET", f"/v2/app/manifests/{ref}", Reply(200, body, headers))
    fake_registry.route("DELETE", f"/v2/app/manifests/{digest}", Reply(202, b""))
    r = run_cli(
        "-reg", fake_registry.url, "-c", "None", "remove-tags", "-r", "app", "-t", "1.0", "--yes"
    )
    assert r.code == 1, r
    assert "still resolves (its journal record is kept)" in r.err
    assert "deleted  " not in r.out + r.err
    assert fake_registry.count("DELETE", f"/v2/app/manifests/{digest}") == 1
    (record,) = Journal().records()
    assert record.digest == digest and record.tags == ("1.0",)


def test_a_head_that_answers_the_wrong_digest_is_not_reported_deleted(fake_registry, run_cli):
    """HEAD app:1.0 answers 1.1's digest (1.0 really is another image). The DELETE of 1.1's
    digest leaves 1.0 in place: it is not reported deleted, and restore would not push 1.1's
    manifest under 1.0 (the journal holds 1.1 only)."""
    import hashlib
    import json as jsonlib

    from dregtui.state.journal import Journal

    def manifest(n: int) -> tuple[bytes, str]:
        doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "layers": [], "n": n}
        body = jsonlib.dumps(doc).encode()
        return body, "sha256:" + hashlib.sha256(body).hexdigest()

    b_body, b = manifest(2)
    headers = {"Docker-Content-Digest": b, "Content-Type": mediatypes.OCI_MANIFEST}
    gone = Reply(404, b"", {})
    fake_registry.route("GET", "/v2/_catalog", Reply(200, b'{"repositories":["app"]}'))
    fake_registry.route("GET", "/v2/app/tags/list", Reply(200, b'{"tags":["1.0","1.1"]}'))
    fake_registry.route("HEAD", "/v2/app/manifests/1.0", Reply(200, b"", headers))  # lies
    fake_registry.route("GET", "/v2/app/manifests/1.0", Reply(200, b_body, headers))
    # 1.1 and the digest resolve until the DELETE, then are gone
    for ref in ("1.1", b):
        fake_registry.route("HEAD", f"/v2/app/manifests/{ref}", Reply(200, b_body, headers))
        fake_registry.route("GET", f"/v2/app/manifests/{ref}", Reply(200, b_body, headers))

    def delete(path: str, h: dict[str, str]) -> Reply:
        for ref in ("1.1", b):
            fake_registry.route("HEAD", f"/v2/app/manifests/{ref}", gone)
        return Reply(202, b"")

    fake_registry.route("DELETE", f"/v2/app/manifests/{b}", delete)
    r = run_cli(
        "-reg", fake_registry.url, "-c", "None", "remove-tags", "-r", "app", "-t", "1.0", "1.1",
        "--yes",
    )  # fmt: skip
    assert r.code == 1, r
    assert "1.0 still resolve" in r.err and "answered a wrong digest" in r.err
    (record,) = Journal().records()
    assert record.tags == ("1.1",)
