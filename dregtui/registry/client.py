"""RegistryClient: the one place that speaks the Docker Registry v2 / OCI distribution API.

One ``requests.Session`` per client (its connection pool sized to the scanner's workers),
environment settings resolved once, timeouts on every call, bounded retries (see
``transport.py``), auth driven by the ``WWW-Authenticate`` challenge (see ``auth.py``).
Thread-safe for concurrent use: the scanner shares one client between its workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from dregtui.core.errors import (
    CATALOG_HINT,
    CatalogUnavailableError,
    NotARegistryError,
    NotFoundError,
    ProtocolError,
    RegistryError,
    ResponseTooLargeError,
)
from dregtui.core.oci import digests, mediatypes
from dregtui.core.oci.models import ImageConfig, Manifest, ManifestRef
from dregtui.core.registry_url import parse_registry_url, redact_url
from dregtui.registry.auth import RegistryAuth
from dregtui.registry.credentials import Credentials, resolve_credentials
from dregtui.registry.direct import Answer, AnswerTimeout, DirectConnections
from dregtui.registry.errors import error_for_response, parse_error_body
from dregtui.registry.failures import check_tls_files, describe_connection_error
from dregtui.registry.ratelimit import RateLimiter
from dregtui.registry.transport import RegistrySession, Transport
from dregtui.registry.wire import (
    body_media_type,
    content_length,
    header_media_type,
    media_type_of,
    ref_name,
    with_query,
)
from dregtui.registry.writes import WriteOperations

log = logging.getLogger("dregtui.registry")
_T = TypeVar("_T")

DEFAULT_TIMEOUT = 20.0  # seconds for a whole request, retries included (transport.py)
CATALOG_PAGE = 1000
TAG_PAGE = 1000  # tags asked for per page (n=); distribution 2.8 ignores it and sends all
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # as distribution
PIPELINE_DEPTH = 16  # manifest reads sent in one write at most (direct.py)
MAX_BLOB_BYTES = 16 * 1024 * 1024  # an image config
# One tags/list page, as read whole: distribution 2.8 sends every tag in one page (a million
# CI tags such as ``20240115-3f2a9c1`` are 19 MB, full-length commit hashes 47 MB), so the
# limits are per page, in bytes and in names (each name costs ~100 bytes once parsed).
MAX_TAG_PAGE_BYTES = 64 * 1024 * 1024
MAX_TAG_PAGE_NAMES = 2_000_000
MAX_PAGES = 100_000


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


class RegistryClient(WriteOperations):
    """Talks to one registry. Thread-safe for concurrent reads (the scanner shares it).

    ``backoff`` is urllib3's backoff factor (transport.RegistryRetry): the first retry is
    immediate, the n-th waits ``backoff * 2**(n-1)`` seconds plus up to ``backoff / 2`` of
    jitter, capped at 8 s;
    ``max_retry_after`` caps how long a ``429``/``503`` ``Retry-After`` is honoured;
    """

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
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        credentials: Credentials | None = None,
        rate: float | None = None,
    ) -> None:
        try:
            url, url_user, url_password = parse_registry_url(url)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        self.base_url = url
        if username is None and url_user is not None:
            username, password = url_user, url_password
        self.timeout = timeout
        self.use_get_manifest = use_get_manifest
        if isinstance(cert, list | tuple) and len(cert) == 1:
            cert = cert[0]
        check_tls_files(verify, cert)
        if verify is False:
            # The user asked for --insecure: say it once (the CLI does), not per request.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.credentials = credentials or resolve_credentials(
            self.base_url, username=username, password=password, docker_config=docker_config
        )
        log.debug("credentials for %s: %s", self.base_url, self.credentials.source)
        self.session = RegistrySession(verify=verify, cert=cert)
        self.transport = Transport(
            self.session,
            registry=self.base_url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
            has_client_cert=cert is not None,
        )
        self.transport.mount(pool_size)
        if rate:
            self.transport.limiter = RateLimiter(rate)
        self.auth = RegistryAuth(
            self.credentials,
            self.session,
            digest=digest_auth,
            timeout=timeout,
            transport=self.transport,
            origin=self.base_url,
            allow_http_realm=verify is False,
        )
        self.session.auth = self.auth
        self.api_version: str | None = None
        self.direct = self._direct_connections(digest_auth)
        self._one_shot = threading.local()  # .depth: inside checking() on this thread
        self._checks_transport: Transport | None = None
        self._checks_lock = threading.Lock()

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        """On this thread, while it lasts: the requests a deletion's safety rests on (the
        re-checks before a DELETE, the DELETE and the check after it, an untag's steps, a
        restore's). No fast lane, and each request on a connection of its own, closed once
        its answer is read (``Transport.one_shot``): an answer duplicated by a proxy, or one
        the server sent unasked, is never read as the answer to another request. Same
        credentials and tokens."""
        with self._checks_lock:
            if self._checks_transport is None:
                verify = True if self.session.verify is None else self.session.verify
                session = RegistrySession(verify=verify, cert=self.session.cert)
                session.base_headers = dict(self.session.base_headers)
                session.proxies = dict(self.session.proxies)
                session.trust_env = self.session.trust_env
                session.auth = self.auth
                self._checks_transport = self.transport.one_shot(session)
        depth = getattr(self._one_shot, "depth", 0)
        self._one_shot.depth = depth + 1
        try:
            yield
        finally:
            self._one_shot.depth = depth

    @property
    def _checked(self) -> bool:
        return getattr(self._one_shot, "depth", 0) > 0

    def _direct_connections(self, digest_auth: bool) -> DirectConnections | None:
        """The manifest reads' fast lane (``direct.py``), unless a proxy is configured for
        the registry, Digest auth is asked for, or ``DREGTUI_DIRECT=0`` says no."""
        if os.environ.get("DREGTUI_DIRECT", "1") == "0" or digest_auth:
            return None
        if self.session.env_proxies(self.base_url) or self.session.proxies:
            return None
        parts = urlsplit(self.base_url)
        tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            verify = self.session.verify
            tls = _tls_context(True if verify is None else verify, self.session.cert)
        base = {
            str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v)
            for k, v in self.session.base_headers.items()
            if k.lower() not in ("accept", "accept-encoding", "authorization") and v is not None
        }
        self._direct_prefix = parts.path.rstrip("/")
        return DirectConnections(
            parts.hostname or "",
            parts.port or (443 if tls is not None else 80),
            tls=tls,
            timeout=self.timeout,
            headers=base,
        )

    @property
    def batch_size(self) -> int:
        """How many manifest reads of one repository to hand to ``get_manifests`` or
        ``head_manifests`` at once: more than one only while they go out pipelined."""
        lane = self.direct
        if lane is None or lane.disabled or not lane.pipelining:
            return 1
        return PIPELINE_DEPTH

    def _direct(
        self, method: str, repository: str, references: list[str], action: str
    ) -> list[Answer | None]:
        """``method`` of each reference's manifest through the fast lane: for each, the
        answer when it came back 200, else None (the caller asks the regular way)."""
        lane = self.direct
        if lane is None or lane.disabled or not references or self._checked:
            return [None] * len(references)
        if self.transport.limiter is not None:
            for _ in references:
                self.transport.limiter.acquire()
        headers = {"Accept": mediatypes.MANIFEST_ACCEPT}
        repo = self._repo_path(repository)
        paths = [f"/v2/{repo}/manifests/{self._ref(r)}" for r in references]
        authorization = self.auth.preemptive_header(method, self.base_url + paths[0])
        if authorization:
            headers["Authorization"] = authorization
        prefix = self._direct_prefix
        try:
            answers = lane.send_many(
                method, [prefix + p for p in paths], headers, MAX_MANIFEST_BYTES
            )
        except AnswerTimeout as exc:  # one attempt, as the transport counts a read timeout
            timeout = requests.exceptions.ReadTimeout(str(exc))
            what = f"{action} {ref_name(repository, references[0])}"
            raise describe_connection_error(timeout, self.base_url, what) from None
        if any(a.status == 429 for a in answers):
            # the registry is throttling: the regular client alone, with its Retry-After
            # pauses, from now on (not every request twice)
            lane.disabled = True
        ok: list[Answer | None] = [a if a.status == 200 else None for a in answers]
        return ok + [None] * (len(references) - len(ok))

    # -- plumbing -------------------------------------------------------------------

    @property
    def credentials_source(self) -> str:
        """Where the credentials came from, for --debug logs (never the secret itself)."""
        return self.credentials.source

    def _url(self, path: str) -> str:
        if "://" in path:
            return path
        return self.base_url + "/" + path.lstrip("/")

    def _request(self, method: str, path: str, *, action: str, **kwargs: Any) -> requests.Response:
        transport = self._checks_transport if self._checked else self.transport
        assert transport is not None
        return transport.send(method, self._url(path), action=action, **kwargs)

    def _error(self, resp: requests.Response, action: str) -> RegistryError:
        return error_for_response(
            resp,
            action,
            registry=self.base_url,
            has_credentials=self.credentials.present,
            credentials_source=self.credentials.source if self.credentials.present else "",
        )

    @staticmethod
    def _repo_path(repository: str) -> str:
        if not repository or repository.startswith("/") or ".." in repository.split("/"):
            raise RegistryError(f"{repository!r} is not a valid repository name.")
        return quote(repository, safe="/")

    @staticmethod
    def _ref(reference: str) -> str:
        return quote(reference, safe=":")

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

    # -- API ------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: raises unless this is a reachable registry we may talk to.

        RegistryConnectionError (unreachable), RegistryTLSError, NotARegistryError,
        AuthenticationError (wrong or missing credentials).
        """
        action = "checking the API at /v2/"
        resp = self._request("GET", "/v2/", action=action, retry_refused=False)
        version = resp.headers.get("Docker-Distribution-API-Version")
        status = resp.status_code
        if status == 200:
            if version or self._looks_like_json(resp):
                self.api_version = version or "registry/2.0"
                return
            raise NotARegistryError(
                f"{self.base_url} answered, but it is not a Docker registry (GET /v2/ returned "
                "a page, not the registry API); check the URL."
            )
        if status == 401:
            challenge = resp.headers.get("WWW-Authenticate", "")
            if version or challenge.lower().startswith(("bearer", "basic", "digest")):
                raise self._error(resp, "checking the API at /v2/")
        if status in (401, 403, 404) and not version:
            raise NotARegistryError(
                f"{self.base_url} answered {status}, and it is not a Docker registry API (no "
                "/v2/ endpoint); check the URL."
            )
        raise self._error(resp, action)

    @staticmethod
    def _looks_like_json(resp: requests.Response) -> bool:
        if "json" in resp.headers.get("Content-Type", "").lower():
            return True
        try:
            json.loads(resp.content or b"null")
        except (ValueError, RecursionError):
            return False
        return True

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
            if resp.content.count(b",") > MAX_TAG_PAGE_NAMES:  # before parsing, at ~1 GB/s
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
                repository, f"larger than {_mb(MAX_TAG_PAGE_BYTES)}"
            ) from None

    def _tag_page_too_large(self, repository: str, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"The registry at {self.base_url} sent the tags of {repository} as one page {what}, "
            "more than dregtui reads at once: not reading it; name the other repositories with "
            f"--repositories to leave {repository} out, or serve it from a registry that pages "
            "tag lists (n=).",
            limit=MAX_TAG_PAGE_BYTES,
        )

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

    def _reads(
        self,
        method: str,
        repository: str,
        references: list[str],
        action: str,
        taken: Callable[[Answer, str], _T | None] | None,
        regular: Callable[[str], _T],
    ) -> list[_T | RegistryError]:
        """For each of ``references``: ``taken`` of its fast-lane answer (none asked for
        when ``taken`` is None), or ``regular(reference)`` when there is none or ``taken``
        makes nothing of it; in its place the RegistryError either raises (or the
        reference's own, when it is not one)."""
        valid, errors = self._valid_references(references)
        if taken is None:
            answers: list[Answer | None] = [None] * len(valid)
        else:
            answers = self._direct(method, repository, valid, action)
        by_reference = dict(zip(valid, answers, strict=True))
        out: list[_T | RegistryError] = []
        for reference, error in zip(references, errors, strict=True):
            if error is not None:
                out.append(error)
                continue
            try:
                answer = by_reference[reference]
                result = taken(answer, reference) if answer is not None and taken else None
                out.append(regular(reference) if result is None else result)
            except RegistryError as exc:
                out.append(exc)
        return out

    def _valid_references(
        self, references: list[str]
    ) -> tuple[list[str], list[RegistryError | None]]:
        """The references that pass ``check_reference``, and for each reference its error
        (None where it passes)."""
        valid: list[str] = []
        errors: list[RegistryError | None] = []
        for reference in references:
            try:
                digests.check_reference(reference)
            except RegistryError as exc:
                errors.append(exc)
                continue
            valid.append(reference)
            errors.append(None)
        return valid, errors

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
                f"{_mb(MAX_MANIFEST_BYTES)} while {action}: not reading it; distribution refuses to "
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
            return _parsed(raw, media_type_of(answer.headers.get("content-type")), digest)

        return self._reads(
            "GET",
            repository,
            references,
            "fetching the manifest",
            taken,
            lambda reference: _parsed(*self._get_manifest_raw(repository, reference)),
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

    def close(self) -> None:
        if self.direct is not None:
            self.direct.close()
        if self._checks_transport is not None:
            self._checks_transport.session.close()
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryClient({redact_url(self.base_url)!r})"


def _parsed(raw: bytes, media_type: str, digest: str) -> Manifest:
    return Manifest.parse(raw, digest, media_type or body_media_type(raw))


def _tls_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    """The TLS settings the session's adapters use (urllib3's: certifi's bundle unless a CA
    bundle or directory is given, none checked with verify False), for the fast lane."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str) and os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(
            cafile=verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
        )
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    context.set_alpn_protocols(["http/1.1"])
    return context
