"""The manifest reads' fast lane: GETs and HEADs over pooled keep-alive connections,
pipelined, every byte framed by h11 (a strict HTTP/1.1 parser).

Why. On a fast registry a scan goes as fast as this process can send requests and read the
answers, since the registry and the scan share the machine's cores. A request written and read
here costs far less CPU than one through ``requests`` over ``urllib3``, and batches sent in one
write (HTTP/1.1 pipelining, RFC 9112 §9.3: the server answers them in order, as
distribution's Go server does) cost one worker's bookkeeping a batch. ``bench/scan.py``
measures it (figures in ``docs/performance.md``).

What it does is the plain case only. :meth:`DirectConnections.send_many` returns the answers,
in order, to the first few requests of a batch: all of them, or fewer when it meets anything
it does not take: a connection that fails or closes, a compressed body, a body over the
caller's limit (checked against ``Content-Length`` before a byte of it is read), an interim
(1xx) answer. The caller sends the rest through the regular client: its retries, its auth
exchanges, its error sentences; it hands any status but 200 to the regular client too.

Framing. h11 reads every answer: the status line, the header block (64 KB at most), the body
by its ``Content-Length`` (ASCII digits only) or its chunks. A connection goes back to the
pool only when h11 says it may be reused and nothing is left in its buffer. Anything the
parser refuses, bytes after the last answer of a batch, or bytes that arrived on an idle
connection that no request asked for, close that connection, hand the rest of the batch to
the regular client, and turn the lane off (:attr:`DirectConnections.disabled`): a server or
proxy that breaks HTTP's framing once is not trusted with it again. Header values are checked
before anything is written: a control character in one (a CR, LF or NUL from a token server)
is an UnsafeExchangeError and nothing is sent.

Not the safety path: the re-checks right before a DELETE, the check after it, an untag's and
a restore's requests go through the regular client, each on a connection of its own
(``RegistryClient.checking``).

The lane never retries (but once, on a fresh connection, when a pooled one turns out closed
by the server) and never follows a redirect. The first answer of a batch that does not come
in time is an error (:class:`AnswerTimeout`, said in the caller's sentence: asking again the
regular way would wait as long again); a later one that does not come within ``STALL``
seconds of the one before ends pipelining. Pipelined batches answered by fewer than two
requests three times over end pipelining (requests then go one at a time); three requests in
a row without a readable answer, or a connection that cannot be opened in time, turn the lane
off.

Thread-safe: connections are taken from an idle pool, one batch each; ``close`` shuts them.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import h11

from dregtui.core.errors import UnsafeExchangeError
from dregtui.registry.transport import MAX_CONNECT_TIMEOUT
from dregtui.registry.wire import bad_header_value

log = logging.getLogger("dregtui.registry")

MAX_HEAD = 64 * 1024  # the status line and headers of one answer, in bytes
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
    """An answer this lane does not take: the caller sends the request the regular way."""


class _Closed(_Unhandled):
    """The connection closed before a byte of the answer came."""


class _Broken(_Unhandled):
    """The server broke HTTP/1.1's framing: the parser refused its bytes, or it sent bytes no
    request asked for. The lane is turned off."""


class _Connection:
    __slots__ = ("sock", "http")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)

    def spoken_to(self) -> bool:
        """Whether the server sent anything while the connection was idle: its close (which
        is how an idle keep-alive connection ends), or bytes no request asked for
        (:class:`_Broken`)."""
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            raise _Broken("bytes on an idle connection")
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        if isinstance(sock, ssl.SSLSocket):
            return True  # a TLS record: its close or data, either way the connection goes
        try:
            peeked = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return True
        if peeked:
            raise _Broken("bytes on an idle connection")
        return True

    def next_event(self, deadline: float) -> object:
        """h11's next event, reading the socket until there is one before ``deadline``."""
        http = self.http
        while True:
            try:
                event = http.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Broken(f"an answer h11 refuses ({exc})") from None
            if event is not h11.NEED_DATA:
                return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AnswerTimeout("the request's time ran out")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(READ)
            except TimeoutError as exc:
                raise AnswerTimeout(str(exc)) from exc
            if not chunk:
                if http.their_state is h11.SEND_RESPONSE and not http.trailing_data[0]:
                    raise _Closed("the connection closed")
                http.receive_data(b"")  # the end: of a body that runs to it, or too soon
                try:
                    event = http.next_event()
                except h11.RemoteProtocolError as exc:
                    raise _Unhandled(f"the connection closed inside an answer ({exc})") from None
                return event
            http.receive_data(chunk)

    def read(self, request: h11.Request, max_body: int, deadline: float) -> Answer:
        """The answer to ``request`` (written to the socket already; h11 is told of it here,
        so it frames the answer by the request's method)."""
        http = self.http
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
        try:
            http.send(request)
            http.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:  # the state machine says no: a closed cycle
            raise _Unhandled(str(exc)) from None
        event = self.next_event(deadline)
        if isinstance(event, h11.InformationalResponse):
            raise _Unhandled("an interim (1xx) answer")
        if not isinstance(event, h11.Response):
            raise (
                _Closed("no answer")
                if isinstance(event, h11.ConnectionClosed)
                else _Broken(f"{type(event).__name__} where an answer begins")
            )
        headers: dict[str, str] = {}
        size = 0
        for raw_name, raw_value in event.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
            size += len(name) + len(value) + 4
        if size > MAX_HEAD:  # h11 bounds only a header block that comes in pieces
            raise _Unhandled("a header block over 64 KB")
        if headers.get("content-encoding", "identity").lower() != "identity":
            raise _Unhandled("a compressed body (none was asked for)")
        declared = headers.get("content-length")
        if request.method != b"HEAD" and event.status_code not in (204, 304):
            if declared is not None and int(declared) > max_body:  # h11 checked: ASCII digits
                raise _Unhandled("a body over the limit")
            if declared is None and "chunked" not in headers.get("transfer-encoding", ""):
                raise _Unhandled("a body that ends only with the connection")
        body = bytearray()
        while True:
            part = self.next_event(deadline)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > max_body:
                    raise _Unhandled("a body over the limit")
            elif isinstance(part, h11.EndOfMessage):
                return Answer(event.status_code, headers, bytes(body))
            else:
                raise _Broken(f"{type(part).__name__} inside an answer")

    @property
    def reusable(self) -> bool:
        """Whether the last answer left the connection open and its buffer empty."""
        http = self.http
        return (
            http.our_state is h11.DONE
            and http.their_state is h11.DONE
            and not http.trailing_data[0]
        )

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
        self._base = [("Host", self.authority), *headers.items()]
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

    def _pooled(self) -> _Connection | None:
        """An idle connection the server has said nothing on since its last answer."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return None
            try:
                if not conn.spoken_to():
                    return conn
            except _Broken:
                conn.close()
                self._broken("bytes no request asked for on an idle connection")
                return None
            conn.close()

    def _fields(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """The header fields of a request: the connection's and ``headers``, each value
        checked (UnsafeExchangeError, nothing sent, for one that may not go into a header)."""
        fields = [*self._base, *headers.items()]
        for name, value in fields:
            if bad_header_value(value):
                raise UnsafeExchangeError(
                    f"Refusing to send a request to {self.host}: its {name} header holds a "
                    "control character (a CR, LF or NUL) or a character outside latin-1, "
                    "which would change the request itself."
                )
        return fields

    @staticmethod
    def _written(requests: list[h11.Request]) -> bytes:
        """The bytes of ``requests``, as h11 writes them (a client's h11 connection writes
        one request a cycle: each gets a writer of its own)."""
        return b"".join(h11.Connection(h11.CLIENT).send(request) or b"" for request in requests)

    def send_many(
        self, method: str, paths: Sequence[str], headers: Mapping[str, str], max_body: int
    ) -> list[Answer]:
        """The answers to ``method`` of each of ``paths`` (already quoted; ``headers`` added
        to the connection's own), in order: all of them, or those of the first few when the
        rest must go the regular way. Several are sent in one write while :attr:`pipelining`
        holds, else one after the other. Raises AnswerTimeout when the first request went
        out and its answer did not come back in ``timeout`` seconds, UnsafeExchangeError (nothing
        sent) for a header value that may not be sent."""
        if self.disabled or not paths:
            return []
        deadline = time.monotonic() + self.timeout
        fields = self._fields(headers)
        conn = self._pooled()
        with self._lock:
            self.sent += len(paths)
        reused = conn is not None
        answers: list[Answer] = []
        keep = False
        while len(answers) < len(paths):
            done = len(answers)
            batch = paths[done:] if self.pipelining else paths[done : done + 1]
            requests = [h11.Request(method=method, target=p, headers=fields) for p in batch]
            keep = False
            try:
                if conn is None:
                    conn = self._connect(deadline)
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
                conn.sock.sendall(self._written(requests))
                for request in requests:
                    # an answer after the first of a pipelined batch waits STALL at most
                    limit = deadline if len(answers) == done else time.monotonic() + STALL
                    answers.append(conn.read(request, max_body, min(deadline, limit)))
                    if conn.http.their_state is not h11.DONE:
                        break  # the server closes after this one
                keep = conn.reusable
                if not keep and conn.http.trailing_data[0]:
                    raise _Broken("bytes after the last answer of a batch")
            except (_Unhandled, AnswerTimeout, OSError, ValueError) as exc:
                keep = False  # whatever the answers before it said: this connection is done
                if isinstance(exc, _Closed) and reused and not answers and conn is not None:
                    conn.close()  # the server had closed it while it was idle: once more
                    conn, reused = None, False
                    continue
                if isinstance(exc, _Broken):
                    self._broken(str(exc))
                elif isinstance(exc, AnswerTimeout):
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

    def _broken(self, why: str) -> None:
        if not self.disabled:
            log.debug("direct requests to %s are off: %s", self.host, why)
        self.disabled = True

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
                    self._broken("answers unreadable")
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
