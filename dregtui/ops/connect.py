"""A registry client made from the settings: the registry URL and the files it needs checked
first (a FIFO given as a client certificate would hang the TLS set-up), its pool sized to the
scan's workers."""

from __future__ import annotations

import os

from dregtui.core.registry_url import parse_registry_url
from dregtui.ops.scanner import DEFAULT_CAP
from dregtui.registry.client import RegistryClient
from dregtui.state.config import NO_REGISTRY, ConfigError, Settings
from dregtui.state.userfiles import require_regular_file


def make_client(settings: Settings) -> RegistryClient:
    """A RegistryClient configured from ``settings`` (pool sized to the scanner's workers);
    ConfigError, one sentence, for a setting no client can be made from."""
    if not settings.registry:
        raise ConfigError(NO_REGISTRY)
    try:
        parse_registry_url(settings.registry)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for label, file in (("client certificate", settings.cert), ("client key", settings.key)):
        if file:
            require_regular_file(file, f"{label} file")  # a FIFO would hang the TLS setup
            if not os.access(file, os.R_OK):
                raise ConfigError(f"Cannot read the {label} file {file}.")
    verify = settings.effective_verify
    if isinstance(verify, str):
        require_regular_file(verify, "CA bundle", directory_ok=True)  # a directory: c_rehash'd
        if not os.path.exists(verify):
            raise ConfigError(
                f"The CA bundle {verify} does not exist (give a file, or -v None to disable)."
            )
    return RegistryClient(
        settings.registry,
        username=settings.username,
        password=settings.password,
        digest_auth=settings.digest_auth,
        verify=verify,
        cert=settings.client_cert,
        timeout=settings.timeout,
        use_get_manifest=settings.use_get_manifest,
        pool_size=settings.scan_jobs or max(settings.jobs, DEFAULT_CAP),
        rate=settings.rate,
    )
