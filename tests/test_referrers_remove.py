"""Deleting a signed release takes its referrers along (issue 24), on the real 2.8 registry,
pushed the way oras and cosign push there: what the registry holds afterwards, the figure
garbage-collect frees, and `restore --last` giving back exactly what was there."""

from __future__ import annotations

import json

from support.registry import blob_sizes, gc_eligible

from dregtui.core.referrers import COSIGN_SIGNATURE

SPDX = "application/spdx+json"
INTOTO = "application/vnd.in-toto+json"


def _release(pusher):
    image = pusher.image("team/app", "1.0", oci=True, layer_size=4096)
    stays = pusher.image("team/app", "2.0", oci=True, layer_size=4096)
    parts = {
        "signature": pusher.referrer(image, COSIGN_SIGNATURE, size=512),
        "sbom": pusher.referrer(image, SPDX, size=2048),
        "cosign": pusher.signature("team/app", image.digest),
    }
    parts["sbom signature"] = pusher.referrer(parts["sbom"], COSIGN_SIGNATURE, size=300)
    kept = pusher.referrer(stays, INTOTO, size=700)  # the image that stays keeps its own
    pusher.tag("mirror/app", "1.0", image)
    foreign = pusher.referrer(image, SPDX, repository="mirror/app", seed="mirror", size=900)
    return image, stays, parts, kept, foreign


def _held(client, repository):
    tags = sorted(client.list_tags(repository))
    return {t: client.head_manifest(repository, t).digest for t in tags}


def test_a_signed_release_goes_with_its_referrers_and_comes_back(registry, client, pusher, run_cli):
    image, stays, parts, kept, foreign = _release(pusher)
    fallback = image.digest.replace(":", "-")
    sbom_fallback = parts["sbom"].digest.replace(":", "-")
    before = {r: _held(client, r) for r in ("team/app", "mirror/app")}
    sizes = blob_sizes(registry.storage)
    eligible = gc_eligible(registry)
    argv = ("-reg", registry.url, "-c", "None", "remove-tags", "-r", "team/app", "-t", "1.0")
    dry = run_cli(*argv[:4], "--json", *argv[4:], "--dry-run")
    assert dry.code == 0, dry
    plan = json.loads(dry.out)["plan"]
    storage = ("--storage", str(registry.storage))
    counted = run_cli(*argv[:4], *storage, "--json", *argv[4:], "--dry-run")
    assert counted.code == 0, counted
    exact = json.loads(counted.out)["plan"]["totals"]["reclaimable_bytes"]
    got = {(i["digest"], i["why"], i["referrer_of"], i["referrer_kind"]) for i in plan["items"]}
    assert got == {
        (image.digest, "all_selected", None, None),
        (before["team/app"][fallback], "referrer_of", image.digest, "fallback index"),
        (parts["signature"].digest, "referrer_of", image.digest, "signature"),
        (parts["sbom"].digest, "referrer_of", image.digest, "sbom"),
        (parts["cosign"].digest, "referrer_of", image.digest, "signature"),
        (before["team/app"][sbom_fallback], "referrer_of", parts["sbom"].digest, "fallback index"),
        (parts["sbom signature"].digest, "referrer_of", parts["sbom"].digest, "signature"),
    }
    assert all(i["orphaned_signatures"] == [] for i in plan["items"])
    text = run_cli(*argv, "--dry-run")
    assert "signature of sha256:" in text.out and "fallback index of" in text.out, text

    done = run_cli(*argv, "--yes")
    assert done.code == 0, done
    assert _held(client, "team/app") == {
        "2.0": stays.digest,
        stays.digest.replace(":", "-"): before["team/app"][stays.digest.replace(":", "-")],
    }
    for part in parts.values():
        assert client.head_manifest("team/app", part.digest) is None
    assert client.head_manifest("team/app", kept.digest).digest == kept.digest
    assert _held(client, "mirror/app") == before["mirror/app"]  # another repository's business
    assert client.head_manifest("mirror/app", foreign.digest).digest == foreign.digest
    freed = gc_eligible(registry) - eligible
    figure = plan["totals"]["reclaimable_bytes"]
    # mirror/app still links the image's blobs: what goes is the referrers' own and the
    # manifests' JSON
    # oras rewrote the fallback index when the SBOM came: its first version (naming the
    # signature alone) stays linked, untagged, invisible to the API, and keeps the signature's
    # JSON: the API's figure is an upper bound by exactly that; the storage's is exact
    assert figure == sum(sizes[b] for b in freed) + len(parts["signature"].raw)
    assert exact == sum(sizes[b] for b in freed) > 0
    for part in ("sbom", "sbom signature"):
        assert parts[part].digest in freed

    back = run_cli("-reg", registry.url, "-c", "None", "restore", "--last")
    assert back.code == 0, back
    assert {r: _held(client, r) for r in ("team/app", "mirror/app")} == before
    for part in parts.values():
        assert client.head_manifest("team/app", part.digest).digest == part.digest
    assert gc_eligible(registry) == eligible
    restored = [line.split()[1] for line in back.lines if line.startswith("restored")]
    assert (
        restored.index(f"team/app@{image.digest}")
        < restored.index(f"team/app@{parts['sbom'].digest}")
        < restored.index(f"team/app@{parts['sbom signature'].digest}")
    )


