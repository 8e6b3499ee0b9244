"""Issue 21: "nothing is deleted that you did not see, and what is deleted can be restored",
against a hostile world on the wire.

Cases 1-3 run the CLI against the real registry behind a meddling proxy
(tests/support/meddling_proxy.py) that duplicates one answer, or slips in one unsolicited
``200``, or moves a tag while the run is under way; cases 4-6 against the scripted fake
(tests/support/fake_server.py): a token with a line break in it, answers with bare-LF line
ends, a ``Content-Length`` of ``²``.

The first three assert the promise itself, comparing what the registry and the journal hold
afterwards with a snapshot taken before, not one exact outcome (a safe skip and a correct
deletion are both right):

(a) every tag or manifest that is gone was journaled, and ``restore --last`` brings back exactly
    the snapshot; (b) nothing the user did not select is gone, and no tag points anywhere new;
(c) the CLI reports no item deleted that still resolves, and no item "nothing was deleted" (or
    skipped) that is gone; the exit code is non-zero when an item was skipped or failed.

Each runs with the default client and with ``DREGTUI_DIRECT=0`` (the ordinary client).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.fake_server import (
    FakeRegistry,
    Reply,
    error_reply,
    json_reply,
    manifest_reply,
    serve_manifest,
)
from support.killable import snapshot
from support.meddling_proxy import MeddlingProxy

from dregtui.core.oci import mediatypes
from dregtui.demo.images import ImagePusher, Pushed
from dregtui.demo.server import LocalRegistry
from dregtui.registry.client import RegistryClient
from dregtui.state.journal import Journal

pytestmark = pytest.mark.reliability

REPO = "app"
PLANNED = "1.0"  # the tag every case selects
FILLER = [f"1.{i:02d}" for i in range(1, 16)]  # other images, sorted between 1.0 and 2.0

both_clients = pytest.mark.parametrize("direct", ["1", "0"], ids=["default", "DREGTUI_DIRECT=0"])


@pytest.fixture
def proxy(registry: LocalRegistry) -> Iterator[MeddlingProxy]:
    with MeddlingProxy(registry.url) as meddling:
        yield meddling


def _is_manifest(reference: str) -> Callable[[str], bool]:
    return lambda target: target.split("?")[0] == f"/v2/{REPO}/manifests/{reference}"


def _is_tag_list(target: str) -> bool:
    return target.split("?")[0] == f"/v2/{REPO}/tags/list"


def _scan(run_cli: Callable[..., Any], url: str, cache: Path) -> None:
    """The run before: scans and writes the cache the removal then plans from."""
    r = run_cli("-reg", url, "-c", str(cache), "list-tag-names")
    assert r.code == 0, r


def _remove(run_cli: Callable[..., Any], url: str, cache: Path, *extra: str) -> tuple[Any, dict]:
    r = run_cli(
        "-reg", url, "-c", str(cache), "--json", "remove-tags", "-r", REPO, "-t", PLANNED,
        *extra, "--yes",
    )  # fmt: skip
    try:
        doc = json.loads(r.out)
    except ValueError:
        doc = {}
    return r, doc


def _broken_promises(
    registry_url: str,
    baseline: dict[str, str],
    r: Any,
    doc: dict[str, Any],
    selected: set[str],
) -> list[str]:
    """What of (a)-(c) does not hold after a removal (``baseline``: REPO's tags -> digests
    right before it, changes by others included)."""
    problems: list[str] = []
    after = snapshot(registry_url).get(REPO, {})
    records = [rec for rec in Journal().records() if rec.repository == REPO]
    journaled = {(rec.digest, tag) for rec in records for tag in rec.tags}
    journaled_manifests = {rec.digest for rec in records if rec.kind == "delete"}
    with RegistryClient(registry_url) as c:
        present = {d: c.head_manifest(REPO, d) is not None for d in set(baseline.values())}
    for tag, digest in sorted(baseline.items()):
        if after.get(tag) == digest:
            continue
        if (digest, tag) not in journaled:
            problems.append(f"(a) {REPO}:{tag} ({digest}) is gone and the journal does not hold it")
        if tag not in selected:
            problems.append(f"(b) {REPO}:{tag} was not selected, and it is gone")
    for tag, digest in sorted(after.items()):
        if baseline.get(tag) != digest:
            problems.append(f"(b) {REPO}:{tag} points at {digest} now, not {baseline.get(tag)}")
    for digest, there in sorted(present.items()):
        if not there and digest not in journaled_manifests:
            problems.append(f"(a) {REPO}@{digest} is gone and no journal record holds it")
    if "Traceback" in r.err or "unexpected error" in r.err:
        problems.append("(c) the run ended in an unexpected error")
    results = (doc.get("result") or {}).get("results")
    if results is None:
        problems.append("(c) the run printed no result")
        return problems
    reported = {res["digest"]: res for res in results}
    for digest, res in sorted(reported.items()):
        status, message = res["status"], res["message"]
        if status == "deleted" and present.get(digest):
            problems.append(f"(c) {digest} is reported deleted and still resolves")
        if status == "untagged":
            kept = [t for t in res["removed_tags"] if t in after]
            if kept:
                problems.append(f"(c) {', '.join(kept)} reported untagged and still there")
        if present.get(digest) is False and not (
            status == "deleted" or (status == "failed" and "nothing was deleted" not in message)
        ):
            problems.append(f"(c) {digest} is gone and reported {status}: {message}")
    for digest, there in sorted(present.items()):
        if not there and digest not in reported:
            problems.append(f"(c) {digest} is gone and the run does not report it")
    if r.code == 0 and any(
        res["status"] in ("skipped", "failed") and not res["already_gone"] for res in results
    ):
        problems.append("(c) exit code 0 although an item was skipped or failed")
    return problems


def _restore_brings_back(
    run_cli: Callable[..., Any], proxy: MeddlingProxy, registry_url: str, baseline: dict[str, str]
) -> list[str]:
    """(a), the other half: ``restore --last`` puts back exactly the baseline (nothing to do
    when nothing is journaled, nor gone)."""
    proxy.calm()
    if not [rec for rec in Journal().records() if rec.repository == REPO]:
        return []
    r = run_cli("-reg", proxy.url, "restore", "--last")
    problems = [] if r.code == 0 else [f"(a) restore --last failed: {r}"]
    now = snapshot(registry_url).get(REPO, {})
    if now != baseline:
        problems.append(f"(a) after restore --last the registry holds {now}, not {baseline}")
    return problems


def _assert_promise_kept(
    run_cli: Callable[..., Any],
    proxy: MeddlingProxy,
    registry_url: str,
    baseline: dict[str, str],
    run: tuple[Any, dict],
    selected: set[str],
) -> None:
    r, doc = run
    problems = _broken_promises(registry_url, baseline, r, doc, selected)
    problems += _restore_brings_back(run_cli, proxy, registry_url, baseline)
    results = [
        f"{res['status']} {res['digest'][:19]}: {res['message']}"
        for res in (doc.get("result") or {}).get("results", [])
    ]
    assert not problems, "\n".join(
        [
            *problems,
            f"exit {r.code}; reported: {results}",
            f"stderr: {r.err!r}",
            f"proxy: {proxy.fired}",
        ]
    )


def _fill(pusher: ImagePusher, *, shared_with: str | None = None) -> tuple[Pushed, Pushed]:
    """REPO: PLANNED on its own image (also tagged ``shared_with``, if given), FILLER images,
    and 2.0 on another image; -> (PLANNED's, 2.0's)."""
    planned = pusher.image(REPO, PLANNED, seed="planned")
    if shared_with:
        pusher.tag(REPO, shared_with, planned)
    for tag in FILLER:
        pusher.image(REPO, tag, seed=f"filler/{tag}")
    return planned, pusher.image(REPO, "2.0", seed="other")


# -- 1. a duplicated answer, or a stray one, before the check after the DELETE -------------


@both_clients
@pytest.mark.parametrize("meddling", ["duplicate-GET", "stray-after-DELETE"])
def test_a_repeated_or_stray_answer_never_hides_a_deletion(
    registry, pusher, proxy, run_cli, monkeypatch, tmp_path, direct, meddling
):
    """Issue 21 case 1: the proxy sends its answer to the GET of the planned digest twice; the
    copy, left on the connection, answered the HEAD after the DELETE: "still there", reported
    "nothing was deleted", exit 1, the journal record voided, while the manifest was gone (and
    `restore --last`: no deletion recorded). The stray variant: one unsolicited ``200`` for the
    planned digest after the DELETE, read by a HEAD on a kept-alive connection. Either a
    correct deletion (journaled, restorable) or a failure that deleted nothing is right."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    planned, _ = _fill(pusher)
    cache = tmp_path / "cache"
    _scan(run_cli, proxy.url, cache)
    baseline = snapshot(registry.url)[REPO]
    if meddling == "duplicate-GET":
        proxy.duplicate("GET", _is_manifest(planned.digest))
    else:

        def stray_after_the_delete() -> None:
            proxy.stray(
                "HEAD",
                _is_manifest(planned.digest),
                digest=planned.digest,
                size=len(planned.raw),
                media_type=planned.media_type,
            )

        proxy.on("DELETE", _is_manifest(planned.digest), stray_after_the_delete)
    run = _remove(run_cli, proxy.url, cache)
    _assert_promise_kept(run_cli, proxy, registry.url, baseline, run, {PLANNED})


