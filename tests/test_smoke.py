from conftest import BIG_REPOS

from dregtui.registry.client import RegistryClient


def test_big_registry_catalog_is_paginated_and_complete(big_registry):
    with RegistryClient(big_registry.url) as c:
        names = c.list_repositories()
    assert len(names) == BIG_REPOS
