"""A tiny stateful in-memory registry that deletes by tag like distribution 3.

The real registry in the tests (distribution 2.8) answers ``DELETE /v2/<name>/manifests/<tag>``
with ``400 DIGEST_INVALID``; distribution 3 (and other OCI registries) remove just that tag.
This fake implements only what the untag path needs: catalog, tag list, manifest
HEAD/GET/PUT/DELETE (by digest: every tag on it goes; by tag, per ``tag_delete``: ``"tag"``
only that tag, as distribution 3; ``"unsupported"`` 400 DIGEST_INVALID, as 2.8; ``"manifest"``
the whole manifest with every tag on it, as some registries do), blob HEAD and monolithic
upload. Every request is recorded as ``(method, path)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from support.httpserver import LoopbackServer

_ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)/(?P<ref>.*)$")
API = {"Docker-Distribution-API-Version": "registry/2.0"}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class OciRegistry:
    def __init__(self, *, tag_delete: str = "tag") -> None:
        self.tag_delete = tag_delete
        self.manifests: dict[str, dict[str, tuple[bytes, str]]] = {}  # repo -> digest -> body
        self.tags: dict[str, dict[str, str]] = {}  # repo -> tag -> digest
        self.blobs: dict[str, set[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((self.command, self.path))
                    status, headers, payload = fake.handle(
                        self.command, self.path, body, self.headers.get("Content-Type", "")
                    )
                self.send_response(status)
                for key, value in {**API, **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815

        self.server = LoopbackServer(Handler)

    def start(self) -> OciRegistry:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def count(self, method: str, pattern: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and re.search(pattern, p))

    # -- the protocol ----------------------------------------------------------------

    def handle(
        self, method: str, target: str, body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = unquote(split.path)
        if path == "/v2/":
            return 200, {"Content-Type": "application/json"}, b"{}"
        if path == "/v2/_catalog":
            return self._json({"repositories": sorted(r for r in self.tags if self.tags[r])})
        match = _ROUTE.match(path)
        if not match:
            return self._error(404, "NAME_UNKNOWN")
        name, kind, ref = match["name"], match["kind"], match["ref"]
        if kind == "tags":
            return self._json({"name": name, "tags": sorted(self.tags.get(name, {}))})
        if kind == "blobs":
            return self._blob(method, name, ref, body, parse_qs(split.query))
        return self._manifest(method, name, ref, body, content_type)

    def _blob(
        self, method: str, name: str, ref: str, body: bytes, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "HEAD":
            return (200, {}, b"") if ref in self.blobs.get(name, set()) else (404, {}, b"")
        if method == "POST" and ref == "uploads/":
            return 202, {"Location": f"/v2/{name}/blobs/uploads/{uuid.uuid4().hex}"}, b""
        if method == "PUT" and ref.startswith("uploads/"):
            digest = query.get("digest", [""])[0]
            if digest != _digest(body):
                return self._error(400, "DIGEST_INVALID")
            self.blobs.setdefault(name, set()).add(digest)
            return 201, {"Docker-Content-Digest": digest}, b""
        return self._error(405, "UNSUPPORTED")

    def _manifest(
        self, method: str, name: str, ref: str, body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        manifests = self.manifests.setdefault(name, {})
        tags = self.tags.setdefault(name, {})
        is_digest = ref.startswith("sha256:")
        if method == "PUT":
            digest = _digest(body)
            manifests[digest] = (body, content_type or json.loads(body).get("mediaType", ""))
            if not is_digest:
                tags[ref] = digest
            return 201, {"Docker-Content-Digest": digest}, b""
        digest = ref if is_digest else tags.get(ref, "")
        if digest not in manifests:
            return self._error(404, "MANIFEST_UNKNOWN")
        if method in ("GET", "HEAD"):
            raw, media_type = manifests[digest]
            headers = {"Docker-Content-Digest": digest, "Content-Type": media_type}
            return 200, headers, raw
        if method == "DELETE":
            if not is_digest and self.tag_delete != "manifest":
                if self.tag_delete == "unsupported":
                    return self._error(400, "DIGEST_INVALID")
                del tags[ref]  # distribution 3: only the tag goes
                return 202, {}, b""
            del manifests[digest]
            for tag in [t for t, d in tags.items() if d == digest]:
                del tags[tag]
            return 202, {}, b""
        return self._error(405, "UNSUPPORTED")

    @staticmethod
    def _json(doc: object) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()

    @staticmethod
    def _error(status: int, code: str) -> tuple[int, dict[str, str], bytes]:
        doc = {"errors": [{"code": code, "message": code.lower().replace("_", " ")}]}
        return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()
