"""The image graph in the TUI (issue 24): the confirmation lists referrers as going with their
image, the digest pane lists an image's referrers, the tags pane marks signed images and folds
the plumbing tags."""

from __future__ import annotations

import pytest
from support.tui import open_repository, settle
from textual.content import Content
from textual.widget import Widget

from dregtui.core.referrers import COSIGN_SIGNATURE
from dregtui.core.space import human_size
from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient
from dregtui.tui.app import DregApp
from dregtui.tui.commands import ACTIONS
from dregtui.tui.referrer_view import referrer_size
from dregtui.tui.screens.confirm import ConfirmScreen
from dregtui.tui.screens.result import ResultScreen

pytestmark = pytest.mark.timeout(90)

SPDX = "application/spdx+json"


def title(widget: Widget) -> str:
    return Content.from_markup(str(widget.border_title)).plain


def signed_app(pusher: ImagePusher) -> dict[str, str]:
    """team/app 1.0 with an oras signature and SBOM (fallback tag) and a cosign .sig; 2.0 plain."""
    image = pusher.image("team/app", "1.0", seed="A", oci=True)
    pusher.image("team/app", "2.0", seed="B", oci=True)
    signature = pusher.referrer(image, COSIGN_SIGNATURE, size=300)
    sbom = pusher.referrer(image, SPDX, size=500)
    cosign = pusher.signature("team/app", image.digest)
    return {
        "image": image.digest,
        "signature": signature.digest,
        "sbom": sbom.digest,
        "cosign": cosign.digest,
        "fallback": "sha256-" + image.digest[7:],
    }


async def test_confirm_lists_referrers_and_deletes_them_with_the_image(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    d = signed_app(pusher)
    app = DregApp(client)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_repository(pilot, "team/app")
        assert app.tag_list.current_tag == "1.0"
        await pilot.press("space", "d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        shown = " ".join(str(app.screen.query_one("#confirm-plan").content).split())
        assert "Referrers taken along: 4 of 4 go with their image" in shown
        for digest, kind in (
            (d["signature"], "signature"),
            (d["sbom"], "sbom"),
            (d["cosign"], "signature"),
        ):
            assert f"team/app @ {digest[7:19]} oci {kind} of team/app:1.0 (goes with it)" in shown
        assert f"fallback index of team/app:1.0 (goes with it) tags: {d['fallback']}" in shown
        assert "also tagged, not marked" not in shown
        assert "referenced by index" not in shown
        assert not app.screen.query("#confirm-choice")  # nothing to choose: no user tags shared
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert {o.status for o in app.screen.outcomes} == {"deleted"}
    assert sorted(client.list_tags("team/app")) == ["2.0"]
    for key in ("image", "signature", "sbom", "cosign"):
        assert client.head_manifest("team/app", d[key]) is None, key


async def test_digest_pane_lists_an_images_referrers(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    d = signed_app(pusher)
    app = DregApp(client)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_repository(pilot, "team/app")
        assert app.tag_list.current_tag == "1.0"
        await settle(pilot)
        body = str(app.query_one("#digest-body").content)
        lines = [" ".join(line.split()) for line in body.splitlines()]
        start = next(i for i, line in enumerate(lines) if line.startswith("referrers"))
        shown = "\n".join(lines[start:])
        inventory = app.session.inventory
        for key, kind, artifact_type in (
            ("signature", "signature", COSIGN_SIGNATURE),
            ("sbom", "sbom", SPDX),
            ("cosign", "signature", "(cosign tag)"),
        ):
            size = referrer_size(inventory, d[key])
            assert size is not None and size > 0
            assert f"{kind} {human_size(size)} {d[key][7:19]}\n{artifact_type}" in shown
        assert "(they go with the image when it is deleted)" in shown
        await pilot.press("space", "k")  # marked (the cursor moves on): back on it
        await settle(pilot)
        body = " ".join(str(app.query_one("#digest-body").content).split())
        assert "marked: these 3 go with the image" in body
        await pilot.press("j")  # 2.0: no referrers
        await settle(pilot)
        assert "referrers" not in str(app.query_one("#digest-body").content)


async def test_tags_pane_marks_signed_images_and_folds_plumbing_tags(
    client: RegistryClient, pusher: ImagePusher
) -> None:
    d = signed_app(pusher)
    plumbing = sorted([d["fallback"], d["fallback"] + ".sig"])
    app = DregApp(client)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_repository(pilot, "team/app")
        assert app.tag_list.rows == ["1.0", "2.0"]  # folded by default
        pane = app.main.tags_pane
        assert title(pane) == "team/app  2 (+2 hidden)"
        lines = [app.tag_list.render_line(y).text for y in range(2)]
        assert lines[0].split()[:2] == ["1.0", "✓"]  # signed
        assert "✓" not in lines[1]
        # in the palette (and, as every main-screen binding, in the help: tests/test_tui_keys.py)
        assert ("Plumbing tags", "toggle_plumbing") in [(t, a) for t, _, a in ACTIONS]
        await pilot.press("z")
        await settle(pilot)
        assert sorted(app.tag_list.rows) == sorted(["1.0", "2.0", *plumbing])
        assert title(pane) == "team/app  4"
        await pilot.press("z")
        await settle(pilot)
        assert app.tag_list.rows == ["1.0", "2.0"]
