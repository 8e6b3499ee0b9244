"""What is in an image (issue 25, item 12): the config's history as the ops layer reads it from a
real registry, hostile configs pushed as they are, and the digest pane showing it."""

from __future__ import annotations

import json

import pytest
from support.tui import open_repository, settle

from dregtui.core.oci.history import MAX_STEPS, MAX_TEXT, ImageHistory
from dregtui.core.textsafe import UNSAFE
from dregtui.demo.images import ImagePusher
from dregtui.ops.imagefacts import image_history
from dregtui.registry.client import RegistryClient
from dregtui.tui.app import DregApp

pytestmark = pytest.mark.timeout(90)


def test_a_pushed_images_history_names_its_steps_and_their_layers(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    pushed = pusher.image("team/app", "1.0", layer_sizes=(1500, 900, 300))
    config = json.loads(client.get_blob("team/app", client.get_manifest("team/app", "1.0").config.digest))  # type: ignore[union-attr]  # fmt: skip
    # the pusher's config is valid: one history step per layer, one diff_id per layer
    assert sum(1 for e in config["history"] if not e.get("empty_layer")) == 3
    assert len(config["rootfs"]["diff_ids"]) == 3

    history = image_history(client, "team/app", pushed.digest)
    assert history.note == "" and history.total == 9 and history.empty_steps == 6
    made = [(s.created_by, s.size) for s in history.steps if not s.empty]
    assert made[1:] == [
        ("RUN apk add --no-cache ca-certificates tzdata", 900),
        ("COPY app /usr/local/bin/app", 300),
    ]
    base, size = made[0]  # "/bin/sh -c #(nop) ADD file:<64 hex> in / ", shortened
    assert base.startswith("ADD file:") and base.endswith("… in /") and len(base) < 30
    assert size == 1500
    empty = [s.created_by for s in history.steps if s.empty]
    assert empty[:2] == ['CMD ["/bin/sh"]', "ENV APP_HOME=/var/lib/app LANG=C.UTF-8"]
    assert all(s.size is None for s in history.steps if s.empty)


def test_an_indexs_history_is_its_linux_amd64_images(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    index, _ = pusher.index("multi", "1.0", platforms=("linux/arm64", "linux/amd64"))
    history = image_history(client, "multi", index.digest)
    assert history.platform == "linux/amd64" and history.note == ""
    assert [s.size for s in history.steps if not s.empty] == [64]


def test_a_hostile_config_is_cut_cleaned_and_never_mislabelled(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    steps: list[object] = [
        {"created_by": "RUN \x1b]52;c;ZXZpbA==\x07echo \x1b[2J\x1b[31mred\r\nnext\x00"},
        {"created_by": "\u202eCOPY evil", "empty_layer": "true"},  # mistyped: not empty
        {"created_by": 42, "empty_layer": True},
        "not an entry",
        {"created_by": "RUN " + "x" * 100_000},
    ] + [{"created_by": f"ENV N={n}", "empty_layer": True} for n in range(20_000)]
    pushed = pusher.image("hostile", "1.0", layer_sizes=(100, 200), history=steps)
    history = image_history(client, "hostile", pushed.digest)
    assert history.total == 20_005 and len(history.steps) == MAX_STEPS
    # 4 steps claim a layer, the manifest has 2: no size is put on any step
    assert history.note == (
        "The history names 4 layer step(s), the manifest has 2 layer(s): sizes not shown."
    )
    assert all(s.size is None for s in history.steps)
    for step in history.steps:
        assert len(step.created_by) <= MAX_TEXT
        assert not set(step.created_by) & UNSAFE
    first, second, third, fourth, fifth = history.steps[:5]
    assert first.created_by == "RUN \ufffdecho \ufffd\ufffdred next\ufffd"
    assert second.created_by == "\ufffdCOPY evil" and not second.empty
    assert third.created_by == fourth.created_by == "(no instruction recorded)"
    assert fifth.created_by.endswith("…")

    for raw, note in (
        (b"\xff not json", "The image config is not JSON."),
        (b"[1, 2]", "The image config records no history."),
        (b'{"history": {"created_by": "x"}}', "The image config records no history."),
    ):
        odd = pusher.image("hostile", None, seed=note + str(raw), config_raw=raw)
        assert image_history(client, "hostile", odd.digest).note == note


def test_a_missing_image_or_an_artifact_is_one_sentence(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    history = image_history(client, "nothing/here", "sha256:" + "0" * 64)
    assert history.steps == () and history.note.startswith("The manifest")
    sbom = pusher.referrer(pusher.image("team/app", "1.0"), "application/spdx+json")
    artifact = image_history(client, "team/app", sbom.digest)
    assert artifact == ImageHistory(note="Not an image (an artifact): no build steps.")


def pane_text(app: DregApp) -> str:
    return str(app.query_one("#digest-body").content)


async def test_digest_pane_shows_how_the_image_was_built(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    pusher.image("team/app", "1.0", layer_sizes=(1500, 900, 300))
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        await settle(pilot)
        lines = pane_text(app).splitlines()
        build = next(n for n, line in enumerate(lines) if line.startswith("build"))
        assert lines[build] == "build     9 steps: 3 layers, 6 empty"
        assert lines[build + 1].startswith("  1.5 KiB ADD file:")
        assert lines[build + 2 :] == [
            "          + 3 empty: CMD, ENV, WORKDIR",
            "    900 B RUN apk add --no-cache",
            "          ca-certificates tzdata",
            "    300 B COPY app /usr/local/bin/app",
            "          + 3 empty: EXPOSE, USER,",
            "          ENTRYPOINT",
        ]
        assert not any(line.startswith("layers    sha256") for line in lines)  # steps instead


async def test_digest_pane_at_80x24_uses_its_width_from_the_first_draw(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    """Issue 25, item 11: the pane's first draw was cut at 12 columns (its width unknown)."""
    long = "RUN /bin/sh -c " + " ".join(f"step-{n}" for n in range(60))
    history = [{"created_by": long}, {"created_by": "CMD x", "empty_layer": True}]
    pusher.image("team/app", "1.0", layer_sizes=(4096,), history=history)
    pusher.image("team/app", "0.9", layer_sizes=(4096,), history=history)
    app = DregApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_repository(pilot, "team/app")
        # the lower area shows "shared by" while the cursor moves: the digest pane, hidden,
        # draws 1.0 without a width; shown again, it is drawn at its own
        await pilot.press("v", "down", "v")
        await settle(pilot)
        pane = app.query_one("#digest")
        assert pane.display and app.tag_list.current_tag == "1.0"
        room = pane.scrollable_content_region.width
        lines = pane_text(app).splitlines()
        assert lines[0] == "tag       team/app:1.0"
        assert all(len(line) <= room for line in lines)
        build = next(n for n, line in enumerate(lines) if line.startswith("build"))
        # a long instruction takes three lines at most, the last cut with an ellipsis
        assert lines[build + 1].startswith("  4.0 KiB RUN step-0 step-1")
        assert lines[build + 3].endswith("…") and lines[build + 4] == "          + 1 empty: CMD"
