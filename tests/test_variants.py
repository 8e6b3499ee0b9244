"""Tag variants in version selectors (issue 10), through the CLI against a real registry."""

from __future__ import annotations

import json

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient


def test_version_selectors_take_variants_unless_restricted(registry, run_cli):
    """Issue 10: `-t '<1.26'` selects `1.25.3-alpine` (as the classic tool did); `--variant`
    restricts it (against the real registry, through the CLI)."""
    with RegistryClient(registry.url) as c:
        p = ImagePusher(c)
        for tag in ("1.25.3-alpine", "1.25.3", "1.26.0-rc.1", "1.26.0-alpine", "latest"):
            p.image("library/nginx", tag, seed=f"v/{tag}")
    url = registry.url

    def picked(*extra: str) -> set[str]:
        r = run_cli(
            "-reg",
            url,
            "-c",
            "None",
            "--json",
            "query-tags",
            "-r",
            "library/nginx",
            "-t",
            "<1.26",
            *extra,
        )
        assert r.code == 0, r
        return {t for item in json.loads(r.out)["items"] for t in item["tags"]}

    assert picked() == {"1.25.3-alpine", "1.25.3"}
    assert picked("--variant", "none") == {"1.25.3"}
    assert picked("--variant", "alpine") == {"1.25.3-alpine"}
