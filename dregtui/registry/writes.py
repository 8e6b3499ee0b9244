"""The operations that change a registry: blob upload, manifest PUT, DELETE by digest or tag.

A mixin of :class:`~dregtui.registry.client.RegistryClient` (kept apart from the reads so each
module holds one idea). Retry policy: a manifest PUT is idempotent and retried like a read;
POST/blob PUT/DELETE are only resent when they surely did not reach the registry.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from dregtui.core.errors import (
    DELETE_HINT,
    DeletionDisabledError,
    NotFoundError,
    ProtocolError,
    RegistryError,
)
from dregtui.core.oci import digests, mediatypes
from dregtui.core.oci.models import DeleteOutcome
from dregtui.registry.errors import (
    parse_error_body,
)
from dregtui.registry.wire import ref_name, sha256_digest, with_query

if TYPE_CHECKING:
    import requests

DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


class WriteOperations:
    """Needs the client's ``_request``, ``_url``, ``_repo_path``, ``_ref``, ``_error``,
    ``blob_exists`` and ``base_url``."""

    base_url: str

    if TYPE_CHECKING:

        def _request(
            self, method: str, path: str, *, action: str, **kwargs: Any
        ) -> requests.Response: ...
        def _url(self, path: str) -> str: ...
        def _repo_path(self, repository: str) -> str: ...
        def _ref(self, reference: str) -> str: ...
        def _error(self, resp: requests.Response, action: str) -> RegistryError: ...
        def blob_exists(self, repository: str, digest: str) -> bool: ...

    def upload_blob(self, repository: str, data: bytes) -> str:
        """Monolithic blob upload (POST then PUT with the digest); returns the digest.

        Skips the upload when the registry already has the blob in that repository.
        """
        digest = sha256_digest(data)
        if self.blob_exists(repository, digest):
            return digest
        action = f"uploading a blob to {repository}"
        start = self._url(f"/v2/{self._repo_path(repository)}/blobs/uploads/")
        resp = self._request("POST", start, action=action)
        if resp.status_code != 202 or "Location" not in resp.headers:
            raise self._error(resp, action)
        location = urljoin(start, resp.headers["Location"])
        resp = self._request(
            "PUT",
            with_query(location, digest=digest),
            action=action,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if resp.status_code not in (201, 204):
            raise self._error(resp, action)
        return digest

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str:
        """Upload a manifest under a tag or digest; returns its digest. Safe to retry: the
        same bytes under the same reference leave the registry in the same state."""
        action = f"uploading the manifest {ref_name(repository, reference)}"
        resp = self._request(
            "PUT",
            f"/v2/{self._repo_path(repository)}/manifests/{self._ref(reference)}",
            action=action,
            idempotent=True,
            data=raw,
            headers={"Content-Type": media_type},
        )
        if resp.status_code not in (200, 201, 202):
            raise self._error(resp, action)
        return digests.verify_body(
            raw,
            reference=reference,
            header=resp.headers.get("Docker-Content-Digest"),
            registry=self.base_url,
            what=f"the manifest uploaded as {ref_name(repository, reference)}",
        )

    def delete_manifest(self, repository: str, digest: str, *, check: bool = True) -> str:
        """DELETE by digest. Returns DeleteOutcome.DELETED or NOT_FOUND; raises
        DeletionDisabledError when the registry does not allow deletes.

        With ``check`` (the default) a manifest request with the full Accept must first
        prove that ``digest`` is a manifest in ``repository``: distribution 2.8 also
        "deletes" a blob digest sent here, which breaks every image using that blob.
        Not retried once the DELETE may have reached the registry (a lost answer is not
        proof either way: check with head_manifest)."""
        if not DIGEST_RE.fullmatch(digest):
            raise RegistryError(f"{digest!r} is not a digest; only digests can be deleted.")
        action = f"deleting {repository}@{digest}"
        if check and not self._is_manifest(repository, digest):
            return DeleteOutcome.NOT_FOUND
        resp = self._request(
            "DELETE",
            f"/v2/{self._repo_path(repository)}/manifests/{self._ref(digest)}",
            action=action,
        )
        if resp.status_code in (200, 202, 204):
            return DeleteOutcome.DELETED
        if resp.status_code == 404:
            return DeleteOutcome.NOT_FOUND
        body = parse_error_body(resp)
        if resp.status_code == 405 or "UNSUPPORTED" in body.codes:
            raise DeletionDisabledError(
                f"The registry at {self.base_url} does not allow deleting manifests "
                f"({body.summary(resp.status_code)}): {DELETE_HINT}.",
                status=resp.status_code,
                code=body.code,
            )
        raise self._error(resp, action)

    def _is_manifest(self, repository: str, digest: str) -> bool:
        """True if the registry serves ``digest`` as a manifest; False if unknown (404).
        Anything else (2.8 answers 500 for a blob digest) refuses the deletion."""
        path = f"/v2/{self._repo_path(repository)}/manifests/{self._ref(digest)}"
        action = f"checking that {repository}@{digest} is a manifest"
        headers = {"Accept": mediatypes.MANIFEST_ACCEPT}
        method = "GET" if getattr(self, "use_get_manifest", False) else "HEAD"
        resp = self._request(method, path, action=action, headers=headers, retries=1)
        if method == "HEAD" and resp.status_code in (400, 405, 501):
            resp = self._request("GET", path, action=action, headers=headers, retries=1)
        if resp.status_code == 404:
            return False
        if resp.status_code in (401, 403):
            raise self._error(resp, action)
        served = resp.headers.get("Docker-Content-Digest")
        if resp.status_code == 200 and (not served or served == digest):
            return True
        what = parse_error_body(resp).summary(resp.status_code)
        raise ProtocolError(
            f"Refusing to delete {repository}@{digest}: the registry does not serve it as a "
            f"manifest ({what}); deleting a blob digest this way would break images.",
            status=resp.status_code,
        )

    def delete_tag(self, repository: str, tag: str) -> bool:
        """OCI delete-by-tag (untag only). True when the registry removed just the tag;
        False when it does not support it (distribution 2.8: 400 DIGEST_INVALID, 405,
        UNSUPPORTED). Raises NotFoundError when the tag does not exist."""
        action = f"deleting the tag {repository}:{tag}"
        resp = self._request(
            "DELETE", f"/v2/{self._repo_path(repository)}/manifests/{self._ref(tag)}", action=action
        )
        if resp.status_code in (200, 202, 204):
            return True
        body = parse_error_body(resp)
        if resp.status_code in (400, 405, 501) or "UNSUPPORTED" in body.codes:
            return False
        if resp.status_code == 404:
            raise NotFoundError(
                f"The tag {repository}:{tag} does not exist.", status=404, code=body.code
            )
        raise self._error(resp, action)
