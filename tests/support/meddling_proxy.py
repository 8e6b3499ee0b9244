"""A meddling HTTP proxy in front of a real registry: the hostile world of issue 21.

It listens on 127.0.0.1 (a free port), reads the client's requests one at a time (pipelined
ones wait their turn), forwards each, unchanged, to the registry over a keep-alive connection
of its own, and writes the registry's answer back byte for byte. Rules meddle, each once:

    proxy = MeddlingProxy(registry.url).start()
    proxy.duplicate("GET", lambda path: path.endswith(digest))  # that answer is sent twice
    proxy.stray("HEAD", is_tag, digest=d, size=n, media_type=t)  # an unsolicited 200 (below)
    proxy.on("GET", is_tag_list, callback)                        # callback() before forwarding
    proxy.url; proxy.requests  # [(method, target), ...] in the order they came
    proxy.fired  # [(action, method, target), ...]: the rules that took effect
    proxy.calm()  # drop the rules not fired yet
    proxy.stop()

``nth`` picks the Nth matching request (counted from when the rule is added).

A stray answer is an unsolicited ``200`` (``Connection: close``) that the proxy wrote after
an answer on a kept-alive connection, before the client asked anything more: a client that
sends its next request on that connection reads it as the answer. Which request that is, the
proxy learns only when it comes, so the rule names it: the stray goes ahead of the answer to
the ``nth`` matching request that is *not the first on its connection* (the stray followed
the answer before it); that request is not forwarded (the proxy said it closes), and the
proxy then reads and drops what the client still sends, and closes. A client that never sends
a second request on a connection never meets a stray.

Framing is by hand, and only what distribution 2.8 and our own clients send: a CRLF head,
then a body by ``Content-Length`` or chunked. Bounded: every socket times out, threads are
daemons, ``stop`` closes the listener and every open connection.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT = 10.0  # seconds any socket read or write may wait
MAX_HEAD = 64 * 1024
Predicate = Callable[[str], bool]  # the request target (path and query) -> matches


class FramingError(Exception):
    """Bytes that are not an HTTP/1.1 message this proxy understands."""


@dataclass
class Message:
    raw: bytes  # the whole message, exactly as read
    start_line: str
    headers: dict[str, str]  # names in lower case

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def status(self) -> int:
        return int(self.start_line.split(" ")[1])

    @property
    def closes(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


class _Reader:
    """Reads whole messages off a socket, keeping what follows for the next one."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _need(self, size: int) -> None:
        while len(self.buf) < size:
            if not self._fill():
                raise FramingError("the connection closed inside a message")

    def _line(self, start: int) -> int:
        """The offset just past the CRLF that ends the line starting at ``start``."""
        while True:
            end = self.buf.find(b"\r\n", start)
            if end >= 0:
                return end + 2
            if len(self.buf) - start > MAX_HEAD or not self._fill():
                raise FramingError("a line that does not end")

    def message(self, *, request_method: str | None = None) -> Message | None:
        """The next request (``request_method`` None) or the answer to a ``request_method``
        request; None when the peer closed between messages."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEAD:
                raise FramingError("a header block over 64 KB")
            if not self._fill():
                if self.buf:
                    raise FramingError("the connection closed inside a header block")
                return None
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        size = end + 4
        status = 0
        if request_method is not None:
            status = int(head[0].split(" ")[1])
        bodiless = request_method == "HEAD" or status in (204, 304) or 100 <= status < 200
        if bodiless:
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            size = self._chunked(size)
        elif "content-length" in headers:
            size += int(headers["content-length"])
        elif request_method is not None:
            raise FramingError("an answer without a length")
        self._need(size)
        raw = bytes(self.buf[:size])
        del self.buf[:size]
        return Message(raw, head[0], headers)

    def _chunked(self, at: int) -> int:
        """The offset just past a chunked body that starts at ``at`` (no trailers)."""
        while True:
            line_end = self._line(at)
            size = int(bytes(self.buf[at : line_end - 2]).split(b";")[0], 16)
            at = line_end
            if size == 0:
                return self._line(at)  # the empty line after the last chunk
            self._need(at + size + 2)
            at += size + 2


@dataclass
class Rule:
    method: str
    matches: Predicate
    action: str  # "duplicate", "stray" or "call"
    nth: int = 1
    payload: bytes = b""
    callback: Callable[[], None] | None = None
    seen: int = 0
    fired: bool = False

    def take(self, method: str, target: str, *, reused: bool) -> bool:
        """Count this request if it matches; True for the one the rule fires on. A stray
        only counts requests that are not the first on their connection."""
        if self.fired or method != self.method or not self.matches(target):
            return False
        if self.action == "stray" and not reused:
            return False
        self.seen += 1
        if self.seen == self.nth:
            self.fired = True
        return self.fired


def stray_answer(digest: str, *, size: int, media_type: str) -> bytes:
    """A ``200`` to a HEAD of ``digest`` that nobody asked for, saying ``Connection: close``."""
    return (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Length: {size}\r\n"
        f"Content-Type: {media_type}\r\n"
        f"Docker-Content-Digest: {digest}\r\n"
        "Docker-Distribution-Api-Version: registry/2.0\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode("latin-1")


class MeddlingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, str]] = []
        self.fired: list[tuple[str, str, str]] = []  # (action, method, target) of rules used
        # (connection number, method, target, status answered; 0: a stray answer instead)
        self.trace: list[tuple[int, str, str, int]] = []
        self._connections = itertools.count(1)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._open: set[socket.socket] = set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    # -- rules -------------------------------------------------------------------------

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def duplicate(self, method: str, matches: Predicate, *, nth: int = 1) -> Rule:
        """Send the answer to the ``nth`` matching request twice."""
        return self._add(Rule(method, matches, "duplicate", nth))

    def stray(
        self,
        method: str,
        matches: Predicate,
        *,
        digest: str,
        size: int,
        media_type: str,
        nth: int = 1,
    ) -> Rule:
        """One unsolicited ``200`` (see :func:`stray_answer`) queued after an answer, read
        as the answer to the ``nth`` matching request sent on a kept-alive connection; then
        no more answers on that connection (see the module's docstring)."""
        payload = stray_answer(digest, size=size, media_type=media_type)
        return self._add(Rule(method, matches, "stray", nth, payload=payload))

    def on(
        self, method: str, matches: Predicate, callback: Callable[[], None], *, nth: int = 1
    ) -> Rule:
        """Run ``callback()`` when the ``nth`` matching request arrives, before it is forwarded."""
        return self._add(Rule(method, matches, "call", nth, callback=callback))

    def calm(self) -> None:
        """Drop every rule not fired yet: from now on the proxy only forwards."""
        with self._lock:
            self.rules.clear()

    def _rules_for(self, method: str, target: str, *, reused: bool) -> list[Rule]:
        with self._lock:
            self.requests.append((method, target))
            taken = [r for r in self.rules if r.take(method, target, reused=reused)]
            self.fired.extend((r.action, method, target) for r in taken)
        return taken

    # -- serving -----------------------------------------------------------------------

    def start(self) -> MeddlingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.listener.close()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _close(sock)

    def __enter__(self) -> MeddlingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(TIMEOUT)
        with self._lock:
            self._open.add(sock)
        return sock

    def _untrack(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._open.discard(sock)
        _close(sock)

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._track(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _connect(self) -> tuple[socket.socket, _Reader]:
        sock = self._track(socket.create_connection(self.upstream, timeout=TIMEOUT))
        return sock, _Reader(sock)

    def _serve(self, client: socket.socket) -> None:
        number = next(self._connections)
        requests = _Reader(client)
        served = 0  # requests read on this connection
        upstream: socket.socket | None = None
        answers: _Reader | None = None
        try:
            while not self._done.is_set():
                request = requests.message()
                if request is None:
                    return
                rules = self._rules_for(request.method, request.target, reused=served > 0)
                served += 1
                for rule in rules:
                    if rule.callback is not None:
                        rule.callback()
                stray = [r.payload for r in rules if r.action == "stray"]
                if stray:
                    with self._lock:
                        self.trace.append((number, request.method, request.target, 0))
                    client.sendall(stray[0])
                    _drain(client)
                    return
                if upstream is None or answers is None:
                    upstream, answers = self._connect()
                upstream.sendall(request.raw)
                answer = answers.message(request_method=request.method)
                if answer is None:
                    return
                with self._lock:
                    self.trace.append((number, request.method, request.target, answer.status))
                client.sendall(answer.raw)
                if any(r.action == "duplicate" for r in rules):
                    client.sendall(answer.raw)
                if answer.closes or request.closes:
                    return
        except (OSError, FramingError, ValueError, IndexError):
            return
        finally:
            self._untrack(upstream)
            self._untrack(client)


def _drain(sock: socket.socket) -> None:
    """Stop writing, then read and drop what the peer still sends until it closes (bounded by
    the socket's timeout): closing with unread bytes would reset the connection and could
    destroy the answers already written before the peer reads them."""
    try:
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
