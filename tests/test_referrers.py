"""The image graph (issue 24): referrers found by the scan of a real 2.8 registry (fallback
tags, cosign tags, a referrer of a referrer, another repository's fallback index), kinds, and
broken edges as one warning each."""

from __future__ import annotations

import pytest

from dregtui.core.inventory import ArtifactInfo, Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.referrers import (
    COSIGN_SIGNATURE,
    Kind,
    Source,
    build_graph,
    is_plumbing_tag,
    kind_of,
    plumbing_subject,
)
from dregtui.ops.scanner import Scanner

SPDX = "application/spdx+json"
INTOTO = "application/vnd.in-toto+json"
HEX = "ab" * 32


@pytest.mark.parametrize(
    ("artifact_type", "kind"),
    [
        (COSIGN_SIGNATURE, Kind.SIGNATURE),
        ("application/vnd.cncf.notary.signature", Kind.SIGNATURE),
        (SPDX, Kind.SBOM),
        ("application/vnd.cyclonedx+json", Kind.SBOM),
        ("application/vnd.syft+json", Kind.SBOM),
        (INTOTO, Kind.ATTESTATION),
        ("application/vnd.dev.cosign.artifact.att.v1+json", Kind.ATTESTATION),
        ("application/vnd.example.thing", Kind.OTHER),
        ("", Kind.OTHER),
    ],
)
def test_kind_of(artifact_type: str, kind: Kind) -> None:
    assert kind_of(artifact_type) is kind


def test_plumbing_tags() -> None:
    for tag in (f"sha256-{HEX}", f"sha256-{HEX}.sig", f"sha256-{HEX}.att", f"sha256-{HEX}.sbom"):
        assert is_plumbing_tag(tag)
        assert plumbing_subject(tag) == f"sha256:{HEX}"
    for tag in ("latest", f"sha256-{HEX}.txt", f"sha256-{HEX[:-1]}", f"v-sha256-{HEX}", "1.0"):
        assert not is_plumbing_tag(tag)


def test_scan_finds_every_kind_of_edge(client, pusher) -> None:
    image = pusher.image("team/app", "1.0", oci=True)
    other = pusher.image("team/app", "2.0", oci=True)
    signature = pusher.referrer(image, COSIGN_SIGNATURE)
    sbom = pusher.referrer(image, SPDX)
    sbom_signature = pusher.referrer(sbom, COSIGN_SIGNATURE)  # a referrer of a referrer
    cosign = pusher.signature("team/app", image.digest)
    attestation = pusher.signature("team/app", other.digest, kind="att")
    # another repository's fallback index for the same digest: its own business
    pusher.tag("mirror/app", "1.0", image)
    foreign = pusher.referrer(image, SPDX, repository="mirror/app", seed="mirror")
    for sizes in (True, False):
        inventory = Scanner(client, sizes=sizes).scan()
        graph = build_graph(inventory)
        assert graph.warnings == []
        direct = graph.referrers("team/app", image.digest)
        assert {(r.digest, r.kind, r.source) for r in direct} == {
            (signature.digest, Kind.SIGNATURE, Source.FALLBACK),
            (sbom.digest, Kind.SBOM, Source.FALLBACK),
            (cosign.digest, Kind.SIGNATURE, Source.COSIGN),
        }
        assert [r.digest for r in graph.referrers("team/app", sbom.digest)] == [
            sbom_signature.digest
        ]
        closure = graph.closure("team/app", [image.digest])
        assert {r.digest for r in closure} == {
            signature.digest,
            sbom.digest,
            cosign.digest,
            sbom_signature.digest,
        }
        assert closure[-1].digest == sbom_signature.digest  # its subject comes first
        assert [(r.digest, r.kind) for r in graph.referrers("team/app", other.digest)] == [
            (attestation.digest, Kind.ATTESTATION)
        ]
        assert [r.digest for r in graph.closure("mirror/app", [image.digest])] == [foreign.digest]
        assert graph.fallback_tags[("team/app", image.digest)] == image.digest.replace(":", "-")


def _inventory(tags: dict[str, str], children: dict[str, tuple[str, ...]]) -> Inventory:
    inventory = Inventory("http://r")
    inventory.set_repository(
        "app",
        {
            t: TagInfo(d, mediatypes.OCI_INDEX if d in children else mediatypes.OCI_MANIFEST)
            for t, d in tags.items()
        },
    )
    for index, kids in children.items():
        inventory.set_children(index, kids)
    return inventory


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def test_broken_edges_are_one_warning_each_and_no_edge() -> None:
    fallback = f"sha256-{d(1)[7:]}"
    inventory = _inventory(
        {"1.0": d(1), fallback: d(10), "dangling": d(20), "a": d(30), "b": d(31)},
        {d(10): (d(11), d(12), d(13))},
    )
    inventory.set_artifact(d(11), ArtifactInfo(d(1), SPDX))  # good
    # d(12): listed but the registry lacks it (no body read)
    inventory.set_artifact(d(13), ArtifactInfo(d(2), SPDX))  # names another subject
    inventory.set_artifact(d(20), ArtifactInfo(d(99), SPDX))  # a subject in no repository
    inventory.set_artifact(d(30), ArtifactInfo(d(31), SPDX))  # a loop of subjects
    inventory.set_artifact(d(31), ArtifactInfo(d(30), SPDX))
    graph = build_graph(inventory)
    assert [r.digest for r in graph.closure("app", [d(1)])] == [d(11)]
    assert graph.closure("app", [d(30)]) == []
    assert len(graph.warnings) == 4, graph.warnings
    assert sum(d(12) in w for w in graph.warnings) == 1
    assert sum(d(13) in w for w in graph.warnings) == 1
    assert sum(d(99) in w for w in graph.warnings) == 1
    assert sum("loop" in w for w in graph.warnings) == 1


