"""Hostile and broken registry behaviour the real registry cannot be made to produce."""

from __future__ import annotations

import hashlib
import re
import time
from email.utils import formatdate

import pytest
from support.fake_server import HTML_PAGE, Reply, error_reply, json_reply

from dregtui.core.errors import (
    AuthenticationError,
    CatalogUnavailableError,
    ProtocolError,
    RateLimitedError,
    RegistryConnectionError,
    RegistryError,
    ServerError,
)
from dregtui.core.oci import mediatypes
from dregtui.registry.auth import parse_challenges
from dregtui.registry.client import RegistryClient
from dregtui.registry.retry import parse_retry_after

FAST = {"backoff": 0.01, "retries": 2, "timeout": 5}


def test_malformed_json_is_a_protocol_error(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/_catalog",
        Reply(200, '{"repositories": ["a",', {"Content-Type": "application/json"}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError) as err:
        c.list_repositories()
    assert "malformed JSON" in str(err.value)
    fake_registry.route("GET", "/v2/x/tags/list", json_reply({"tags": "nope"}))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError):
        c.list_tags("x")


def test_html_error_page_never_reaches_the_message(fake_registry):
    fake_registry.route(
        "GET", "/v2/x/tags/list", Reply(502, HTML_PAGE, {"Content-Type": "text/html"})
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ServerError) as err:
        c.list_tags("x")
    message = str(err.value)
    assert "502" in message and "<" not in message and "nginx" not in message
    assert fake_registry.count("GET", "/v2/x/tags/list") == 3  # 1 + 2 retries


