"""Network and TLS failures as one-sentence domain errors, and early checks of TLS files.

requests/urllib3 wrap the socket or SSL error in several layers; these helpers look at the
whole chain and say what went wrong in the user's terms (refused, does not resolve, unknown
CA, client certificate required ...), naming the registry (or token server) concerned.
"""

from __future__ import annotations

import os
import re
import ssl
from urllib.parse import urlsplit

import requests
import urllib3

from dregtui.core.errors import (
    RegistryConnectionError,
    RegistryError,
    RegistryTLSError,
)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception (urllib3 wraps the socket error in several layers)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        if inner is None:
            inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _chain_text(exc: BaseException) -> str:
    parts = []
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(str(cur))
        nxt = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = nxt or cur.__cause__ or cur.__context__
    return " | ".join(parts)


def connection_not_established(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (safe to resend anything)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = _chain_text(exc)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Connection refused", "Failed to establish")
    ) or isinstance(
        _root_cause(exc), ConnectionRefusedError | urllib3.exceptions.NewConnectionError
    )


def describe_tls_error(
    exc: BaseException, registry: str, has_client_cert: bool, label: str = "the registry"
) -> RegistryTLSError:
    text = _chain_text(exc).lower()
    cap = label[:1].upper() + label[1:]
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        if "hostname" in text or "ip address mismatch" in text or "doesn't match" in text:
            return RegistryTLSError(
                f"The TLS certificate of {registry} does not match its host name; connect with "
                "the name the certificate was issued for, or use --insecure."
            )
        if "expired" in text:
            return RegistryTLSError(
                f"The TLS certificate of {registry} has expired; renew it, or use --insecure."
            )
        return RegistryTLSError(
            f"The TLS certificate of {registry} is signed by an unknown certificate authority "
            "(CA); pass the CA bundle with --verify CA_FILE, or use --insecure."
        )
    if (
        "wrong version number" in text
        or "record layer failure" in text
        or "packet length too long" in text
    ):
        return RegistryTLSError(
            f"{registry} does not speak TLS on this port; try the http:// URL instead."
        )
    client_cert_markers = (
        "certificate required",
        "certificate_required",
        "bad certificate",
        "bad_certificate",
        "handshake failure",
        "unknown ca",
        "unknown_ca",
    )
    if any(marker in text for marker in client_cert_markers):
        if has_client_cert:
            return RegistryTLSError(
                f"{cap} at {registry} rejected the client certificate; pass one that it "
                "trusts with -cert/-key."
            )
        return RegistryTLSError(
            f"{cap} at {registry} requires a TLS client certificate; pass it with -cert and -key."
        )
    if "connection reset" in text or "eof occurred" in text or "unexpected eof" in text:
        if has_client_cert:
            return RegistryTLSError(
                f"{cap} at {registry} closed the TLS connection; it probably does not "
                "trust the client certificate (pass one it trusts with -cert/-key)."
            )
        return RegistryTLSError(
            f"The TLS handshake with {registry} failed (the server closed the connection); it "
            "may require a client certificate (-cert/-key)."
        )
    return RegistryTLSError(
        f"The TLS connection to {registry} failed ({type(_root_cause(exc)).__name__})."
    )


def _proxy_error(
    text: str, root: BaseException, label: str, registry: str
) -> RegistryConnectionError:
    """The proxy (HTTP_PROXY/HTTPS_PROXY), not the registry, failed: say so."""
    if re.search(r"(?<![:\d])407(?!\d)", text):  # a status, not a port like :40712
        why = "the proxy asks for credentials (407); put them in the proxy URL"
    elif isinstance(root, ConnectionRefusedError) or "connection refused" in text:
        why = "the proxy refused the connection"
    elif "name or service not known" in text or "name resolution" in text or "getaddrinfo" in text:
        why = "the proxy's host name does not resolve"
    else:
        why = "the proxy failed"
    return RegistryConnectionError(
        f"Cannot reach {label} at {registry} through the proxy: {why} (check HTTPS_PROXY, "
        "HTTP_PROXY and NO_PROXY)."
    )


def describe_connection_error(
    exc: requests.RequestException, registry: str, action: str, label: str = "the registry"
) -> RegistryError:
    if isinstance(exc, requests.exceptions.SSLError):
        return describe_tls_error(exc, registry, has_client_cert=False, label=label)
    cap = label[:1].upper() + label[1:]
    root = _root_cause(exc)
    text = _chain_text(exc).lower()
    if isinstance(exc, requests.ConnectTimeout):
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the connection timed out."
        )
    if isinstance(exc, requests.ReadTimeout):
        return RegistryConnectionError(
            f"{cap} at {registry} did not answer in time while {action}."
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return _proxy_error(text, root, label, registry)
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "name resolution" in text
        or "getaddrinfo" in text
    ):
        host = urlsplit(registry).hostname or registry
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the host name {host} does not resolve."
        )
    if isinstance(root, ConnectionRefusedError) or "connection refused" in text:
        return RegistryConnectionError(
            f"Cannot reach {label} at {registry}: the connection was refused (is it running, "
            "and is the port right?)."
        )
    if (
        isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        )
        or "reset" in text
        or "aborted" in text
        or "remote end closed" in text
        or "incomplete" in text
    ):
        return RegistryConnectionError(
            f"The connection to {label} at {registry} was lost while {action}."
        )
    if "no route to host" in text or "network is unreachable" in text:
        return RegistryConnectionError(f"Cannot reach {label} at {registry}: no route to the host.")
    return RegistryConnectionError(
        f"Cannot reach {label} at {registry} ({type(root).__name__}) while {action}."
    )


def check_tls_files(verify: bool | str, cert: str | tuple[str, str] | None) -> None:
    """Fail early, in one sentence, on CA bundles or client certificates we cannot use."""
    if isinstance(verify, str) and not os.path.isdir(verify):
        _readable(verify, "CA bundle")
        try:
            ssl.create_default_context(cafile=verify)
        except (ssl.SSLError, ValueError) as exc:
            raise RegistryTLSError(
                f"The CA bundle {verify} holds no usable PEM certificate."
            ) from exc
    if cert is None:
        return
    certfile, keyfile = (cert, None) if isinstance(cert, str) else (cert[0], cert[1])
    _readable(certfile, "client certificate")
    if keyfile:
        _readable(keyfile, "client key")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        files = f"{certfile} and {keyfile}" if keyfile else certfile
        raise RegistryTLSError(
            f"The client certificate {files} cannot be loaded (not PEM, encrypted, or the key does "
            "not match the certificate)."
        ) from exc


def _readable(path: str, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise RegistryTLSError(f"Cannot read the {what} file {path}: {reason}.") from exc
