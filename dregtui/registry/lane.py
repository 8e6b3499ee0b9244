"""The manifest reads' fast lane, as the client uses it: whether there is one, what goes
through it and what the regular way, and the TLS context it connects with.

A mixin of :class:`~dregtui.registry.client.RegistryClient`. ``direct.py`` frames the
lane's answers; this module decides which requests go there (``_reads``): a manifest read
of one repository, pipelined up to ``PIPELINE_DEPTH`` at a time, never inside
``RegistryClient.checking()``; whatever the lane has no 200 answer for goes the regular way.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from dregtui.core.errors import RegistryError
from dregtui.core.oci import digests, mediatypes
from dregtui.registry.direct import Answer, AnswerTimeout, DirectConnections
from dregtui.registry.failures import describe_connection_error
from dregtui.registry.manifests import MAX_MANIFEST_BYTES
from dregtui.registry.wire import ref_name

if TYPE_CHECKING:
    from dregtui.registry.auth import RegistryAuth
    from dregtui.registry.session import RegistrySession
    from dregtui.registry.transport import Transport

_T = TypeVar("_T")

PIPELINE_DEPTH = 16  # manifest reads sent in one write at most (direct.py)


class FastLane:
    """Needs the client's ``session``, ``transport``, ``auth``, ``base_url``, ``timeout``,
    ``_checked``, ``_repo_path`` and ``_ref``."""

    base_url: str
    timeout: float
    direct: DirectConnections | None
    session: RegistrySession
    transport: Transport
    auth: RegistryAuth
    _direct_prefix: str

    if TYPE_CHECKING:

        @property
        def _checked(self) -> bool: ...
        def _repo_path(self, repository: str) -> str: ...
        def _ref(self, reference: str) -> str: ...

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
            tls = tls_context(True if verify is None else verify, self.session.cert)
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


def tls_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
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