# -- 2. a tag moved onto the planned digest during the run, and a stray answer -------------


@both_clients
def test_a_tag_moved_onto_the_planned_digest_mid_run_is_never_deleted_unseen(
    registry, pusher, proxy, run_cli, monkeypatch, tmp_path, direct
):
    """Issue 21 case 2: while the run lists the repository's tags, someone moves 2.0 onto the
    planned digest (pushed straight to the registry); a stray ``200`` with ``Connection:
    close`` waits on a kept-alive connection, and the HEAD of 2.0 read it: 2.0 "still on its
    old image", the check passed, 2.0 went with the planned digest, unjournaled, exit 0.

    The stray carries 2.0's old digest, what an earlier HEAD of 2.0 was answered: one with the
    planned digest would say the truth to that HEAD (measured: a safe skip). The proxy slips it
    in only ahead of a request that is not the first on its connection, so a client that opens
    a connection per check never reads it. Right: the planned digest is skipped (2.0 still
    resolves to it, exit 3), or 2.0 is deleted *and* reported and journaled."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    planned, other = _fill(pusher)
    cache = tmp_path / "cache"
    _scan(run_cli, proxy.url, cache)

    baseline = snapshot(registry.url)[REPO]

    def move_2_0_onto_the_planned_digest() -> None:
        with RegistryClient(registry.url) as c:
            c.put_manifest(REPO, "2.0", planned.raw, planned.media_type)
        baseline["2.0"] = planned.digest  # what the registry holds from now on

    proxy.on("GET", _is_tag_list, move_2_0_onto_the_planned_digest)
    proxy.stray(
        "HEAD",
        _is_manifest("2.0"),
        digest=other.digest,
        size=len(other.raw),
        media_type=other.media_type,
    )
    run = _remove(run_cli, proxy.url, cache)
    assert baseline["2.0"] == planned.digest, "the run never read the tag list: nothing moved"
    _assert_promise_kept(run_cli, proxy, registry.url, baseline, run, {PLANNED})


# -- 3. --untag with a duplicated answer ---------------------------------------------------


@both_clients
def test_untag_with_a_duplicated_answer_never_leaves_the_tag_on_the_placeholder(
    registry, pusher, proxy, run_cli, monkeypatch, tmp_path, direct
):
    """Issue 21 case 3: ``--untag`` (the digest also carries ``keep``), the answer to the GET of
    the planned digest sent twice: the copy answered the HEAD that checks the placeholder
    pushed under the tag, "changed while it was being untagged", exit 1, and the user's tag
    left on the empty placeholder manifest. Right: the tag is gone (journaled, restorable) or
    still on its image; ``keep`` stays."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    planned, _ = _fill(pusher, shared_with="keep")
    cache = tmp_path / "cache"
    _scan(run_cli, proxy.url, cache)
    baseline = snapshot(registry.url)[REPO]
    proxy.duplicate("GET", _is_manifest(planned.digest))
    run = _remove(run_cli, proxy.url, cache, "--untag")
    _assert_promise_kept(run_cli, proxy, registry.url, baseline, run, {PLANNED})


