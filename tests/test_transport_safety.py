"""Transport safety: redirects of changes, and credentials only for the registry.

Distribution 2.8 never redirects a DELETE nor sends anyone to another host, so the scripted
fake server plays the registry (and the other host) where needed.
"""

from __future__ import annotations

import pytest
from support.fake_server import FakeRegistry, Reply, error_reply, json_reply

from dregtui.registry import RegistryClient, mediatypes
from dregtui.registry.errors import RegistryError
from dregtui.registry.models import DeleteOutcome

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


def test_a_delete_answered_with_307_follows_it_as_a_delete(fake_registry):
    fake_registry.route("HEAD", PATH, MANIFEST)
    fake_registry.route("DELETE", PATH, Reply(307, b"", {"Location": "/moved" + PATH}))
    fake_registry.route("DELETE", "/moved" + PATH, Reply(202))
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.delete_manifest("app", DIGEST) == DeleteOutcome.DELETED
    assert fake_registry.count("DELETE", "/moved" + PATH) == 1
    # a redirect loop ends, with one sentence
    fake_registry.route("DELETE", PATH, Reply(307, b"", {"Location": PATH}))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RegistryError) as err:
        c.delete_manifest("app", DIGEST)
    assert "redirected a DELETE (307)" in str(err.value)
    assert fake_registry.count("DELETE", PATH) == 1 + 6


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


def test_a_read_timeout_costs_one_attempt_not_two(fake_registry):
    # the lean read path used to hand a timed-out read to the full path, which sent it again
    # at once: every timeout waited twice as long as asked
    fake_registry.route("HEAD", PATH, Reply(200, b"", delay=0.6))
    with RegistryClient(fake_registry.url, retries=0, timeout=0.3) as c:
        with pytest.raises(RegistryError) as err:
            c.head_manifest("app", DIGEST)
        assert "did not answer in time" in str(err.value)
        assert fake_registry.count("HEAD", PATH) == 1
        # with a retry budget, the retry is the second (and last) request
        fake_registry.route("HEAD", PATH, Reply(200, b"", delay=0.6), MANIFEST)
        c.transport.retries, c.transport.backoff = 1, 0.01
        assert c.head_manifest("app", DIGEST).digest == DIGEST
        assert fake_registry.count("HEAD", PATH) == 3


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