def test_list_tag_names_json_carries_each_images_referrers(registry, pusher, run_cli) -> None:
    import json

    image = pusher.image("team/app", "1.0", oci=True)
    sbom = pusher.referrer(image, SPDX)
    sbom_signature = pusher.referrer(sbom, COSIGN_SIGNATURE)
    cosign = pusher.signature("team/app", image.digest)
    r = run_cli("-reg", registry.url, "-c", "None", "--json", "list-tag-names", "team/app")
    assert r.code == 0 and r.err == "", r
    rows = {row["tag"]: row for row in json.loads(r.out)}
    fallback = image.digest.replace(":", "-")
    assert {(x["digest"], x["kind"], x["source"]) for x in rows["1.0"]["referrers"]} == {
        (sbom.digest, "sbom", "fallback"),
        (cosign.digest, "signature", "cosign"),
        (sbom_signature.digest, "signature", "fallback"),
    }
    assert rows["1.0"]["referrers"][-1]["subject"] == sbom.digest  # after its subject
    sbom_row = next(x for x in rows["1.0"]["referrers"] if x["digest"] == sbom.digest)
    assert sbom_row == {
        "digest": sbom.digest,
        "subject": image.digest,
        "kind": "sbom",
        "artifact_type": SPDX,
        "source": "fallback",
    }
    assert rows[fallback]["referrer_of"] == image.digest
    assert rows[fallback + ".sig"]["referrer_of"] == image.digest
    assert "referrers" not in rows[fallback]


def _manifest_doc(seed: str, **extra: object) -> dict[str, object]:
    return {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_EMPTY, "size": 2, "digest": "sha256:" + "4" * 64},
        "layers": [],
        "annotations": {"seed": seed},
        **extra,
    }


def test_the_referrers_api_where_a_registry_serves_it(fake_registry, run_cli) -> None:
    """A fake registry with the referrers API: an image's SBOM (pushed by digest, no fallback
    tag) is listed there; another image's answer is garbage: one warning, the rest shown."""
    import json

    from support.fake_server import json_reply, manifest_reply, serve_manifest

    fake = fake_registry
    image = manifest_reply(mediatypes.OCI_MANIFEST, _manifest_doc("image"))
    other = manifest_reply(mediatypes.OCI_MANIFEST, _manifest_doc("other"))
    image_digest = image.headers["Docker-Content-Digest"]
    other_digest = other.headers["Docker-Content-Digest"]
    sbom = "sha256:" + "5" * 64
    fake.route("GET", "/v2/_catalog", json_reply({"repositories": ["app"]}))
    fake.route("GET", "/v2/app/tags/list", json_reply({"tags": ["1.0", "2.0"]}))
    serve_manifest(fake, "/v2/app/manifests/1.0", image)
    serve_manifest(fake, "/v2/app/manifests/2.0", other)
    entry = {"mediaType": mediatypes.OCI_MANIFEST, "size": 9, "digest": sbom, "artifactType": SPDX}
    index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [entry]}
    fake.route("GET", f"/v2/app/referrers/{image_digest}", json_reply(index))
    fake.route("GET", f"/v2/app/referrers/{other_digest}", json_reply(["not", "an", "index"]))
    empty = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
    fake.route("GET", f"/v2/app/referrers/{sbom}", json_reply(empty))
    r = run_cli("-reg", fake.url, "-c", "None", "--json", "list-tag-names")
    assert r.code == 0, r
    rows = {row["tag"]: row for row in json.loads(r.out)}
    assert rows["1.0"]["referrers"] == [
        {
            "digest": sbom,
            "subject": image_digest,
            "kind": "sbom",
            "artifact_type": SPDX,
            "source": "api",
        }
    ]
    assert "referrers" not in rows["2.0"]
    warnings = r.err.strip().splitlines()
    assert len(warnings) == 1 and other_digest in warnings[0] and "referrers API" in warnings[0]


def test_a_registry_without_the_api_is_asked_once(fake_registry, run_cli) -> None:
    """404 on the referrers API (distribution 2.8): one request, nothing said."""
    from support.fake_server import json_reply, manifest_reply, serve_manifest

    fake = fake_registry
    fake.route("GET", "/v2/_catalog", json_reply({"repositories": ["app"]}))
    fake.route("GET", "/v2/app/tags/list", json_reply({"tags": ["1.0", "2.0", "3.0"]}))
    for version in ("1.0", "2.0", "3.0"):
        doc = _manifest_doc(version)
        serve_manifest(
            fake, f"/v2/app/manifests/{version}", manifest_reply(mediatypes.OCI_MANIFEST, doc)
        )
    r = run_cli("-reg", fake.url, "-c", "None", "--json", "list-tag-names")
    assert r.code == 0 and r.err == "", r
    asked = [p for m, p, _ in fake.requests if "/referrers/" in p]
    assert len(asked) == 1, asked
