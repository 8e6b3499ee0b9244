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
from collections.abc import Callable
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

    def payload(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body


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
        handler.send_response(reply.status)
        for key, value in reply.headers.items():
            handler.send_header(key, value)
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
STREAM_BYTES = 64 * 1024 * 1024


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


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0)."""
    sock: socket.socket = handler.connection
    try:
        handler.wfile.flush()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