def test_keep_referrers_and_untag_leave_them(registry, client, pusher, run_cli):
    image, _stays, parts, _kept, _foreign = _release(pusher)
    pusher.tag("team/app", "latest", image)
    untag = run_cli(
        "-reg", registry.url, "-c", "None", "remove-tags", "-r", "team/app", "-t", "1.0",
        "--untag", "--yes",
    )  # fmt: skip
    assert untag.code == 0, untag
    for part in parts.values():
        assert client.head_manifest("team/app", part.digest).digest == part.digest
    kept = run_cli(
        "-reg", registry.url, "-c", "None", "--json", "remove-tags", "-r", "team/app",
        "-t", "latest", "--keep-referrers", "--yes",
    )  # fmt: skip
    assert kept.code == 0, kept
    assert client.head_manifest("team/app", image.digest) is None
    for part in parts.values():
        assert client.head_manifest("team/app", part.digest).digest == part.digest


def _signed_releases(pusher):
    """1.0, 2.0, 3.0, each with a signature (fallback tag) and a cosign .sig tag."""
    images = {}
    for version in ("1.0", "2.0", "3.0"):
        image = pusher.image("team/app", version, oci=True)
        pusher.referrer(image, COSIGN_SIGNATURE)
        pusher.signature("team/app", image.digest)
        images[version] = image
    return images


def test_selectors_never_judge_plumbing_tags_as_images(registry, client, pusher, run_cli):
    images = _signed_releases(pusher)
    base = ("-reg", registry.url, "-c", "None")
    # a pattern never selects a plumbing tag: nothing here is an image
    r = run_cli(*base, "--json", "query-tags", "-r", "team/app", "-re", "sha256-.*")
    assert json.loads(r.out)["items"] == [], r
    # --keep-last counts images only: 3.0 stays with its referrers, 1.0 and 2.0 go with theirs
    before = _held(client, "team/app")
    sizes = blob_sizes(registry.storage)
    eligible = gc_eligible(registry)
    argv = ("remove-tags", "-r", "team/app", "-re", ".*", "--keep-last", "1")
    plan = json.loads(run_cli(*base, "--json", *argv, "--dry-run").out)["plan"]
    done = run_cli(*base, *argv, "--yes")
    assert done.code == 0, done
    three = images["3.0"].digest.replace(":", "-")
    assert _held(client, "team/app") == {
        t: d for t, d in before.items() if t == "3.0" or t.startswith(three)
    }
    freed = gc_eligible(registry) - eligible
    # each fallback index written once: no untagged revision, the API's figure is exact
    assert plan["totals"]["reclaimable_bytes"] == sum(sizes[b] for b in freed) > 0
    back = run_cli(*base, "restore", "--last")
    assert back.code == 0, back
    assert _held(client, "team/app") == before
    assert gc_eligible(registry) == eligible


def test_a_policy_lets_referrers_follow_their_subject(registry, client, pusher, run_cli, tmp_path):
    images = _signed_releases(pusher)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[rule]]\nname = "all"\nrepositories = ["team/*"]\nconsider = [".*"]\nkeep_last = 1\n'
    )
    base = ("-reg", registry.url, "-c", "None")
    before = _held(client, "team/app")
    dry = run_cli(*base, "--json", "prune", "--policy", str(policy), "--dry-run")
    assert dry.code == 0, dry
    done = run_cli(*base, "prune", "--policy", str(policy), "--yes")
    assert done.code == 0, done
    three = images["3.0"].digest.replace(":", "-")
    assert _held(client, "team/app") == {
        t: d for t, d in before.items() if t == "3.0" or t.startswith(three)
    }


