"""TLS against the real registry serving HTTPS and requiring client certificates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dregtui.core.errors import RegistryError, RegistryTLSError
from dregtui.registry.client import RegistryClient


def test_client_certificate_accepted(tls_registry):
    files = tls_registry.tls
    with RegistryClient(
        tls_registry.url, verify=files.ca, cert=(files.client_cert, files.client_key)
    ) as c:
        c.ping()
        assert c.list_repositories() == []


def test_missing_client_certificate(tls_registry):
    with (
        RegistryClient(tls_registry.url, verify=tls_registry.tls.ca, retries=0) as c,
        pytest.raises(RegistryTLSError) as err,
    ):
        c.ping()
    assert "client certificate" in str(err.value)


def test_client_certificate_from_an_unknown_ca(tls_registry):
    files = tls_registry.tls
    with (
        RegistryClient(
            tls_registry.url, verify=files.ca, cert=(files.stranger_cert, files.stranger_key)
        ) as c,
        pytest.raises(RegistryTLSError) as err,
    ):
        c.ping()
    assert "client certificate" in str(err.value)


def test_unknown_server_ca(tls_registry):
    files = tls_registry.tls
    with (
        RegistryClient(tls_registry.url, cert=(files.client_cert, files.client_key)) as c,
        pytest.raises(RegistryTLSError) as err,
    ):
        c.ping()
    message = str(err.value)
    assert "unknown certificate authority" in message and "--verify" in message


def test_insecure_skips_server_verification(tls_registry, monkeypatch):
    files = tls_registry.tls
    # an explicit verify=False wins over REQUESTS_CA_BUNDLE from the environment
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", files.client_ca)
    with RegistryClient(
        tls_registry.url, verify=False, cert=(files.client_cert, files.client_key)
    ) as c:
        c.ping()
        assert c.api_version == "registry/2.0"  # the registry answered
        assert c.list_repositories() == []


def test_ca_bundle_from_environment(tls_registry, monkeypatch):
    files = tls_registry.tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", files.ca)
    with RegistryClient(tls_registry.url, cert=(files.client_cert, files.client_key)) as c:
        c.ping()
        assert c.api_version == "registry/2.0"  # the registry answered
        assert c.list_repositories() == []


def test_unreadable_or_broken_tls_files(tls_files, tmp_path):
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(RegistryTLSError) as err:
        RegistryClient("https://127.0.0.1:1", cert=(missing, tls_files.client_key))
    assert (
        str(err.value)
        == f"Cannot read the client certificate file {missing}: no such file or directory."
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(RegistryTLSError) as err:
        RegistryClient("https://127.0.0.1:1", cert=(str(garbage), tls_files.client_key))
    assert "cannot be loaded" in str(err.value)
    with pytest.raises(RegistryTLSError) as err:
        RegistryClient("https://127.0.0.1:1", cert=(tls_files.client_cert, tls_files.stranger_key))
    assert "cannot be loaded" in str(err.value)
    with pytest.raises(RegistryTLSError) as err:
        RegistryClient("https://127.0.0.1:1", verify=str(garbage))
    assert "CA bundle" in str(err.value)
    if os.geteuid() != 0:
        locked = tmp_path / "locked.pem"
        locked.write_text("x")
        locked.chmod(0)
        with pytest.raises(RegistryTLSError, match="permission denied"):
            RegistryClient("https://127.0.0.1:1", cert=(str(locked), tls_files.client_key))


def test_plain_http_registry_with_https_url(registry):
    url = registry.url.replace("http://", "https://")
    with RegistryClient(url, retries=0) as c, pytest.raises(RegistryError) as err:
        c.ping()
    assert "TLS" in str(err.value)


def test_client_certificate_and_key_in_one_file(tls_registry, tmp_path):
    files = tls_registry.tls
    combined = tmp_path / "client.pem"
    combined.write_bytes(Path(files.client_cert).read_bytes() + Path(files.client_key).read_bytes())
    with RegistryClient(tls_registry.url, verify=files.ca, cert=str(combined)) as c:
        c.ping()
        assert c.api_version == "registry/2.0"  # the registry answered
        assert c.list_repositories() == []
