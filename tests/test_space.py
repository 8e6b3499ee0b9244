"""Sizes and reclaimable bytes (issue 9), checked against the registry's own truth: the blob
files in its storage and what `docker-registry garbage-collect --dry-run` would delete."""

from __future__ import annotations

import json

import pytest
from support.registry import blob_sizes, cache_lines, gc_eligible, write_cache_lines

from dregtui.core.footprints import Footprint
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.plan import build_plan
from dregtui.core.space import Space, human_size
from dregtui.demo.images import ImagePusher
from dregtui.demo.sample import populate_small
from dregtui.registry.client import RegistryClient


@pytest.fixture
def sample_registry(registry):
    with RegistryClient(registry.url) as c:
        populate_small(ImagePusher(c))
    return registry


def test_du_total_is_the_bytes_in_the_registry_storage(sample_registry, run_cli):
    url = sample_registry.url
    assert gc_eligible(sample_registry) == set()  # nothing unreferenced: the total is exact
    result = run_cli("-reg", url, "-c", "None", "--json", "du")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["total_bytes"] == sum(blob_sizes(sample_registry.storage).values())
    rows = {r["repository"]: r for r in doc["repositories"]}
    assert list(rows) == sorted(rows, key=lambda r: (-rows[r]["size_bytes"], r))
    # mirror/nginx only holds what library/nginx holds: nothing exclusive
    assert rows["mirror/nginx"]["exclusive_bytes"] == 0
    assert rows["mirror/nginx"]["size_bytes"] > 0
    assert rows["library/alpine"]["manifests"] == 3 * 4 + 1  # 3 indexes x 3 children, 1 sig
    text = run_cli("-reg", url, "-c", "None", "du", "--bytes", "team/", "library/nginx")
    assert text.code == 0, text
    lines = text.lines
    assert lines[0].split() == ["SIZE", "EXCLUSIVE", "TAGS", "MANIFESTS", "REPOSITORY"]
    assert lines[-1].endswith("total (each blob counted once)")
    assert {line.split()[-1] for line in lines[1:-1]} == {"team/", "library/nginx"}


# Each step runs on what the previous ones left; GC is never run, so what a step frees is what
# garbage-collect newly finds eligible after it.
STEPS = [
    ("remove-repos", "-r", "mirror/nginx"),  # everything shared with library/nginx: 0 bytes
    ("remove-tags", "-r", "team/api", "-t", "v1.3.0"),  # still in team/web: 0 bytes
    ("remove-tags", "-r", "team/api", "-t", "<1.3"),  # four images of its own
    ("remove-tags", "-r", "library/alpine", "-t", "3.18"),  # an index: its children go with it
    ("remove-tags", "-r", "library/nginx", "-t", "1.24.0", "1.25.0"),
    ("remove-repos", "-r", "team/web"),  # now frees team/api's v1.3.0 as well
]


def test_reclaimable_is_what_garbage_collect_deletes(sample_registry, run_cli):
    url = sample_registry.url
    sizes = blob_sizes(sample_registry.storage)
    before = gc_eligible(sample_registry)
    freed_any = False
    for step in STEPS:
        plan = run_cli("-reg", url, "-c", "None", "--json", *step, "--dry-run")
        assert plan.code == 0, (step, plan)
        figure = json.loads(plan.out)["plan"]["totals"]["reclaimable_bytes"]
        if step[0] == "remove-repos":  # what du calls exclusive is what deleting it frees
            du = json.loads(run_cli("-reg", url, "-c", "None", "--json", "du", step[2]).out)
            assert du["repositories"][0]["exclusive_bytes"] == figure, step
        done = run_cli("-reg", url, "-c", "None", *step, "--yes")
        assert done.code == 0, (step, done)
        assert f"frees {human_size(figure)} ({figure} bytes" in done.err
        after = gc_eligible(sample_registry)
        assert after >= before
        assert figure == sum(sizes[b] for b in after - before), step
        freed_any = freed_any or figure > 0
        before = after
    assert freed_any


def test_old_cache_is_rebuilt_with_sizes(sample_registry, run_cli):
    url = sample_registry.url
    assert run_cli("-reg", url, "list-repo-names").code == 0
    from dregtui.state.cache import InventoryCache

    path = InventoryCache.for_registry(url).path
    lines = cache_lines(path)
    assert lines[0]["version"] == 6 and any(line[0] == "f" for line in lines[1:])
    lines[0]["version"] = 1  # an old cache: no footprints
    write_cache_lines(path, [lines[0], *(line for line in lines[1:] if line[0] != "f")])
    result = run_cli("-reg", url, "--json", "du")
    assert result.code == 0, result
    assert "older dregtui" in result.err and result.err.count("older dregtui") == 1
    assert json.loads(result.out)["total_bytes"] == sum(
        blob_sizes(sample_registry.storage).values()
    )