def test_broken_edges_are_one_warning_each_and_delete_nothing(registry, client, pusher, run_cli):
    from dregtui.demo.images import Pushed

    image = pusher.image("team/app", "1.0", oci=True)
    gone = pusher.referrer(image, COSIGN_SIGNATURE)
    sbom = pusher.referrer(image, SPDX)
    assert client.delete_manifest("team/app", gone.digest) == "deleted"  # a cleanup half done
    nowhere = Pushed("team/app", None, "sha256:" + "e" * 64, image.media_type, b"{}")
    stray = pusher.referrer(nowhere, SPDX)  # names a digest no repository holds
    base = ("-reg", registry.url, "-c", "None")
    before = _held(client, "team/app")
    done = run_cli(*base, "remove-tags", "-r", "team/app", "-t", "1.0", "--yes")
    assert done.code == 0, done
    warnings = [line for line in done.err.splitlines() if "warning" in line]
    assert len(warnings) == 2, done.err
    assert sum(gone.digest in w for w in warnings) == 1
    assert sum(stray.digest in w for w in warnings) == 1
    assert client.head_manifest("team/app", sbom.digest) is None  # the sound edge held
    left = _held(client, "team/app")
    assert left == {t: d for t, d in before.items() if t == "sha256-" + "e" * 64}
    assert client.head_manifest("team/app", stray.digest).digest == stray.digest


def test_the_storage_view_finds_untagged_referrers_no_tag_names(registry, client, pusher, run_cli):
    """A referrer pushed by digest with no fallback tag (as on a registry with the referrers
    API): invisible to the API of 2.8, found by its subject in the storage, deleted with its
    image and given back by restore."""
    from dregtui.core.oci import mediatypes

    image = pusher.image("app", "1.0", oci=True)
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": SPDX,
        "config": pusher._blob("app", b"{}", mediatypes.OCI_EMPTY),
        "layers": [pusher._blob("app", b"an sbom " * 64, "application/octet-stream")],
        "subject": {"mediaType": image.media_type, "size": len(image.raw), "digest": image.digest},
    }
    raw = json.dumps(doc).encode()
    sbom = client.put_manifest("app", "sha256:" + __import__("hashlib").sha256(raw).hexdigest(),
                               raw, mediatypes.OCI_MANIFEST)  # fmt: skip
    base = ("-reg", registry.url, "-c", "None", "--storage", str(registry.storage))
    argv = ("remove-tags", "-r", "app", "-t", "1.0")
    plan = json.loads(run_cli(*base, "--json", *argv, "--dry-run").out)["plan"]
    assert [(i["digest"], i["referrer_of"], i["referrer_kind"]) for i in plan["items"]] == [
        (image.digest, None, None),
        (sbom, image.digest, "sbom"),
    ]
    eligible = gc_eligible(registry)
    sizes = blob_sizes(registry.storage)
    done = run_cli(*base, *argv, "--yes")
    assert done.code == 0, done
    assert client.head_manifest("app", sbom) is None
    freed = gc_eligible(registry) - eligible
    assert plan["totals"]["reclaimable_bytes"] == sum(sizes[b] for b in freed) > 0
    assert sbom in freed
    back = run_cli("-reg", registry.url, "-c", "None", "restore", "--last")
    assert back.code == 0, back
    assert client.head_manifest("app", sbom).digest == sbom
    assert gc_eligible(registry) == eligible


def test_remove_repos_takes_every_referrer_and_leaves_other_repositories(
    registry, client, pusher, run_cli
):
    image, stays, parts, kept, foreign = _release(pusher)
    before = _held(client, "mirror/app")
    done = run_cli("-reg", registry.url, "-c", "None", "remove-repos", "-r", "team/app", "--yes")
    assert done.code == 0, done
    assert _held(client, "team/app") == {}
    for digest in [image.digest, stays.digest, kept.digest, *(p.digest for p in parts.values())]:
        assert client.head_manifest("team/app", digest) is None
    assert _held(client, "mirror/app") == before
    assert client.head_manifest("mirror/app", foreign.digest).digest == foreign.digest
