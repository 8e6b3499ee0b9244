"""``--untag`` on a registry with OCI delete-by-tag (distribution 3), and the fallback.

Distribution 2.8 (the real registry of the other tests) answers ``400 DIGEST_INVALID`` to a
DELETE by tag, so only the placeholder path can be tested against it; these tests use the
in-memory :class:`OciRegistry` that removes just the tag, as distribution 3 does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.oci_fake import OciRegistry

from dregtui.core.plan import build_plan
from dregtui.core.plan_model import Action, PlanMode
from dregtui.core.selection import Selection
from dregtui.demo.images import ImagePusher
from dregtui.ops.execute import execute_plan
from dregtui.ops.execution_result import Status
from dregtui.ops.scanner import Scanner
from dregtui.registry.client import RegistryClient
from dregtui.state.journal import Journal

MANIFEST_PUT = r"^/v2/app/manifests/"


@pytest.fixture(params=["tag", "unsupported"])
def oci(request: pytest.FixtureRequest) -> Iterator[OciRegistry]:
    fake = OciRegistry(tag_delete=request.param).start()
    yield fake
    fake.stop()


def untag(fake: OciRegistry, tags: list[str]):
    with RegistryClient(fake.url, backoff=0.01) as client:
        pusher = ImagePusher(client)
        a = pusher.image("app", "1.0")
        pusher.tag("app", "1.0.0", a)
        pusher.tag("app", "stable", a)
        inv = Scanner(client, jobs=2).scan()
        chosen = Selection.from_args(repositories=["app"], tags=tags).select(inv)
        plan = build_plan(inv, chosen, PlanMode(untag=True))
        assert [i.action for i in plan.items] == [Action.UNTAG]
        puts = fake.count("PUT", MANIFEST_PUT)
        result = execute_plan(client, plan, inv)
    return a, inv, result, fake.count("PUT", MANIFEST_PUT) - puts


def test_untag_removes_only_the_selected_tags(oci):
    a, inv, result, new_puts = untag(oci, ["1.0", "stable"])
    assert result.exit_code == 0, result.to_json()
    assert [r.status for r in result.results] == [Status.UNTAGGED]
    assert result.results[0].removed_tags == ["1.0", "stable"]
    assert oci.tags["app"] == {"1.0.0": a.digest}
    assert inv.tags("app") == ["1.0.0"]
    # the manifest itself stays, and nothing else is left behind
    assert set(oci.manifests["app"]) == {a.digest}
    (record,) = Journal().records()
    assert record.kind == "untag" and record.tags == ("1.0", "stable")
    assert oci.count("DELETE", r"/manifests/1\.0$") == 1
    assert oci.count("DELETE", r"/manifests/stable$") == 1
    if oci.tag_delete == "tag":
        # distribution 3: the tag alone goes; no placeholder pushed, no digest deleted
        assert new_puts == 0
        assert oci.count("DELETE", r"/manifests/sha256:") == 0
    else:
        # 400 DIGEST_INVALID: each tag is pointed at a placeholder, which is then deleted
        assert new_puts == 2
        assert oci.count("DELETE", r"/manifests/sha256:") == 2
        assert a.digest not in [p.rsplit("/", 1)[-1] for m, p in oci.requests if m == "DELETE"]


def test_a_registry_that_deletes_the_manifest_by_tag_is_reported_and_restorable(run_cli):
    fake = OciRegistry(tag_delete="manifest").start()
    try:
        a, inv, result, _ = untag(fake, ["1.0"])
        assert result.exit_code == 1
        (failed,) = result.failed
        assert "also removed 1.0.0, stable" in failed.message and "restore" in failed.message
        assert fake.tags["app"] == {} and inv.tags("app") == []  # the cache follows the registry
        # the journal holds every tag that went, so restore brings all three back
        r = run_cli("-reg", fake.url, "-c", "None", "restore", "--last")
        assert r.code == 0, r
        assert fake.tags["app"] == {t: a.digest for t in ("1.0", "1.0.0", "stable")}
    finally:
        fake.stop()
