"""RegistryClient: the one place that speaks the Docker Registry v2 / OCI distribution API.

One ``requests.Session`` per client, its connection pool sized to the scanner's workers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin

import requests

from dregtui.registry import mediatypes
from dregtui.registry.errors import (
    DELETE_HINT,
    DeletionDisabledError,
    NotFoundError,
    ProtocolError,
    RegistryError,
)
from dregtui.registry.models import DeleteOutcome, Manifest, ManifestRef

DEFAULT_TIMEOUT = 30.0


def normalize_url(url: str) -> str:
    """``host:5000`` -> ``https://host:5000``; strips a trailing slash and ``/v2``."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    url = url.rstrip("/")
    if url.endswith("/v2"):
        url = url[:-3]
    return url


class RegistryClient:
    """Talks to one registry. Thread-safe for concurrent reads (the scanner shares it)."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        digest_auth: bool = False,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        use_get_manifest: bool = False,
        pool_size: int = 16,
        docker_config: str | None = None,
    ) -> None:
        self.base_url = normalize_url(url)
        self.timeout = timeout
        self.use_get_manifest = use_get_manifest
        self.session = requests.Session()
        self.session.verify = verify
        self.session.cert = cert
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if username is not None:
            self.session.auth = (username, password or "")

    # -- plumbing -------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if "://" in path:
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, self._url(path), **kwargs)
        except requests.ConnectionError as exc:
            raise RegistryError(f"Cannot reach the registry at {self.base_url}.") from exc

    @staticmethod
    def _repo_path(repository: str) -> str:
        return quote(repository, safe="/")

    # -- API ------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: raises if this is not a reachable registry we may talk to."""
        resp = self._request("GET", "/v2/")
        if resp.status_code != 200:
            raise RegistryError(f"The registry at {self.base_url} answered {resp.status_code}.")

    def iter_catalog(self, page_size: int | None = None) -> Iterator[str]:
        """Every repository name, following ``Link: <...>; rel="next"`` until it stops."""
        path: str | None = "/v2/_catalog" + (f"?n={page_size}" if page_size else "")
        while path:
            resp = self._request("GET", path)
            if resp.status_code != 200:
                raise RegistryError(f"The catalog request failed with {resp.status_code}.")
            yield from resp.json().get("repositories") or []
            path = resp.links.get("next", {}).get("url")

    def list_repositories(self) -> list[str]:
        return sorted(set(self.iter_catalog()))

    def list_tags(self, repository: str) -> list[str]:
        """All tag names of a repository (unsorted, deduplicated); [] when it has none."""
        tags: list[str] = []
        path: str | None = f"/v2/{self._repo_path(repository)}/tags/list"
        while path:
            resp = self._request("GET", path)
            if resp.status_code == 404:
                return []
            if resp.status_code != 200:
                raise RegistryError(f"Listing tags of {repository} failed with {resp.status_code}.")
            tags.extend(resp.json().get("tags") or [])
            path = resp.links.get("next", {}).get("url")
        return list(dict.fromkeys(tags))

    def head_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """Resolve a tag or digest to (digest, media type); None when it does not exist."""
        method = "GET" if self.use_get_manifest else "HEAD"
        resp = self._request(
            method,
            f"/v2/{self._repo_path(repository)}/manifests/{reference}",
            headers={"Accept": mediatypes.MANIFEST_ACCEPT},
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise RegistryError(f"Resolving {repository}:{reference} failed with {resp.status_code}.")
        digest = resp.headers.get("Docker-Content-Digest")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if not digest:
            body = resp.content if method == "GET" else self._get_manifest_raw(repository, reference)[0]
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
        size = resp.headers.get("Content-Length")
        return ManifestRef(digest, media_type, int(size) if size and size.isdigit() else None)

    def _get_manifest_raw(self, repository: str, reference: str) -> tuple[bytes, str, str | None]:
        resp = self._request(
            "GET",
            f"/v2/{self._repo_path(repository)}/manifests/{reference}",
            headers={"Accept": mediatypes.MANIFEST_ACCEPT},
        )
        if resp.status_code == 404:
            raise NotFoundError(f"The manifest {repository}:{reference} does not exist.", status=404)
        if resp.status_code != 200:
            raise RegistryError(f"Fetching {repository}:{reference} failed with {resp.status_code}.")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        return resp.content, media_type, resp.headers.get("Docker-Content-Digest")

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        raw, media_type, digest = self._get_manifest_raw(repository, reference)
        computed = "sha256:" + hashlib.sha256(raw).hexdigest()
        return Manifest.parse(raw, digest or computed, media_type)

    def get_blob(self, repository: str, digest: str) -> bytes:
        resp = self._request("GET", f"/v2/{self._repo_path(repository)}/blobs/{digest}")
        if resp.status_code == 404:
            raise NotFoundError(f"The blob {digest} is not in {repository}.", status=404)
        if resp.status_code != 200:
            raise RegistryError(f"Fetching blob {digest} failed with {resp.status_code}.")
        return resp.content

    def blob_exists(self, repository: str, digest: str) -> bool:
        resp = self._request("HEAD", f"/v2/{self._repo_path(repository)}/blobs/{digest}")
        return resp.status_code == 200

    def upload_blob(self, repository: str, data: bytes) -> str:
        """Monolithic blob upload (POST then PUT with the digest); returns the digest.

        Skips the upload when the registry already has the blob in that repository.
        """
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.blob_exists(repository, digest):
            return digest
        resp = self._request("POST", f"/v2/{self._repo_path(repository)}/blobs/uploads/")
        if resp.status_code != 202 or "Location" not in resp.headers:
            raise RegistryError(f"Starting a blob upload to {repository} failed with {resp.status_code}.")
        location = urljoin(self._url(f"/v2/{self._repo_path(repository)}/blobs/uploads/"), resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        resp = self._request(
            "PUT",
            f"{location}{sep}digest={quote(digest)}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if resp.status_code != 201:
            raise RegistryError(f"Uploading blob {digest} to {repository} failed with {resp.status_code}.")
        return digest

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str:
        """Upload a manifest under a tag or digest; returns its digest."""
        resp = self._request(
            "PUT",
            f"/v2/{self._repo_path(repository)}/manifests/{reference}",
            data=raw,
            headers={"Content-Type": media_type},
        )
        if resp.status_code not in (200, 201):
            raise RegistryError(f"Uploading {repository}:{reference} failed with {resp.status_code}.")
        return resp.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(raw).hexdigest()

    def delete_manifest(self, repository: str, digest: str) -> str:
        """DELETE by digest. Returns DeleteOutcome.DELETED or NOT_FOUND; raises when disabled."""
        resp = self._request("DELETE", f"/v2/{self._repo_path(repository)}/manifests/{digest}")
        if resp.status_code in (200, 202):
            return DeleteOutcome.DELETED
        if resp.status_code == 404:
            return DeleteOutcome.NOT_FOUND
        if resp.status_code == 405:
            raise DeletionDisabledError(
                f"The registry does not allow deleting manifests: {DELETE_HINT}.", status=405
            )
        raise RegistryError(f"Deleting {repository}@{digest} failed with {resp.status_code}.")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise ProtocolError("The registry answered with malformed JSON.") from exc
