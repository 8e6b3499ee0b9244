"""Reading manifests, image configs and blobs, each checked against its digest.

A mixin of :class:`~dregtui.registry.client.RegistryClient`. A batch of one repository's
manifest reads goes through the client's ``_reads`` (``lane.py``): the fast lane where it
has an answer, the regular way (``_head_manifest``, ``_get_manifest_raw``) for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from dregtui.core.errors import (
    NotFoundError,
    ProtocolError,
    RegistryError,
    ResponseTooLargeError,
)
from dregtui.core.oci import digests, mediatypes
from dregtui.core.oci.models import ImageConfig, Manifest, ManifestRef
from dregtui.registry.errors import parse_error_body
from dregtui.registry.wire import (
    body_media_type,
    content_length,
    header_media_type,
    media_type_of,
    megabytes,
    ref_name,
)

if TYPE_CHECKING:
    import requests

    from dregtui.registry.direct import Answer

_T = TypeVar("_T")

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # as distribution
MAX_BLOB_BYTES = 16 * 1024 * 1024  # an image config


class ManifestReads:
    """Needs the client's ``_request``, ``_error``, ``_repo_path``, ``_ref``, ``_reads``,
    ``base_url`` and ``use_get_manifest``."""

    base_url: str
    use_get_manifest: bool

    if TYPE_CHECKING:

        def _request(
            self, method: str, path: str, *, action: str, **kwargs: Any
        ) -> requests.Response: ...
        def _error(self, resp: requests.Response, action: str) -> RegistryError: ...
        def _repo_path(self, repository: str) -> str: ...
        def _ref(self, reference: str) -> str: ...
        def _reads(
            self,
            method: str,
            repository: str,
            references: list[str],
            action: str,
            taken: Callable[[Answer, str], _T | None] | None,
            regular: Callable[[str], _T],
        ) -> list[_T | RegistryError]: ...

    def head_manifests(
        self, repository: str, references: list[str]
    ) -> list[ManifestRef | None | RegistryError]:
        """``head_manifest`` of each of ``references`` (one repository's): for each, what
        it returns or the error it raises; pipelined on the fast lane when it can be."""

        def taken(answer: Answer, reference: str) -> ManifestRef | None:
            digest = answer.headers.get("docker-content-digest")
            if not digest:
                return None  # no digest header: the regular way GETs and hashes the body
            return ManifestRef(
                self._checked_digest(digest, repository, reference),
                media_type_of(answer.headers.get("content-type")),
                content_length(answer.headers.get("content-length")),
            )

        return self._reads(
            "HEAD",
            repository,
            references,
            "resolving",
            None if self.use_get_manifest else taken,
            lambda reference: self._head_manifest(repository, reference),
        )

    def head_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """Resolve a tag or digest to (digest, media type); None when it does not exist."""
        result = self.head_manifests(repository, [reference])[0]
        if isinstance(result, RegistryError):
            raise result
        return result

    def _head_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """``head_manifest`` the regular way."""
        path = f"/v2/{self._repo_path(repository)}/manifests/{self._ref(reference)}"
        action = f"resolving {ref_name(repository, reference)}"
        headers = {"Accept": mediatypes.MANIFEST_ACCEPT}
        if not self.use_get_manifest:
            resp = self._request("HEAD", path, action=action, headers=headers)
            if resp.status_code == 200 and resp.headers.get("Docker-Content-Digest"):
                return ManifestRef(
                    self._checked_digest(
                        resp.headers.get("Docker-Content-Digest"), repository, reference
                    ),
                    header_media_type(resp),
                    content_length(resp.headers.get("Content-Length")),
                )
            if resp.status_code == 404:
                return None
            if resp.status_code not in (200, 400, 405, 501):
                raise self._error(resp, action)
            # No digest header, or HEAD not supported: GET and hash the raw bytes.
        resp = self._manifest_get(path, action, repository, reference)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._error(resp, action)
        raw = resp.content
        media_type = header_media_type(resp) or body_media_type(raw)
        digest = self._body_digest(
            raw, resp.headers.get("Docker-Content-Digest"), repository, reference
        )
        return ManifestRef(digest, media_type, len(raw))

    def _manifest_get(
        self, path: str, action: str, repository: str, reference: str
    ) -> requests.Response:
        """GET a manifest with the full Accept, its body read whole up to MAX_MANIFEST_BYTES."""
        name = ref_name(repository, reference)
        try:
            return self._request(
                "GET",
                path,
                action=action,
                headers={"Accept": mediatypes.MANIFEST_ACCEPT},
                max_body=MAX_MANIFEST_BYTES,
                body_what=f"a manifest for {name}",
            )
        except ResponseTooLargeError as exc:
            raise ResponseTooLargeError(
                f"The registry at {self.base_url} sent a manifest for {name} larger than "
                f"{megabytes(MAX_MANIFEST_BYTES)} while {action}: not reading it; distribution refuses to "
                f"store manifests that large, so check what answers for {name} (a proxy in "
                "front of the registry?).",
                limit=exc.limit,
            ) from None

    def _checked_digest(self, header: str | None, repository: str, reference: str) -> str:
        """The ``Docker-Content-Digest`` of a HEAD, checked against the OCI digest grammar
        (a HEAD has no bytes to hash; the deletion re-checks by digest)."""
        return digests.check(
            header, registry=self.base_url, what=f"the digest of {ref_name(repository, reference)}"
        )

    def _body_digest(self, raw: bytes, header: str | None, repository: str, reference: str) -> str:
        """The digest of a manifest body fetched under ``reference``, verified against the
        bytes: by digest, the body must hash to it; by tag, to ``Docker-Content-Digest``."""
        return digests.verify_body(
            raw,
            reference=reference,
            header=header,
            registry=self.base_url,
            what=f"the manifest {ref_name(repository, reference)}",
        )

    def get_manifests(
        self, repository: str, references: list[str]
    ) -> list[Manifest | RegistryError]:
        """``get_manifest`` of each of ``references`` (one repository's): for each, the
        manifest or the error it raises; pipelined on the fast lane when it can be."""

        def taken(answer: Answer, reference: str) -> Manifest:
            raw, header = answer.body, answer.headers.get("docker-content-digest")
            digest = self._body_digest(raw, header, repository, reference)
            return _manifest_from_body(
                raw, media_type_of(answer.headers.get("content-type")), digest
            )

        return self._reads(
            "GET",
            repository,
            references,
            "fetching the manifest",
            taken,
            lambda reference: _manifest_from_body(*self._get_manifest_raw(repository, reference)),
        )

    def _get_manifest_raw(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """Body, media type and verified digest (see ``_body_digest``) of a manifest, the
        regular way."""
        digests.check_reference(reference)
        path = f"/v2/{self._repo_path(repository)}/manifests/{self._ref(reference)}"
        action = f"fetching the manifest {ref_name(repository, reference)}"
        resp = self._manifest_get(path, action, repository, reference)
        if resp.status_code == 404:
            raise NotFoundError(
                f"The manifest {ref_name(repository, reference)} does not exist.",
                status=404,
                code=parse_error_body(resp).code,
            )
        if resp.status_code != 200:
            raise self._error(resp, action)
        raw = resp.content
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ProtocolError(
                f"The manifest {ref_name(repository, reference)} is implausibly large."
            )
        header = resp.headers.get("Docker-Content-Digest")
        return raw, header_media_type(resp), self._body_digest(raw, header, repository, reference)

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        result = self.get_manifests(repository, [reference])[0]
        if isinstance(result, RegistryError):
            raise result
        return result

    def get_config(self, repository: str, manifest: Manifest) -> ImageConfig:
        """The image config (created, os/arch, labels). For an index: its first linux/amd64
        child, else its first child. Empty when the manifest has no config blob."""
        if manifest.is_index:
            if not manifest.manifests:
                return ImageConfig()
            child = next(
                (
                    d
                    for d in manifest.manifests
                    if d.platform and (d.platform.os, d.platform.architecture) == ("linux", "amd64")
                ),
                manifest.manifests[0],
            )
            manifest = self.get_manifest(repository, child.digest)
            if manifest.is_index:
                return ImageConfig()
        if manifest.config is None:
            return ImageConfig()
        return ImageConfig.parse(self.get_blob(repository, manifest.config.digest))

    def get_blob(self, repository: str, digest: str) -> bytes:
        """The blob's bytes, which must hash to ``digest``."""
        digests.check_reference(digest)
        action = f"fetching the blob {digest} of {repository}"
        resp = self._request(
            "GET",
            f"/v2/{self._repo_path(repository)}/blobs/{self._ref(digest)}",
            action=action,
            max_body=MAX_BLOB_BYTES,
            body_what=f"a blob {digest}",
        )
        if resp.status_code == 404:
            raise NotFoundError(f"The blob {digest} is not in {repository}.", status=404)
        if resp.status_code != 200:
            raise self._error(resp, action)
        raw = resp.content
        digests.verify_body(
            raw, reference=digest, header=None, registry=self.base_url, what=f"the blob {digest}"
        )
        return raw

    def blob_exists(self, repository: str, digest: str) -> bool:
        action = f"checking the blob {digest} of {repository}"
        resp = self._request(
            "HEAD", f"/v2/{self._repo_path(repository)}/blobs/{self._ref(digest)}", action=action
        )
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise self._error(resp, action)


def _manifest_from_body(raw: bytes, media_type: str, digest: str) -> Manifest:
    """The manifest in ``raw``, by its header's media type, else the one its body names."""
    return Manifest.parse(raw, digest, media_type or body_media_type(raw))
