"""The manifest reads' fast lane (dregtui/registry/direct.py): against the real registry (plain,
token auth, basic auth, TLS with a client certificate) it gives what the regular client gives,
pipelined; against a raw server that answers it badly (closes, stalls, chunks, compresses,
garbles) every manifest still comes back right, through the regular client, and a lane that
keeps failing turns itself off."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.fixtures import PASSWORD, USER

from dregtui.core.errors import RegistryError
from dregtui.core.oci import mediatypes
from dregtui.demo.images import ImagePusher
from dregtui.ops.scanner import Scanner
from dregtui.registry import direct
from dregtui.registry.client import RegistryClient


def batches(client: RegistryClient) -> list[int]:
    """Records the size of every batch the client's lane sends (its answers go on as usual)."""
    assert client.direct is not None
    sizes: list[int] = []
    send = client.direct.send_many

    def recording(method: str, paths: list[str], *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(paths))
        return send(method, paths, *args, **kwargs)

    client.direct.send_many = recording  # type: ignore[method-assign]
    return sizes


def contents(client: RegistryClient, **kwargs: Any) -> dict[str, Any]:
    inventory = Scanner(client, **kwargs).scan()
    return {
        repo: {
            tag: (info.digest, inventory.footprints.get(info.digest))
            for tag in inventory.tags(repo)
            for info in [inventory.tag_info(repo, tag)]
        }
        for repo in inventory.repositories
    }


# -- the real registry ---------------------------------------------------------------------


def test_a_scan_over_the_lane_equals_a_scan_without_it(big_registry, monkeypatch):
    with RegistryClient(big_registry.url) as c:
        sent = batches(c)
        fast = contents(c)
        heads = contents(c, sizes=False)
    monkeypatch.setenv("DREGTUI_DIRECT", "0")
    with RegistryClient(big_registry.url) as c:
        assert c.direct is None and c.batch_size == 1
        assert contents(c) == fast
        assert contents(c, sizes=False) == heads
    tags = sum(len(tags) for tags in fast.values())
    assert sum(sent) >= 2 * tags  # every manifest read of both scans went over the lane
    assert max(sent) > 1  # ... pipelined


def test_token_auth_goes_over_the_lane_and_renews_its_token(token_registry):
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        pushed = ImagePusher(c).image("tok/app", "1.0")
        sent = batches(c)
        assert contents(c)["tok/app"]["1.0"][0] == pushed.digest
        assert sent  # the lane carried the reads, with the token the challenge asked for
        for key in list(c.auth.tokens._tokens):  # the token goes stale
            c.auth.tokens.put(key, "not-a-jwt", 300)
        before = token_registry.issuer.count()
        assert c.get_manifest("tok/app", "1.0").digest == pushed.digest  # 401, then renewed
        assert token_registry.issuer.count() == before + 1
        assert c.get_manifest("tok/app", pushed.digest).digest == pushed.digest
        assert token_registry.issuer.count() == before + 1  # the lane uses the new one


def test_basic_auth_goes_over_the_lane(htpasswd_registry):
    with RegistryClient(htpasswd_registry.url, username=USER, password=PASSWORD) as c:
        pushed = ImagePusher(c).image("basic/app", "1")
        sent = batches(c)
        assert c.head_manifests("basic/app", ["1", "2"])[0].digest == pushed.digest  # type: ignore[union-attr]
        assert sent == [2]


def test_tls_with_a_client_certificate_goes_over_the_lane(tls_registry):
    files = tls_registry.tls
    with RegistryClient(
        tls_registry.url, verify=files.ca, cert=(files.client_cert, files.client_key)
    ) as c:
        pushed = ImagePusher(c).image("tls/app", "1")
        sent = batches(c)
        assert c.get_manifest("tls/app", "1").digest == pushed.digest
        assert sent == [1] and c.direct is not None and not c.direct.disabled


def test_a_proxy_or_digest_auth_keeps_to_the_regular_client(registry, monkeypatch):
    with RegistryClient(registry.url, digest_auth=True, username="u", password="p") as c:
        assert c.direct is None
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    with RegistryClient(registry.url) as c:
        assert c.direct is None


# -- a raw server that answers the lane badly ----------------------------------------------


def _manifest(path: str) -> tuple[bytes, str]:
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "path": path}
    raw = json.dumps(doc).encode()
    return raw, "sha256:" + hashlib.sha256(raw).hexdigest()


def answer(path: str, *, extra: bytes = b"", status: bytes = b"HTTP/1.1 200 OK") -> bytes:
    raw, digest = _manifest(path)
    head = b"%s\r\nContent-Type: %s\r\nDocker-Content-Digest: %s\r\nContent-Length: %d\r\n" % (
        status,
        mediatypes.OCI_MANIFEST.encode(),
        digest.encode(),
        len(raw),
    )
    return head + extra + b"\r\n" + raw


Script = Callable[[int, str], bytes | str]  # (answers so far on this connection, path) ->
# the bytes to send, "close" (hang up without answering) or "stall" (never answer)