# -- the scripted fake: a repository with state --------------------------------------------


def _oci_manifest(name: str) -> tuple[bytes, str]:
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "layers": [], "n": name}
    raw = json.dumps(doc).encode()
    return raw, "sha256:" + hashlib.sha256(raw).hexdigest()


class FakeRepository:
    """REPO on the scripted fake, with state: its tags and manifests answer GET and HEAD, by
    tag and by digest; a DELETE by digest removes the manifest and its tags (then calls
    ``on_delete(digest)``). ``framing(reply)`` may rewrite every answer (bare LF line ends);
    ``spoil(digest, value)`` makes each later answer about that manifest carry
    ``Content-Length: value`` (``spoiled`` counts them)."""

    def __init__(
        self, fake: FakeRegistry, tags: list[str], framing: Callable[[Reply], Reply] = lambda r: r
    ) -> None:
        self.fake = fake
        self.framing = framing
        self.manifests = {tag: _oci_manifest(tag) for tag in tags}  # tag -> (raw, digest)
        self.tags = {tag: digest for tag, (_, digest) in self.manifests.items()}
        self.present = {digest for _, digest in self.manifests.values()}
        self.spoilt: dict[str, str] = {}
        self.spoiled = 0
        self.on_delete: Callable[[str], None] = lambda digest: None
        fake.route("GET", "/v2/", framing(json_reply({})))
        fake.route("GET", "/v2/_catalog", framing(json_reply({"repositories": [REPO]})))
        fake.route("GET", f"/v2/{REPO}/tags/list", self._tag_list)
        for tag, (_, digest) in self.manifests.items():
            for reference in (tag, digest):
                serve_manifest(fake, f"/v2/{REPO}/manifests/{reference}", self._manifest(reference))
            fake.route("DELETE", f"/v2/{REPO}/manifests/{digest}", self._delete(digest))

    def digest(self, tag: str) -> str:
        return self.manifests[tag][1]

    def spoil(self, digest: str, value: str) -> None:
        self.spoilt[digest] = value

    def _tag_list(self, path: str, headers: dict[str, str]) -> Reply:
        return self.framing(json_reply({"name": REPO, "tags": sorted(self.tags)}))

    def _manifest(self, reference: str) -> Callable[[str, dict[str, str]], Reply]:
        def answer(path: str, headers: dict[str, str]) -> Reply:
            digest = self.tags.get(reference, reference)
            if digest not in self.present:
                return self.framing(error_reply(404, "MANIFEST_UNKNOWN", "manifest unknown"))
            raw = next(raw for raw, d in self.manifests.values() if d == digest)
            reply = self.framing(manifest_reply(mediatypes.OCI_MANIFEST, json.loads(raw)))
            assert reply.headers["Docker-Content-Digest"] == digest
            if digest in self.spoilt:
                self.spoiled += 1
                reply = replace(reply, content_length=self.spoilt[digest])
            return reply

        return answer

    def _delete(self, digest: str) -> Callable[[str, dict[str, str]], Reply]:
        def delete(path: str, headers: dict[str, str]) -> Reply:
            if digest not in self.present:
                return error_reply(404, "MANIFEST_UNKNOWN", "manifest unknown")
            self.present.discard(digest)
            self.tags = {t: d for t, d in self.tags.items() if d != digest}
            self.on_delete(digest)
            return Reply(202, b"", {"Docker-Distribution-Api-Version": "registry/2.0"})

        return delete