def test_registry_error_codes_are_in_the_message_without_control_characters(fake_registry):
    fake_registry.route(
        "GET", "/v2/x/tags/list", error_reply(400, "NAME_INVALID", "bad\x1b[31m name\nreally")
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(Exception) as err:
        c.list_tags("x")
    message = str(err.value)
    assert "400 NAME_INVALID" in message and "\x1b" not in message and "\n" not in message


def test_429_retry_after_seconds_then_success(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/x/tags/list",
        error_reply(429, "TOOMANYREQUESTS", "slow down", **{"Retry-After": "0.2"}),
        json_reply({"name": "x", "tags": ["1"]}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        start = time.monotonic()
        assert c.list_tags("x") == ["1"]
        assert time.monotonic() - start >= 0.19
    assert fake_registry.count("GET", "/v2/x/tags/list") == 2


def test_429_storm_gives_up_with_one_sentence(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/x/tags/list",
        error_reply(429, "TOOMANYREQUESTS", "slow down", **{"Retry-After": "0"}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RateLimitedError) as err:
        c.list_tags("x")
    assert "429 TOOMANYREQUESTS" in str(err.value)
    assert fake_registry.count("GET", "/v2/x/tags/list") == 3


def test_retry_after_parsing():
    assert parse_retry_after("2", cap=10) == 2
    assert parse_retry_after("120", cap=10) == 10
    assert parse_retry_after("-5", cap=10) == 0
    assert parse_retry_after("soon", cap=10) is None
    assert parse_retry_after(None, cap=10) is None
    later = parse_retry_after(formatdate(time.time() + 5, usegmt=True), cap=30)
    assert later is not None and 3 <= later <= 5
    assert parse_retry_after(formatdate(time.time() - 50, usegmt=True), cap=30) == 0


def test_503_then_success(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/x/tags/list",
        Reply(503, "busy"),
        Reply(503, "busy"),
        json_reply({"name": "x", "tags": ["a", "b", "a"]}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_tags("x") == ["a", "b"]


def test_connection_reset_mid_response_is_retried_for_reads(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/x/tags/list",
        Reply(
            200,
            '{"name": "x", "tags": ["1", "2", "3"]}',
            {"Content-Type": "application/json"},
            action="reset",
        ),
        json_reply({"name": "x", "tags": ["1"]}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_tags("x") == ["1"]
    assert fake_registry.count("GET", "/v2/x/tags/list") == 2


def test_delete_is_not_retried_once_it_may_have_been_applied(fake_registry):
    path = "/v2/x/manifests/sha256:" + "a" * 64
    fake_registry.route("DELETE", path, Reply(200, "", action="reset"))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(RegistryConnectionError):
        c.delete_manifest("x", "sha256:" + "a" * 64, check=False)
    assert fake_registry.count("DELETE", path) == 1
    fake_registry.route("DELETE", path, Reply(503, "busy"))
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ServerError):
        c.delete_manifest("x", "sha256:" + "a" * 64, check=False)
    assert fake_registry.count("DELETE", path) == 2
    # 429 means "not processed": safe to send again
    fake_registry.route(
        "DELETE", path, error_reply(429, "TOOMANYREQUESTS", "x", **{"Retry-After": "0"}), Reply(202)
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.delete_manifest("x", "sha256:" + "a" * 64, check=False) == "deleted"


def test_registry_dies_mid_catalog(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/_catalog",
        json_reply({"repositories": ["a", "b"]}, Link='</v2/_catalog?last=b&n=2>; rel="next"'),
    )
    fake_registry.route("GET", "/v2/_catalog?last=b&n=2", Reply(action="close"))
    with RegistryClient(fake_registry.url, **FAST) as c:
        start = time.monotonic()
        with pytest.raises(RegistryConnectionError) as err:
            c.list_repositories()
        assert time.monotonic() - start < 3
    assert "registry" in str(err.value) and "\n" not in str(err.value)
    # first page, then 1 + 2 retries (the lean path's try counts as the first attempt)
    assert fake_registry.count("GET", "/v2/_catalog") == 1 + 3


def test_catalog_link_with_percent_encoded_last(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/_catalog",
        json_reply(
            {"repositories": ["ns/a", "ns/b"]}, Link='</v2/_catalog?last=ns%2Fb&n=2>; rel="next"'
        ),
    )
    fake_registry.route(
        "GET", "/v2/_catalog?last=ns%2Fb&n=2", json_reply({"repositories": ["ns/c"]})
    )
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_repositories() == ["ns/a", "ns/b", "ns/c"]
    assert any(p == "/v2/_catalog?last=ns%2Fb&n=2" for _, p, _ in fake_registry.requests)


def test_tags_list_follows_link_and_empty_forms(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/p/tags/list",
        json_reply({"tags": ["1"]}, Link='</v2/p/tags/list?last=1&n=1>; rel="next"'),
    )
    fake_registry.route("GET", "/v2/p/tags/list?last=1&n=1", json_reply({"tags": ["2"]}))
    fake_registry.route("GET", "/v2/null/tags/list", json_reply({"name": "null", "tags": None}))
    fake_registry.route("GET", "/v2/missing/tags/list", json_reply({"name": "missing"}))
    fake_registry.route("GET", "/v2/empty/tags/list", json_reply({"name": "empty", "tags": []}))
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_tags("p") == ["1", "2"]
        for name in ("null", "missing", "empty", "unknown"):
            assert c.list_tags(name) == [], name


def test_pagination_loop_is_detected(fake_registry):
    fake_registry.route(
        "GET",
        "/v2/_catalog",
        json_reply({"repositories": ["a"]}, Link='</v2/_catalog?n=1000>; rel="next"'),
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError):
        c.list_repositories()


@pytest.mark.parametrize("status", [401, 403, 404])
def test_catalog_refused_with_working_api(fake_registry, status):
    fake_registry.route("GET", "/v2/_catalog", error_reply(status, "DENIED", "catalog disabled"))
    with (
        RegistryClient(fake_registry.url, **FAST) as c,
        pytest.raises(CatalogUnavailableError) as err,
    ):
        c.list_repositories()
    assert "--repositories" in str(err.value)


def test_head_without_digest_header_falls_back_to_get_and_hashes_raw_bytes(fake_registry):
    raw = b'{"schemaVersion": 2,  "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}'
    fake_registry.route(
        "HEAD", "/v2/x/manifests/1", Reply(200, "", {"Content-Type": mediatypes.OCI_MANIFEST})
    )
    fake_registry.route(
        "GET", "/v2/x/manifests/1", Reply(200, raw, {"Content-Type": mediatypes.OCI_MANIFEST})
    )
    fake_registry.route("HEAD", "/v2/x/manifests/2", Reply(405, ""))
    fake_registry.route("GET", "/v2/x/manifests/2", Reply(200, raw, {}))
    with RegistryClient(fake_registry.url, **FAST) as c:
        ref = c.head_manifest("x", "1")
        assert ref.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
        assert ref.media_type == mediatypes.OCI_MANIFEST
        ref = c.head_manifest("x", "2")
        assert ref.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
        assert ref.media_type == mediatypes.OCI_MANIFEST  # from the body
    accept = next(h for m, p, h in fake_registry.requests if p == "/v2/x/manifests/1")["Accept"]
    assert all(t in accept for t in (mediatypes.OCI_INDEX, mediatypes.DOCKER_MANIFEST_LIST))


def test_manifest_that_does_not_match_its_digest(fake_registry):
    digest = "sha256:" + "b" * 64
    fake_registry.route(
        "GET",
        f"/v2/x/manifests/{digest}",
        Reply(200, b'{"schemaVersion": 2}', {"Content-Type": mediatypes.OCI_MANIFEST}),
    )
    with RegistryClient(fake_registry.url, **FAST) as c, pytest.raises(ProtocolError):
        c.get_manifest("x", digest)


def test_basic_challenge_from_a_proxy(fake_registry):
    def guarded(path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") == "Basic dTpw":  # u:p
            return json_reply({"tags": ["ok"]})
        return error_reply(401, "UNAUTHORIZED", "auth", **{"WWW-Authenticate": 'Basic realm="r"'})

    fake_registry.route("GET", "/v2/x/tags/list", guarded)
    with RegistryClient(fake_registry.url, username="u", password="p", **FAST) as c:
        assert c.list_tags("x") == ["ok"]
        assert c.list_tags("x") == ["ok"]
    # the second call sent credentials up front: 1 challenge + 2 successes
    assert fake_registry.count("GET", "/v2/x/tags/list") == 3
    with (
        RegistryClient(fake_registry.url, username="u", password="bad", **FAST) as c,
        pytest.raises(AuthenticationError) as err,
    ):
        c.list_tags("x")
    assert "bad" not in str(err.value)


def test_parse_challenges():
    (bearer,) = parse_challenges(
        'Bearer realm="https://auth.example/token",service="reg",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    assert bearer.scheme == "bearer" and bearer.realm == "https://auth.example/token"
    assert bearer.params["scope"] == "repository:a/b:pull,push"
    assert bearer.params["error"] == "insufficient_scope"
    basic, digest = parse_challenges('Basic realm="x", Digest realm="y", qop="auth", nonce="n"')
    assert (basic.scheme, basic.realm, digest.scheme, digest.params["nonce"]) == (
        "basic",
        "x",
        "digest",
        "n",
    )
    assert parse_challenges("") == [] and parse_challenges("garbage") == [
        parse_challenges("garbage")[0]
    ]


def test_digest_auth(fake_registry):
    realm, nonce = "registry", "dcd98b7102dd2f0e8b11d0f600bfb0c093"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    def guarded(path: str, headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization", "")
        fields = (
            dict(re.findall(r'(\w+)="?([^",]*)"?', auth[7:])) if auth.startswith("Digest ") else {}
        )
        if fields:
            ha1 = md5(f"u:{realm}:p")
            ha2 = md5(f"GET:{fields['uri']}")
            expected = md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
            if fields.get("response") == expected and fields.get("username") == "u":
                return json_reply({"tags": ["d"]})
        challenge = f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
        return Reply(401, "", {"WWW-Authenticate": challenge})

    fake_registry.route("GET", "/v2/x/tags/list", guarded)
    with RegistryClient(
        fake_registry.url, username="u", password="p", digest_auth=True, **FAST
    ) as c:
        assert c.list_tags("x") == ["d"]
    with (
        RegistryClient(
            fake_registry.url, username="u", password="bad", digest_auth=True, **FAST
        ) as c,
        pytest.raises(AuthenticationError),
    ):
        c.list_tags("x")


def test_bearer_scope_named_by_the_challenge_is_used_and_remembered(fake_registry):
    from urllib.parse import parse_qs, urlsplit

    digest = "sha256:" + "c" * 64
    realm = f"{fake_registry.url}/token"
    challenge = f'Bearer realm="{realm}",service="fake",scope="repository:x:*"'

    def token(path: str, headers: dict[str, str]) -> Reply:
        scopes = parse_qs(urlsplit(path).query).get("scope", [])
        return json_reply({"access_token": "tok-" + "+".join(scopes)})

    def delete(path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") == "Bearer tok-repository:x:*":
            return Reply(202)
        return error_reply(401, "UNAUTHORIZED", "need *", **{"WWW-Authenticate": challenge})

    fake_registry.route("GET", "/token", token)
    fake_registry.route("DELETE", f"/v2/x/manifests/{digest}", delete)
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.delete_manifest("x", digest, check=False) == "deleted"
        assert c.delete_manifest("x", digest, check=False) == "deleted"
    assert fake_registry.count("GET", "/token") == 1
    assert fake_registry.count("DELETE", f"/v2/x/manifests/{digest}") == 3  # 401, 202, 202


def test_hostile_names_are_data_and_escaped_in_paths(fake_registry):
    names = ["ok/app", "we?ird#name", "pct%2Fname", "\x1b[31mred"]
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [*names, 42, None]}))
    fake_registry.route("GET", "/v2/we%3Fird%23name/tags/list", json_reply({"tags": ["t?1", 7]}))
    fake_registry.route("GET", "/v2/pct%252Fname/tags/list", json_reply({"tags": ["p"]}))
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_repositories() == sorted(names)
        assert c.list_tags("we?ird#name") == ["t?1"]
        assert c.list_tags("pct%2Fname") == ["p"]
        fake_registry.route("HEAD", "/v2/ok/app/manifests/t%3F1", Reply(404))
        assert c.head_manifest("ok/app", "t?1") is None
        with pytest.raises(RegistryError):
            c.list_tags("../../etc")


def test_sticky_session_cookie_is_sent_back(fake_registry):
    fake_registry.route(
        "GET", "/v2/a/tags/list", json_reply({"tags": ["1"]}, **{"Set-Cookie": "lb=node-7; Path=/"})
    )
    fake_registry.route("GET", "/v2/b/tags/list", json_reply({"tags": ["2"]}))
    with RegistryClient(fake_registry.url, **FAST) as c:
        assert c.list_tags("a") == ["1"]
        assert c.list_tags("b") == ["2"]
    headers = next(h for m, p, h in fake_registry.requests if p.startswith("/v2/b/tags/list"))
    assert headers.get("Cookie") == "lb=node-7"


def test_a_stalled_read_fails_within_the_timeout_retries_included(fake_registry):
    """``timeout`` bounds the whole request: a stalled answer is not resent past it."""
    fake_registry.route("GET", "/v2/stuck/tags/list", Reply(200, "{}", delay=0.6))
    with RegistryClient(fake_registry.url, retries=3, backoff=0.01, timeout=0.3) as c:
        start = time.monotonic()
        with pytest.raises(RegistryConnectionError) as err:
            c.list_tags("stuck")
        assert time.monotonic() - start < 1.0
    assert fake_registry.count("GET", "/v2/stuck/tags/list") == 1
    assert "did not answer in time" in str(err.value)