def test_reclaimable_counts_shared_blobs_once_and_only_when_unreferenced():
    """The accounting alone (no registry): a layer two images share is freed only when
    both go; an index frees its own JSON, its children only when they go too."""
    inv = Inventory("http://r")
    inv.set_repository(
        "a",
        {"1": TagInfo("sha256:" + "1" * 64), "2": TagInfo("sha256:" + "2" * 64)},
    )
    inv.set_repository("b", {"x": TagInfo("sha256:" + "9" * 64, mediatypes.OCI_INDEX)})
    layer, own1, own2 = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
    inv.set_footprint("sha256:" + "1" * 64, Footprint.of(100, ((layer, 1000), (own1, 10))))
    inv.set_footprint("sha256:" + "2" * 64, Footprint.of(200, ((layer, 1000), (own2, 20))))
    kid = "sha256:" + "8" * 64
    inv.set_footprint("sha256:" + "9" * 64, Footprint.of(50, ((kid, 300),)))
    inv.set_footprint(kid, Footprint.of(300, ((own1, 10),)))
    inv.set_children("sha256:" + "9" * 64, [kid])
    space = Space(inv)
    assert space.complete
    assert space.total_bytes == 100 + 200 + 1000 + 10 + 20 + 50 + 300
    assert space.usage("a").size == 100 + 200 + 1000 + 10 + 20
    assert space.usage("a").exclusive == 100 + 200 + 1000 + 20  # own1 is in b's child too
    one = build_plan(inv, {"a": ["1"]})
    assert space.reclaimable(one) == 100  # the layer and own1 stay referenced
    both = build_plan(inv, {"a": ["1", "2"]})
    assert space.reclaimable(both) == 100 + 200 + 1000 + 20
    index = build_plan(inv, {"b": ["x"]})
    # the untagged child goes with the index; own1 stays (a:1 references it)
    assert [i.digest for i in index.items] == ["sha256:" + "9" * 64, kid]
    assert space.reclaimable(index) == 50 + 300


def test_du_of_an_unknown_repository_is_one_sentence(sample_registry, run_cli):
    result = run_cli("-reg", sample_registry.url, "-c", "None", "du", "nope/nothing")
    assert result.code != 0 and result.out == ""
    assert result.err.count("\n") <= 2 and "no repository 'nope/nothing'" in result.err
    assert "Traceback" not in result.err
    result = run_cli("-reg", sample_registry.url, "-c", "None", "du", "nope/")
    assert result.code != 0 and "no repository under 'nope/'" in result.err


def test_an_index_takes_its_unreferenced_children_along(registry, client, pusher, run_cli):
    """Two indexes share the amd64 child: deleting one takes its arm64 child along (no manifest
    left for --delete-untagged) and keeps amd64; garbage-collect frees exactly the figure."""
    one, (amd64, arm64) = pusher.index("multi", "1.0", seed="m")
    other, (shared,) = pusher.index("multi", "1.1", seed="m", platforms=("linux/amd64",))
    assert shared.digest == amd64.digest and other.digest != one.digest
    sizes = blob_sizes(registry.storage)
    before = gc_eligible(registry)
    argv = ("-reg", registry.url, "-c", "None", "remove-tags", "-r", "multi", "-t", "1.0")
    plan = json.loads(run_cli(*argv[:4], "--json", *argv[4:], "--dry-run").out)["plan"]
    assert [(i["digest"], i["why"]) for i in plan["items"]] == [
        (one.digest, "all_selected"),
        (arm64.digest, "child_of_deleted_index"),
    ]
    done = run_cli(*argv, "--yes")
    assert done.code == 0, done
    assert client.head_manifest("multi", arm64.digest) is None
    assert client.head_manifest("multi", amd64.digest).digest == amd64.digest
    freed = gc_eligible(registry) - before
    assert plan["totals"]["reclaimable_bytes"] == sum(sizes[b] for b in freed) > 0


def test_an_overwritten_tag_makes_the_figure_an_upper_bound_and_says_so(
    registry, client, pusher, run_cli
):
    """1.0 pushed twice: the first image stays linked, untagged, invisible to the API, and
    keeps the layers both share. The plan counts them as freed; garbage-collect keeps them."""
    old = pusher.image("app", "1.0", seed="s", labels={"build": "1"}, layer_size=4096)
    new = pusher.image("app", "1.0", seed="s", labels={"build": "2"}, layer_size=4096)
    assert old.digest != new.digest and client.list_tags("app") == ["1.0"]
    sizes, before = blob_sizes(registry.storage), gc_eligible(registry)
    argv = ("-reg", registry.url, "-c", "None")
    plan = json.loads(
        run_cli(*argv, "--json", "remove-tags", "-r", "app", "-t", "1.0", "--dry-run").out
    )
    figure = plan["plan"]["totals"]["reclaimable_bytes"]
    done = run_cli(*argv, "remove-tags", "-r", "app", "-t", "1.0", "--yes")
    assert done.code == 0, done
    assert "an upper bound if the registry holds untagged manifests" in done.err
    freed = sum(sizes[b] for b in gc_eligible(registry) - before)
    new_doc = json.loads(new.raw)
    layers = sum(layer["size"] for layer in new_doc["layers"])
    # what went: the new manifest and its config; the shared layer stays with the old image
    assert freed == len(new.raw) + new_doc["config"]["size"]
    assert figure == freed + layers > freed
