"""The manifest reads' fast lane: GETs and HEADs straight over pooled keep-alive sockets,
pipelined.

Why. On a fast registry a scan goes as fast as this process can send requests and read the
answers, since the registry and the scan share the machine's cores. ``requests`` over
``urllib3`` costs 0.6-2.6 ms of CPU a call, more the more threads contend for the GIL (a
PreparedRequest, header merging, cookie jars, an ``email`` parser for the answer's headers);
a request written and its answer read here costs 0.15-0.23 ms, and batches sent in one write
(HTTP/1.1 pipelining, RFC 9112 §9.3: the server answers them in order, as distribution's Go
server does) cost 0.13-0.15 ms a request and one worker's bookkeeping a batch (300 x 40
manifests on loopback, 16 threads; bench/scan.py times the scan as a whole).

What it does is the plain case only. :meth:`DirectConnections.send_many` returns the answers,
in order, to the first few requests of a batch: all of them, or fewer when it meets anything
it does not handle: a connection that fails or closes, a chunked, compressed or length-less
body, a body over the caller's limit (checked against ``Content-Length`` before a byte of it is
read), a malformed status line or header block, bytes after an answer. The caller sends the
rest through the regular client: its retries, its auth exchanges, its error sentences; it
hands any status but 200 to the regular client too. The lane never retries (but once, on a
fresh connection, when a pooled one turns out closed by the server) and never follows a
redirect. The first answer of a batch that does not come in time is an error
(:class:`AnswerTimeout`, said in the caller's sentence: asking again the regular way would wait
as long again); a later one that does not come within ``STALL`` seconds of the one before ends
pipelining. Pipelined batches answered by fewer than two requests three times over end
pipelining (requests then go one at a time); three requests in a row without a readable
answer, or a connection that cannot be opened in time, turn the lane off
(:attr:`DirectConnections.disabled`).

Bounded: a header block is at most 64 KB, a body at most ``max_body`` bytes, a batch at most
``timeout`` seconds from its write to its last answer.

Thread-safe: connections are taken from an idle pool, one batch each; ``close`` shuts them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dregtui.registry.transport import MAX_CONNECT_TIMEOUT

log = logging.getLogger("dregtui.registry")

MAX_HEAD = 64 * 1024  # the status line and headers of one answer
READ = 256 * 1024  # bytes asked of the socket per read
GIVE_UP_AFTER = 3  # requests in a row without an answer it can read: then it is off
IDLE_MAX = 64  # idle connections kept
STALL = 5.0  # seconds between two answers of a pipelined batch at most: then no pipelining


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer: its status, its headers (names in lower case; a repeated header's
    values joined with ", ") and its body (empty for a HEAD)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class AnswerTimeout(Exception):
    """The request was sent and its answer did not come in time: the caller says so (sending
    it again the regular way would wait as long again)."""


class _Unhandled(Exception):
    """An answer this module does not read: the caller sends the request the regular way."""


class _Closed(_Unhandled):
    """The connection closed before a byte of the answer came."""


class _Connection:
    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AnswerTimeout("the request's time ran out")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(READ)
        except TimeoutError as exc:
            raise AnswerTimeout(str(exc)) from exc
        if not chunk:
            raise (_Unhandled if self.buf else _Closed)("the connection closed")
        self.buf += chunk

    def read(self, method: str, max_body: int, deadline: float) -> tuple[Answer, bool]:
        """One answer and whether the connection stays open after it."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > MAX_HEAD:
                raise _Unhandled("a header block over 64 KB")
            self.fill(deadline)
            end = buf.find(b"\r\n\r\n", max(0, len(buf) - READ - 3))
        if end > MAX_HEAD:
            raise _Unhandled("a header block over 64 KB")
        lines = bytes(buf[:end]).split(b"\r\n")
        status_line = lines[0]
        if status_line[:9] not in (b"HTTP/1.1 ", b"HTTP/1.0 ") or not status_line[9:12].isdigit():
            raise _Unhandled("a malformed status line")
        status = int(status_line[9:12])
        if status < 200:
            raise _Unhandled("an interim (1xx) answer")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or line[:1] in b" \t":
                raise _Unhandled("a malformed header line")
            key = name.decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        if "transfer-encoding" in headers:
            raise _Unhandled("a body with a transfer coding")
        if headers.get("content-encoding", "identity").lower() != "identity":
            raise _Unhandled("a compressed body (none was asked for)")
        start = end + 4
        if method == "HEAD" or status in (204, 304):
            length = 0
        else:
            declared = headers.get("content-length", "")
            if not declared.isdigit():
                raise _Unhandled("a body without a Content-Length")
            length = int(declared)
            if length > max_body:
                raise _Unhandled("a body over the limit")
        while len(buf) < start + length:
            self.fill(deadline)
        body = bytes(buf[start : start + length])
        del buf[: start + length]
        keep = (
            status_line.startswith(b"HTTP/1.1")
            and "close" not in headers.get("connection", "").lower()
        )
        return Answer(status, headers, body), keep

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class DirectConnections:
    """Keep-alive connections to one origin (``host``:``port``; TLS when ``tls`` is given)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        timeout: float,
        headers: Mapping[str, str],
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        authority = f"[{host}]" if ":" in host else host
        default = 443 if tls is not None else 80
        self.authority = authority if port == default else f"{authority}:{port}"
        self._base = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._failures = 0  # requests in a row it could not read an answer to
        self._short = 0  # pipelined batches answered by fewer than two requests
        self.disabled = False
        self.pipelining = True
        self.sent = 0  # requests taken (for benchmarks and tests)

    def _connect(self, deadline: float) -> _Connection:
        timeout = max(0.001, min(deadline - time.monotonic(), MAX_CONNECT_TIMEOUT))
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def send_many(
        self, method: str, paths: Sequence[str], headers: Mapping[str, str], max_body: int
    ) -> list[Answer]:
        """The answers to ``method`` of each of ``paths`` (already quoted; ``headers`` added
        to the connection's own), in order: all of them, or those of the first few when the
        rest must go the regular way. Several are sent in one write while :attr:`pipelining`
        holds, else one after the other. Raises AnswerTimeout when the first request went
        out and its answer did not come back in ``timeout`` seconds."""
        if self.disabled or not paths:
            return []
        deadline = time.monotonic() + self.timeout
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        tail = f" HTTP/1.1\r\nHost: {self.authority}\r\n{self._base}{extra}\r\n"
        with self._lock:
            conn = self._idle.pop() if self._idle else None
            self.sent += len(paths)
        reused = conn is not None
        answers: list[Answer] = []
        keep = False
        while len(answers) < len(paths):
            done = len(answers)
            batch = paths[done:] if self.pipelining else paths[done : done + 1]
            payload = "".join(f"{method} {path}{tail}" for path in batch).encode("latin-1")
            keep = False
            try:
                if conn is None:
                    conn = self._connect(deadline)
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
                conn.sock.sendall(payload)
                for _ in batch:
                    # an answer after the first of a pipelined batch waits STALL at most
                    limit = deadline if len(answers) == done else time.monotonic() + STALL
                    answer, keep = conn.read(method, max_body, min(deadline, limit))
                    answers.append(answer)
                    if not keep:
                        break
            except (_Unhandled, AnswerTimeout, OSError, ValueError) as exc:
                keep = False  # whatever the answers before it said: this connection is done
                if isinstance(exc, _Closed) and reused and not answers and conn is not None:
                    conn.close()  # the server had closed it while it was idle: once more
                    conn, reused = None, False
                    continue
                if isinstance(exc, AnswerTimeout):
                    if not answers:
                        if conn is not None:
                            conn.close()
                        raise
                    self.pipelining = False  # pipelined answers that stop coming
                elif isinstance(exc, TimeoutError):  # connecting or sending: not for the lane
                    self.disabled = True
                # ValueError: a TLS socket in a bad state
                log.debug("direct %s: %s after %d answers", method, exc, len(answers))
            if not keep or len(answers) < done + len(batch):
                break
            reused = True
        self._settle(conn, keep, len(paths), len(answers))
        return answers

    def _settle(self, conn: _Connection | None, keep: bool, asked: int, answered: int) -> None:
        """Pool the connection (``keep``) or close it, and count what went wrong."""
        if conn is not None and keep:
            with self._lock:
                if len(self._idle) < IDLE_MAX:
                    self._idle.append(conn)
                    conn = None
        if conn is not None:
            conn.close()
        if answered == 0:
            with self._lock:
                self._failures += 1
                if self._failures >= GIVE_UP_AFTER and not self.disabled:
                    self.disabled = True
                    log.debug("direct requests to %s are off: answers unreadable", self.host)
            return
        self._failures = 0
        if asked > 1 and answered < 2:
            with self._lock:
                self._short += 1
                if self._short >= GIVE_UP_AFTER and self.pipelining:
                    self.pipelining = False
                    log.debug("no pipelining to %s: its answers stop short", self.host)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
