"""Listing a registry: the repositories (``/v2/_catalog``) and a repository's tags
(``/v2/<name>/tags/list``), page by page.

A mixin of :class:`~dregtui.registry.client.RegistryClient`. Pages follow ``Link: <...>;
rel="next"``; a refused page size (``PAGINATION_NUMBER_INVALID``) is asked again smaller;
a tag list sent as one page is read within ``MAX_TAG_PAGE_BYTES`` and ``MAX_TAG_PAGE_NAMES``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from dregtui.core.errors import (
    CATALOG_HINT,
    CatalogUnavailableError,
    ProtocolError,
    RegistryError,
    ResponseTooLargeError,
)
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import Descriptor, Manifest
from dregtui.registry.errors import parse_error_body
from dregtui.registry.wire import megabytes, with_query

if TYPE_CHECKING:
    import requests

    from dregtui.registry.credentials import Credentials

log = logging.getLogger("dregtui.registry")

CATALOG_PAGE = 1000
TAG_PAGE = 1000  # tags asked for per page (n=); distribution 2.8 ignores it and sends all
# One tags/list page, as read whole: distribution 2.8 sends every tag in one page (a million
# CI tags such as ``20240115-3f2a9c1`` are 19 MB, full-length commit hashes 47 MB), so the
# limits are per page, in bytes and in names (each name costs ~100 bytes once parsed).
MAX_TAG_PAGE_BYTES = 64 * 1024 * 1024
MAX_TAG_PAGE_NAMES = 2_000_000
MAX_PAGES = 100_000
MAX_REFERRERS_BYTES = 4 * 1024 * 1024  # an index of referrers, as a manifest at most


class Listing:
    """Needs the client's ``_request``, ``_url``, ``_error``, ``_repo_path``, ``ping``,
    ``credentials`` and ``base_url``."""

    base_url: str
    credentials: Credentials

    if TYPE_CHECKING:

        def _request(
            self, method: str, path: str, *, action: str, **kwargs: Any
        ) -> requests.Response: ...
        def _url(self, path: str) -> str: ...
        def _error(self, resp: requests.Response, action: str) -> RegistryError: ...
        def _repo_path(self, repository: str) -> str: ...
        def ping(self) -> None: ...

    def _next_link(self, resp: requests.Response, current: str, seen: set[str]) -> str | None:
        link = resp.links.get("next", {}).get("url")
        if not link:
            return None
        nxt = urljoin(current, link)
        if nxt in seen:
            raise ProtocolError(f"The registry at {self.base_url} returned a pagination loop.")
        if len(seen) >= MAX_PAGES:
            raise ProtocolError(f"The registry at {self.base_url} returned too many pages.")
        seen.add(nxt)
        return nxt

    def _json(self, resp: requests.Response, action: str) -> Any:
        try:
            return json.loads(resp.content)
        # RecursionError: arrays nested deeper than Python's stack ("[[[[..."), as malformed
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ProtocolError(
                f"The registry at {self.base_url} answered malformed JSON while {action}."
            ) from exc

    def iter_catalog(self, page_size: int | None = CATALOG_PAGE) -> Iterator[str]:
        """Every repository name, following ``Link: <...>; rel="next"`` until it stops.

        Falls back to a smaller ``n`` when the registry answers ``PAGINATION_NUMBER_INVALID``.
        Raises CatalogUnavailableError when the registry does not serve the catalog.
        """
        for page in self.iter_catalog_pages(page_size):
            yield from page

    def iter_catalog_pages(self, page_size: int | None = CATALOG_PAGE) -> Iterator[list[str]]:
        """The catalog one page at a time (one request each, bar a refused ``n``): what
        :meth:`iter_catalog` walks, for a caller that fetches the next page only when it
        needs more names (the scanner)."""
        action = "listing the repositories"
        url: str | None = self._url("/v2/_catalog" + (f"?n={page_size}" if page_size else ""))
        seen: set[str] = {url} if url else set()
        while url:
            resp = self._request("GET", url, action=action, body_what="a catalog page")
            if resp.status_code == 400 and page_size:
                page_size = self._smaller_page(resp, page_size, action)
                url = with_query(url, n=str(page_size))
                continue
            if resp.status_code in (401, 403, 404):
                self._catalog_refused(resp)
            if resp.status_code != 200:
                raise self._error(resp, action)
            yield self._names(resp, action, "repositories", "a malformed catalog")
            url = self._next_link(resp, url, seen)

    def _smaller_page(self, resp: requests.Response, page_size: int, action: str) -> int:
        """The ``n`` to ask for after a ``400 PAGINATION_NUMBER_INVALID`` to ``n=page_size``
        (distribution refuses ``n`` above ``catalog.maxentries``); any other 400 is raised."""
        if "PAGINATION_NUMBER_INVALID" not in parse_error_body(resp).codes:
            raise self._error(resp, action)
        smaller = 100 if page_size > 100 else page_size // 2
        if smaller < 1:
            raise self._error(resp, action)
        log.debug("page size %d refused while %s, retrying with n=%d", page_size, action, smaller)
        return smaller

    def _names(self, resp: requests.Response, action: str, key: str, malformed: str) -> list[str]:
        """The non-empty strings of ``key`` in a catalog or tag-list page (null/missing: none)."""
        doc = self._json(resp, action)
        found = doc.get(key) if isinstance(doc, dict) else None
        if found is not None and not isinstance(found, list):
            raise ProtocolError(f"The registry at {self.base_url} answered {malformed}.")
        return [name for name in found or () if isinstance(name, str) and name]

    def _catalog_refused(self, resp: requests.Response) -> None:
        status = resp.status_code
        body = parse_error_body(resp)
        what = body.summary(status)
        self.ping()  # wrong credentials or not-a-registry are reported as such
        hint = CATALOG_HINT
        if status == 401 and not self.credentials.present:
            hint += (
                ", or log in (-u/-p, REGISTRY_USER and REGISTRY_PASSWORD, or docker login): "
                "many registries list them only to a signed-in user"
            )
        raise CatalogUnavailableError(
            f"The registry at {self.base_url} does not list its repositories (_catalog answered "
            f"{what}); {hint}.",
            status=status,
            code=body.code,
        )

    def list_repositories(self) -> list[str]:
        return sorted(set(self.iter_catalog()))

    def list_tags(self, repository: str) -> list[str]:
        """All tag names of a repository (unsorted, deduplicated); [] when it has none.

        Asks for pages of ``TAG_PAGE`` names and follows ``Link``; a registry that ignores
        ``n`` (distribution 2.8) sends them all in one page, read if it stays within
        ``MAX_TAG_PAGE_BYTES`` and ``MAX_TAG_PAGE_NAMES``, else ResponseTooLargeError.
        """
        action = f"listing the tags of {repository}"
        found: dict[str, None] = {}
        plain = self._url(f"/v2/{self._repo_path(repository)}/tags/list")
        page_size: int | None = TAG_PAGE
        url: str | None = with_query(plain, n=str(TAG_PAGE))
        seen: set[str] = set()
        while url:
            resp = self._tag_page(url, repository, action)
            if resp.status_code == 400 and page_size and not seen:  # the first page
                if "PAGINATION_NUMBER_INVALID" in parse_error_body(resp).codes:
                    page_size = self._smaller_page(resp, page_size, action)
                    url = with_query(plain, n=str(page_size))
                else:  # a registry that knows no n=: the spec's plain form
                    page_size, url = None, plain
                continue
            if resp.status_code == 404:
                return list(found)
            if resp.status_code != 200:
                raise self._error(resp, action)
            if resp.content.count(b",") > MAX_TAG_PAGE_NAMES:  # counted before parsing
                raise self._tag_page_too_large(
                    repository, f"of more than {MAX_TAG_PAGE_NAMES:,} names"
                )
            names = self._names(resp, action, "tags", f"a malformed tag list for {repository}")
            seen.add(url)
            url = self._next_link(resp, url, seen)
            del resp  # the page's bytes go before its names are merged
            if found:
                found.update(dict.fromkeys(names))
            else:  # the one page of a registry that ignores n=: no second dict
                found = dict.fromkeys(names)
            del names
        return list(found)

    def list_referrers(self, repository: str, digest: str) -> list[Descriptor] | None:
        """``GET /v2/<name>/referrers/<digest>`` (OCI 1.1): the referrers of ``digest`` the
        registry lists, or None when it does not serve the API (distribution 2.8: 404).
        ProtocolError when the answer is not an OCI index."""
        action = f"listing the referrers of {repository}@{digest}"
        path = f"/v2/{self._repo_path(repository)}/referrers/{quote(digest, safe=':')}"
        resp = self._request(
            "GET",
            path,
            action=action,
            headers={"Accept": mediatypes.OCI_INDEX},
            max_body=MAX_REFERRERS_BYTES,
            body_what=f"the referrers of {repository}@{digest}",
        )
        if resp.status_code in (400, 404, 405, 501):
            return None
        if resp.status_code != 200:
            raise self._error(resp, action)
        index = Manifest.parse(resp.content, digest, mediatypes.OCI_INDEX)
        if not index.is_index:
            raise ProtocolError(f"The referrers of {repository}@{digest} are not an OCI index.")
        return list(index.manifests)

    def _tag_page(self, url: str, repository: str, action: str) -> requests.Response:
        try:
            return self._request(
                "GET",
                url,
                action=action,
                max_body=MAX_TAG_PAGE_BYTES,
                body_what=f"a tag list page for {repository}",
            )
        except ResponseTooLargeError:
            raise self._tag_page_too_large(
                repository, f"larger than {megabytes(MAX_TAG_PAGE_BYTES)}"
            ) from None

    def _tag_page_too_large(self, repository: str, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"The registry at {self.base_url} sent the tags of {repository} as one page {what}, "
            "more than dregtui reads at once: not reading it; name the other repositories with "
            f"--repositories to leave {repository} out, or serve it from a registry that pages "
            "tag lists (n=).",
            limit=MAX_TAG_PAGE_BYTES,
        )
