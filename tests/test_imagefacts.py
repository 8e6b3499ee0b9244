"""One rule for an image's facts: the digest pane, --older-than and the date sort agree."""

from __future__ import annotations

import json

from dregtui.core.oci import mediatypes
from dregtui.ops.dates import CreatedDates
from dregtui.ops.imagefacts import image_facts
from dregtui.ops.imagefacts import image_facts as fetch_details


def test_an_index_is_as_old_as_its_newest_platform_image(client, pusher) -> None:
    old = pusher.image("multi", None, seed="old", created="2023-01-01T00:00:00Z", os="linux",
                       architecture="amd64")  # fmt: skip
    new = pusher.image("multi", None, seed="new", created="2024-06-01T12:00:00.123456789Z",
                       os="linux", architecture="arm64")  # fmt: skip
    entries = [
        {"mediaType": c.media_type, "size": len(c.raw), "digest": c.digest,
         "platform": {"os": "linux", "architecture": arch}}
        for c, arch in ((old, "amd64"), (new, "arm64"))
    ]  # fmt: skip
    raw = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries})
    digest = client.put_manifest("multi", "1.0", raw.encode(), mediatypes.OCI_INDEX)

    facts = image_facts(client, "multi", digest)
    assert facts.error is None and facts.created == "2024-06-01T12:00:00.123456789Z"
    assert [p for p, _ in facts.platforms] == ["linux/amd64", "linux/arm64"]
    assert (
        facts.size
        == image_facts(client, "multi", old.digest).size
        + image_facts(client, "multi", new.digest).size
    )
    # the digest pane and --older-than use the same rule
    assert fetch_details(client, "multi", digest).created == facts.created
    (created,) = CreatedDates(client)([("multi", digest)]).values()
    assert created is not None and created.isoformat().startswith("2024-06-01T12:00:00.123456")


def test_unreadable_facts_are_data_not_exceptions(client) -> None:
    facts = image_facts(client, "nothing/here", "sha256:" + "0" * 64)
    assert facts.error and facts.created is None and facts.size is None