def _one_sentence(err: str) -> bool:
    lines = err.strip().splitlines()
    return (
        len(lines) == 1
        and lines[0].startswith("dregtui: error: ")
        and "Traceback" not in err
        and "unexpected error" not in err
    )


# -- 4. a token with a line break ----------------------------------------------------------

GOOD_TOKEN = "good"
SMUGGLED = f"/v2/{REPO}/manifests/{_oci_manifest('1.0')[1]}"  # the fake's 1.0


@pytest.fixture
def token_server() -> Iterator[FakeRegistry]:
    server = FakeRegistry().start()
    yield server
    server.stop()


@both_clients
@pytest.mark.parametrize(
    "token",
    [
        pytest.param("abc\r\nX-Injected: 1", id="CRLF-header"),
        pytest.param(f"abc\r\n\r\nDELETE {SMUGGLED} HTTP/1.1\r\nX-Injected: 1", id="CRLF-request"),
        pytest.param("abc\nX-Injected: 1", id="LF-header"),
        pytest.param("abc\x00X-Injected: 1", id="NUL"),
    ],
)
def test_a_token_that_would_change_the_request_is_never_sent(
    fake_registry, token_server, run_cli, monkeypatch, direct, token
):
    """Issue 21 case 4: a hostile token server's token, written raw into the requests, added a
    header, or a whole request: a read-only list-tag-names made the registry DELETE a
    manifest. The token server hands out good tokens first (short-lived: the tag list is read
    with one), then the bad one (the manifest reads fetch it). Required: one sentence naming
    the token server's host, non-zero exit, and no request carrying the bad token at all."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    realm = f"http://localhost:{token_server.server.port}/token"
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'}
    fetched: dict[str, int] = {}

    def issue(path: str, headers: dict[str, str]) -> Reply:
        scope = " ".join(parse_qs(urlsplit(path).query).get("scope", []))
        fetched[scope] = fetched.get(scope, 0) + 1
        if scope.startswith(f"repository:{REPO}:") and fetched[scope] > 1:
            return json_reply({"token": token, "expires_in": 300})
        return json_reply({"token": GOOD_TOKEN, "expires_in": 1e-6})

    token_server.route("GET", "/token", issue)
    repository = FakeRepository(fake_registry, ["1.0", "2.0"])
    for (method, path), replies in list(fake_registry.routes.items()):
        fake_registry.route(method, path, *[_guarded(reply, challenge) for reply in replies])
    r = run_cli("-reg", fake_registry.url, "-c", "None", "--timeout", "5", "list-tag-names")
    with_the_token = [
        (method, path, headers)
        for method, path, headers in fake_registry.requests
        if "X-Injected" in headers or headers.get("Authorization", "").startswith("Bearer abc")
    ]
    assert not with_the_token, f"sent with the bad token: {with_the_token}; {r}"
    assert all(m in ("GET", "HEAD") for m, _, _ in fake_registry.requests), fake_registry.requests
    assert repository.present == set(repository.tags.values())  # nothing deleted
    assert r.code != 0, r
    assert _one_sentence(r.err) and "localhost" in r.err, f"exit {r.code}, stderr {r.err!r}"


def _guarded(
    reply: Reply | Callable[[str, dict[str, str]], Reply], challenge: dict[str, str]
) -> Callable[[str, dict[str, str]], Reply]:
    def answer(path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") != f"Bearer {GOOD_TOKEN}":
            return error_reply(401, "UNAUTHORIZED", "authentication required", **challenge)
        return reply(path, headers) if callable(reply) else reply

    return answer


# -- 5. bare-LF line ends on a keep-alive connection ---------------------------------------


@both_clients
@pytest.mark.parametrize(
    "command", [["list-tag-names"], ["query-tags", "-r", REPO, "-t", "1.0"]], ids=lambda c: c[0]
)
def test_answers_with_bare_lf_line_ends_are_read_well_within_the_timeout(
    fake_registry, run_cli, monkeypatch, direct, command
):
    """Issue 21 case 5: every answer's lines end in ``\\n``, on keep-alive connections; the
    fast lane waited for ``\\r\\n\\r\\n`` until --timeout passed, and every command failed after
    it with "did not answer in time". Required: the command works, well within the timeout (a
    bound, not a benchmark)."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    repository = FakeRepository(
        fake_registry, ["1.0", "2.0"], framing=lambda reply: replace(reply, line_end=b"\n")
    )
    start = time.monotonic()
    r = run_cli("-reg", fake_registry.url, "-c", "None", "--timeout", "10", *command)
    elapsed = time.monotonic() - start
    assert r.code == 0, r
    assert elapsed < 5, f"{elapsed:.1f} s: {r}"
    if command[0] == "list-tag-names":
        assert r.lines == [f"{REPO}  1.0", f"{REPO}  2.0"]
    else:
        assert r.lines == [f"{REPO}  {repository.digest('1.0')}"]


