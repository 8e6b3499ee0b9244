"""A scripted fake registry for what a real one cannot be made to do.

Malformed JSON, HTML error pages, 429/5xx storms, connections reset mid-response, a server
that dies half-way. Each route holds a queue of replies; the last one repeats. Every
request is recorded (method, path with query, headers).
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.httpserver import LoopbackServer

API_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # "reply": normal answer; "reset": headers and part of the body, then a TCP reset;
    # "close": close the connection without answering; "trickle": headers (a large
    # Content-Length), then one byte every 0.1 s; "stall": headers, then nothing; "endless": a
    # chunked body that never ends. The last three stop by themselves after STREAM_LIMIT s (or
    # STREAM_BYTES bytes) or when the client hangs up.
    action: str = "reply"
    delay: float = 0.0  # seconds to wait before answering (to provoke read timeouts)
    large: Large | None = None  # a body too big to hold: written piece by piece
    # Framing a real server would not send, written byte for byte: each line of the status
    # line and headers ends with ``line_end`` (b"\n": bare LF, which http.client reads), and
    # ``content_length`` replaces the Content-Length value ("²": str.isdigit() calls it a
    # digit; the head is latin-1, as HTTP reads it). The body follows (not for a HEAD); the
    # connection stays open, but after a replaced Content-Length (where the body ends is then
    # anybody's guess: the server hangs up).
    line_end: bytes = b"\r\n"
    content_length: str | None = None

    def payload(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body


@dataclass(frozen=True)
class Large:
    """``head + unit * count + tail``, generated while it is sent (a 100 MB manifest, a tag
    list of five million names) with its Content-Length, or chunked without one. The
    client may hang up at any point: the rest is not sent. ``stall``: after ``head``, one
    space every 0.05 s (bounded by STREAM_LIMIT), so only a client that refuses the body
    from its Content-Length alone answers at once."""

    head: bytes
    unit: bytes
    count: int
    tail: bytes = b""
    chunked: bool = False
    stall: bool = False

    @property
    def size(self) -> int:
        return len(self.head) + len(self.unit) * self.count + len(self.tail)

    def pieces(self, piece: int = 256 * 1024) -> Iterator[bytes]:
        per = max(1, piece // max(1, len(self.unit)))
        block = self.unit * per
        yield self.head
        full, rest = divmod(self.count, per)
        for _ in range(full):
            yield block
        yield self.unit * rest + self.tail


def json_reply(doc: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, doc, {"Content-Type": "application/json", **API_HEADER, **headers})


def manifest_reply(media_type: str, doc: dict[str, Any] | None = None) -> Reply:
    """A manifest answer whose Docker-Content-Digest is the hash of its body (GET or HEAD)."""
    body = json.dumps(doc or {"schemaVersion": 2, "mediaType": media_type}).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    return Reply(
        200, body, {"Content-Type": media_type, "Docker-Content-Digest": digest, **API_HEADER}
    )


def serve_manifest(fake: Any, path: str, reply: Reply) -> None:
    """Route GET and HEAD of a manifest path to the same answer (the scan GETs by tag)."""
    fake.route("GET", path, reply)
    fake.route("HEAD", path, reply)


def error_reply(status: int, code: str, message: str, **headers: str) -> Reply:
    return json_reply({"errors": [{"code": code, "message": message}]}, status, **headers)


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)


class FakeRegistry:
    def __init__(self) -> None:
        self.routes: dict[
            tuple[str, str], list[Reply | Callable[[str, dict[str, str]], Reply]]
        ] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.route("GET", "/v2/", json_reply({}))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                fake._serve(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _serve  # noqa: N815

        self.server = LoopbackServer(Handler)

    def start(self) -> FakeRegistry:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def route(
        self, method: str, path: str, *replies: Reply | Callable[[str, dict[str, str]], Reply]
    ) -> None:
        """Queue replies (or callables ``(path, headers) -> Reply``) for ``method path`` (the path with query matches first, then without)."""
        with self._lock:
            self.routes[(method.upper(), path)] = list(replies)

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.split("?")[0] == path)

    def _next(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        with self._lock:
            self.requests.append((method, path, headers))
            queue = self.routes.get((method, path)) or self.routes.get((method, path.split("?")[0]))
            if queue is None and method == "HEAD":
                queue = self.routes.get(("GET", path)) or self.routes.get(
                    ("GET", path.split("?")[0])
                )
            if not queue:
                return None
            item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item(path, headers) if callable(item) else item

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        method = handler.command
        reply = self._next(method, handler.path, dict(handler.headers.items()))
        if reply is None:
            reply = error_reply(404, "NAME_UNKNOWN", "repository name not known to registry")
        body = reply.payload()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.action == "close":
            handler.close_connection = True
            _reset(handler)
            return
        if reply.line_end != b"\r\n" or reply.content_length is not None:
            _raw(handler, reply, body, send=method != "HEAD")
            return
        handler.send_response(reply.status)
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        if reply.large is not None:
            _large(handler, reply.large, send=method != "HEAD")
            return
        if reply.action in ("trickle", "stall", "endless"):
            _stream(handler, reply.action)
            return
        if reply.action == "reset":
            handler.send_header("Content-Length", str(len(body) + 1000))
            handler.end_headers()
            handler.wfile.write(body[: max(1, len(body) // 2)])
            handler.wfile.flush()
            handler.close_connection = True
            _reset(handler)
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(body)


STREAM_LIMIT = 8.0
STREAM_BYTES = 96 * 1024 * 1024  # more than the largest body read (a 64 MB tag list page)


def _stream(handler: BaseHTTPRequestHandler, action: str) -> None:
    """A hostile body, bounded in time and bytes (see Reply.action)."""
    endless = action == "endless"
    if endless:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(10**6))
    handler.end_headers()
    handler.close_connection = True
    stop = time.monotonic() + STREAM_LIMIT
    sent = 0
    chunk = b"[" + b"0," * 32767 + b"0"
    try:
        handler.wfile.flush()
        while time.monotonic() < stop and sent < STREAM_BYTES:
            if endless:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            elif action == "trickle":
                handler.wfile.write(b"{")
                handler.wfile.flush()
                time.sleep(0.1)
            else:
                time.sleep(0.1)
    except OSError:
        pass  # the client hung up: what we want


def _large(handler: BaseHTTPRequestHandler, large: Large, *, send: bool) -> None:
    if large.chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(large.size))
    handler.end_headers()
    handler.close_connection = True
    if not send:
        return
    try:
        if large.stall:
            handler.wfile.write(large.head)
            stop = time.monotonic() + STREAM_LIMIT
            while time.monotonic() < stop:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
            return
        for piece in large.pieces():
            if large.chunked and piece:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            elif piece:
                handler.wfile.write(piece)
        if large.chunked:
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except OSError:
        pass  # the client hung up: what a bounded reader does


def _raw(handler: BaseHTTPRequestHandler, reply: Reply, body: bytes, *, send: bool) -> None:
    """The answer with ``reply.line_end`` line ends and ``reply.content_length`` (see Reply)."""
    reason = handler.responses.get(reply.status, ("",))[0]
    lines = [f"HTTP/1.1 {reply.status} {reason}"]
    lines += [f"{key}: {value}" for key, value in reply.headers.items()]
    length = reply.content_length if reply.content_length is not None else str(len(body))
    lines.append(f"Content-Length: {length}")
    end = reply.line_end
    head = end.join(line.encode("latin-1") for line in lines) + end + end
    handler.wfile.write(head + (body if send else b""))
    handler.wfile.flush()
    if reply.content_length is not None:
        handler.close_connection = True


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0)."""
    sock: socket.socket = handler.connection
    try:
        handler.wfile.flush()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