class RawServer:
    """Answers the lane's requests (no Accept-Encoding) by ``script``, the regular client's
    (urllib3 asks for gzip) properly, and counts both."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.lane = 0
        self.regular = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        answered = 0
        conn.settimeout(10)
        with conn:
            try:
                while not self._done.is_set():
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    request, _, buf = buf.partition(b"\r\n\r\n")
                    line, *headers = request.decode("latin-1").split("\r\n")
                    path = line.split(" ")[1]
                    if any(h.lower().startswith("accept-encoding:") for h in headers):
                        self.regular += 1
                        conn.sendall(answer(path))
                        continue
                    self.lane += 1
                    reply = self.script(answered, path)
                    if reply == "close":
                        return
                    if reply == "stall":
                        self._done.wait(10)
                        return
                    assert isinstance(reply, bytes)
                    conn.sendall(reply)
                    answered += 1
            except OSError:
                return

    def close(self) -> None:
        self._done.set()
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def make(script: Script) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


TAGS = ["a", "b", "c", "d"]


def fetch_all(url: str, rounds: int = 1) -> RegistryClient:
    """``rounds`` batches of the four tags, each checked against what was served."""
    with RegistryClient(url, retries=0, timeout=5) as c:
        for _ in range(rounds):
            got = c.get_manifests("app", TAGS)
            for tag, manifest in zip(TAGS, got, strict=True):
                assert not isinstance(manifest, RegistryError), manifest
                assert manifest.digest == _manifest(f"/v2/app/manifests/{tag}")[1]
        return c


def test_the_real_thing_stays_on_the_lane(raw_server):
    server = raw_server(lambda n, path: answer(path))
    c = fetch_all(server.url, rounds=3)
    assert (server.lane, server.regular) == (12, 0)
    assert c.direct is not None and c.direct.pipelining and not c.direct.disabled


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda n, p: answer(p, extra=b"Transfer-Encoding: chunked\r\n"), id="chunked"),
        pytest.param(lambda n, p: answer(p, extra=b"Content-Encoding: gzip\r\n"), id="gzip"),
        pytest.param(lambda n, p: answer(p, status=b"HTTP/1.1 2xx OK"), id="bad-status"),
        pytest.param(lambda n, p: answer(p, extra=b" folded\r\n"), id="folded-header"),
        pytest.param(
            lambda n, p: answer(p, extra=b"X: " + b"y" * 70_000 + b"\r\n"), id="huge-head"
        ),
        pytest.param(
            lambda n, p: answer(p).replace(b"Content-Length", b"X-Length"), id="no-length"
        ),
        pytest.param(lambda n, p: answer(p) + b"junk", id="extra-bytes"),
        pytest.param(lambda n, p: "close", id="hang-up"),
    ],
)
def test_answers_the_lane_cannot_read_go_the_regular_way_then_it_turns_off(raw_server, script):
    server = raw_server(script)
    c = fetch_all(server.url, rounds=4)
    assert server.regular >= 4  # every manifest came back right anyway
    assert c.direct is not None
    assert c.direct.disabled  # three in a row, or bytes nobody asked for: the lane is off
    assert server.lane <= 3 * len(TAGS)


def test_bytes_after_an_answer_turn_the_lane_off_at_once(raw_server):
    server = raw_server(lambda n, p: answer(p) + b"junk")
    c = fetch_all(server.url, rounds=4)
    assert c.direct is not None and c.direct.disabled
    # the first batch was the last: its unreadable answers and the next three rounds went the
    # regular way
    assert server.lane <= len(TAGS)
    assert server.regular >= 3 * len(TAGS) + 1
    assert server.lane + server.regular <= 5 * len(TAGS)


def test_a_connection_closed_after_each_answer_is_opened_again(raw_server):
    # no Connection: close, but the server hangs up after one answer (an idle timeout)
    server = raw_server(lambda n, path: answer(path) if n == 0 else "close")
    c = fetch_all(server.url, rounds=3)
    assert c.direct is not None and not c.direct.disabled
    # pipelined batches stopped after their first answer: pipelining is off, the lane is not
    assert not c.direct.pipelining and c.batch_size == 1
    assert server.lane >= 12 - server.regular


def test_pipelined_answers_that_stop_coming_end_pipelining_not_the_scan(raw_server, monkeypatch):
    monkeypatch.setattr(direct, "STALL", 0.3)
    server = raw_server(lambda n, path: answer(path) if n == 0 else "stall")
    start = time.monotonic()
    c = fetch_all(server.url)
    assert time.monotonic() - start < 3  # STALL, not the 5 s timeout
    assert c.direct is not None and not c.direct.pipelining
    assert server.regular >= 3  # the three the stalled batch did not get


def test_a_first_answer_that_does_not_come_is_one_timeout_sentence(raw_server):
    server = raw_server(lambda n, path: "stall")
    with RegistryClient(server.url, retries=2, timeout=0.5) as c:
        start = time.monotonic()
        with pytest.raises(RegistryError) as err:
            c.get_manifest("app", "a")
        assert time.monotonic() - start < 1.5  # one deadline, not one a path
    assert "did not answer in time while fetching the manifest app:a" in str(err.value)
    assert (server.lane, server.regular) == (1, 0)


def test_a_404_or_a_401_on_the_lane_is_the_regular_clients_to_answer(raw_server):
    server = raw_server(
        lambda n, path: (
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            if path.endswith("/b")
            else answer(path)
        )
    )
    c = fetch_all(server.url)
    assert server.regular == 1 and server.lane == 4  # b again, the regular way (it exists there)
    assert c.direct is not None and not c.direct.disabled


def test_a_throttling_registry_gets_the_regular_client_alone(raw_server):
    server = raw_server(
        lambda n, path: (
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
        )
    )
    c = fetch_all(server.url, rounds=2)
    assert c.direct is not None and c.direct.disabled
    assert server.lane == len(TAGS)  # one batch, then no request twice