# -- 6. a Content-Length that is not ASCII digits ------------------------------------------

BAD_LENGTHS = pytest.mark.parametrize("length", ["²", "1_0", "+1"])


@both_clients
@BAD_LENGTHS
def test_a_content_length_that_is_not_ascii_digits_is_a_protocol_error(
    fake_registry, run_cli, monkeypatch, direct, length
):
    """Issue 21 case 6: ``Content-Length: ²`` (str.isdigit() says yes, int() says no) on the
    manifests' answers: "unexpected error: ValueError". ``1_0`` and ``+1`` are what int()
    takes and HTTP does not. Required: a protocol error in one sentence, non-zero exit."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    repository = FakeRepository(fake_registry, ["1.0", "2.0"])
    for tag in ("1.0", "2.0"):
        repository.spoil(repository.digest(tag), length)
    r = run_cli("-reg", fake_registry.url, "-c", "None", "--timeout", "5", "list-tag-names")
    assert r.code != 0 and _one_sentence(r.err), f"exit {r.code}, stderr {r.err!r}"
    assert repository.spoiled


@both_clients
@BAD_LENGTHS
def test_a_bad_content_length_mid_run_leaves_no_deletion_unreported(
    fake_registry, run_cli, monkeypatch, tmp_path, direct, length
):
    """Issue 21 case 6, in a two-item run: once the fake has taken the first DELETE, every
    answer about the other planned manifest carries the bad Content-Length. The first item's
    deletion must be reported deleted (in --json) and journaled; whatever else the registry
    deleted, journaled and never reported "nothing was deleted"; the run ends in no
    unexpected error, and non-zero once a bad answer came."""
    monkeypatch.setenv("DREGTUI_DIRECT", direct)
    repository = FakeRepository(fake_registry, ["1.0", "2.0", "3.0"])
    planned = {repository.digest("1.0"), repository.digest("2.0")}
    cache = tmp_path / "cache"
    _scan(run_cli, fake_registry.url, cache)
    deleted: list[str] = []

    def on_delete(digest: str) -> None:
        if not deleted:
            for other in planned - {digest}:
                repository.spoil(other, length)
        deleted.append(digest)

    repository.on_delete = on_delete
    r = run_cli(
        "-reg", fake_registry.url, "-c", str(cache), "--json", "--timeout", "5",
        "remove-tags", "-r", REPO, "-t", "1.0", "2.0", "--yes",
    )  # fmt: skip
    assert "Traceback" not in r.err and "unexpected error" not in r.err, r
    assert r.code != 0 or not repository.spoiled, r
    results = {res["digest"]: res for res in json.loads(r.out)["result"]["results"]}
    journaled = {rec.digest for rec in Journal().records() if rec.kind == "delete"}
    if deleted:
        assert results[deleted[0]]["status"] == "deleted", r
    for digest in deleted:
        assert digest in journaled, (digest, r)
        assert "nothing was deleted" not in results[digest]["message"], r
        assert results[digest]["status"] in ("deleted", "failed"), r
    for digest in planned - set(deleted):
        assert results[digest]["status"] != "deleted", r
