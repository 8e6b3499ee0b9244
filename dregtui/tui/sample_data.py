"""A fixed inventory (no registry needed) for snapshot tests and screenshots/generate.py."""

from __future__ import annotations

import hashlib

from dregtui.core.footprints import Footprint
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.oci.history import ImageHistory, Step
from dregtui.ops.imagefacts import ImageFacts, Layer
from dregtui.tui.messages import Outcome

REGISTRY = "https://registry.example.com"
SCANNED_AT = 1_700_000_000.0
NOW = SCANNED_AT + 600


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _history(name: str, base: int, app: int, platform: str = "") -> ImageHistory:
    """A build as ``docker history`` would list it: a base layer, the app's layer, and steps
    that made none."""
    steps = (
        Step("ADD file:9a8b7c6d5e4f… in /", False, base),
        Step('CMD ["/bin/sh"]', True),
        Step("ENV APP_HOME=/srv LANG=C.UTF-8", True),
        Step("WORKDIR /srv", True),
        Step(f"COPY --chown=app:app dist/{name} /usr/local/bin/{name}", False, app),
        Step("EXPOSE map[8080/tcp:{}]", True),
        Step(f'ENTRYPOINT ["/usr/local/bin/{name}"]', True),
    )
    return ImageHistory(steps, len(steps), platform=platform)


def sample_inventory() -> tuple[Inventory, list[ImageFacts]]:
    """Repositories, shared digests (within and across repositories), an index, signatures."""
    inv = Inventory(REGISTRY)
    details: list[ImageFacts] = []

    def image(
        seed: str, created: str, size: int, media_type: str = mediatypes.DOCKER_MANIFEST
    ) -> str:
        digest = _digest(seed)
        details.append(
            ImageFacts(
                digest=digest,
                media_type=media_type,
                size=size,
                created=created,
                labels={
                    "org.opencontainers.image.source": "https://git.example.com/"
                    + seed.split(":")[0]
                },
                layers=(
                    Layer(_digest(seed + "/l1"), size - 1200, ""),
                    Layer(_digest(seed + "/l2"), 1200, ""),
                ),
                os_arch="linux/amd64",
                history=_history(seed.split(":")[0].rsplit("/", 1)[-1], size - 1200, 1200),
            )
        )
        return digest

    api = {}
    for number, version in enumerate(
        ["v1.0.0", "v1.1.0", "v1.2.0", "v1.2.1", "v1.3.0", "v1.4.0", "v1.4.1", "v1.4.2"]
    ):
        api[version] = image(
            f"team/api:{version}",
            f"2024-0{1 + number // 2}-1{number}T10:00:00Z",
            48_000_000 + number * 731_000,
            mediatypes.OCI_MANIFEST,
        )
    tags = {v: TagInfo(d, mediatypes.OCI_MANIFEST) for v, d in api.items()}
    tags["latest"] = tags["v1.4.2"]
    tags["prod"] = tags["v1.4.1"]
    sig = image("team/api:sig", "2024-05-01T00:00:00Z", 900, mediatypes.OCI_MANIFEST)
    tags[api["v1.4.2"].replace(":", "-") + ".sig"] = TagInfo(sig, mediatypes.OCI_MANIFEST)
    inv.set_repository("team/api", tags)

    web = {
        v: image(f"team/web:{v}", f"2024-02-0{n + 1}T08:30:00Z", 21_500_000 + n * 90_000)
        for n, v in enumerate(["2.0.0", "2.1.0", "2.2.0"])
    }
    web_tags = {v: TagInfo(d, mediatypes.DOCKER_MANIFEST) for v, d in web.items()}
    web_tags["api-base"] = TagInfo(api["v1.3.0"], mediatypes.OCI_MANIFEST)
    inv.set_repository("team/web", web_tags)

    lint = {
        v: image(f"team/tools/lint:{v}", f"2024-0{n + 2}-20T09:00:00Z", 8_200_000 + n * 40_000)
        for n, v in enumerate(["0.9", "1.0"])
    }
    inv.set_repository(
        "team/tools/lint", {v: TagInfo(d, mediatypes.DOCKER_MANIFEST) for v, d in lint.items()}
    )

    nginx = {
        v: image(f"library/nginx:{v}", f"2023-1{n}-01T00:00:00Z", 67_000_000 + n * 1_000_000)
        for n, v in enumerate(["1.24.0", "1.25.0", "1.25.3"])
    }
    nginx_tags = {v: TagInfo(d, mediatypes.DOCKER_MANIFEST) for v, d in nginx.items()}
    nginx_tags["stable"] = nginx_tags["1.25.3"]
    nginx_tags["latest"] = nginx_tags["1.25.3"]
    inv.set_repository("library/nginx", nginx_tags)
    inv.set_repository(
        "mirror/nginx", {"1.25.3": nginx_tags["1.25.3"], "latest": nginx_tags["1.25.3"]}
    )

    children = [
        image(f"library/alpine:3.20/{p}", "2024-05-22T00:00:00Z", 3_400_000)
        for p in ("amd64", "arm64")
    ]
    index = _digest("library/alpine:3.20")
    inv.set_children(index, children)
    details.append(
        ImageFacts(
            digest=index,
            media_type=mediatypes.OCI_INDEX,
            size=6_800_000,
            created="2024-05-22T00:00:00Z",
            platforms=(("linux/amd64", children[0]), ("linux/arm64", children[1])),
            history=_history("alpine", 3_398_800, 1200, platform="linux/amd64"),
        )
    )
    old = image("library/alpine:3.19", "2023-12-07T00:00:00Z", 3_300_000)
    inv.set_repository(
        "library/alpine",
        {
            "3.20": TagInfo(index, mediatypes.OCI_INDEX),
            "latest": TagInfo(index, mediatypes.OCI_INDEX),
            "3.19": TagInfo(old, mediatypes.DOCKER_MANIFEST),
        },
    )
    builds: dict[str, TagInfo] = {}
    for number in range(240):
        digest = (
            image(
                f"ci/builds:{number // 6}",
                f"2024-06-{1 + number // 12:02d}T12:00:00Z",
                12_000_000 + number // 6 * 1000,
            )
            if number % 6 == 0
            else builds[f"0.{(number - 1) // 100}.{(number - 1) % 100}"].digest
        )
        builds[f"0.{number // 100}.{number % 100}"] = TagInfo(digest, mediatypes.DOCKER_MANIFEST)
    inv.set_repository("ci/builds", builds)
    unique = {d.digest: d for d in details}
    # What a scan with sizes learns (dregtui/core/space.py): each manifest's JSON, its config and
    # layers (an index: its children), so the tree, the tags and the marks show sizes.
    for d in unique.values():
        if d.platforms:
            refs = [(child, 1_100) for _, child in d.platforms]
            inv.set_footprint(d.digest, Footprint.of(700, refs))
        else:
            refs = [(_digest(d.digest + "/config"), 1_500)]
            refs += [(layer.digest, layer.size) for layer in d.layers]
            inv.set_footprint(d.digest, Footprint.of(1_100, refs))
    inv.mark_scanned(SCANNED_AT)
    return inv, list(unique.values())


def sample_app(**kwargs: object):  # type: ignore[no-untyped-def]
    """A DregApp on the fixed inventory: no registry, no clock, no network."""
    from dregtui.tui.app import DregApp

    inventory, details = sample_inventory()
    return DregApp(None, inventory=inventory, details=details, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


async def show_main(pilot) -> None:  # type: ignore[no-untyped-def]
    """team/api open, cursor on v1.3.0 (also team/web:api-base); sizes accounted."""
    app = pilot.app
    await app.workers.wait_for_complete()  # the space accounting (a worker) is done
    await pilot.pause()
    app.repo_tree.reveal("team/api")
    await pilot.pause()
    await pilot.press("enter", "down", "down", "down", "down")
    await pilot.pause()


async def show_build(pilot) -> None:  # type: ignore[no-untyped-def]
    """team/api:v1.3.0 as show_main, the digest pane focused and scrolled to how it was built."""
    await show_main(pilot)
    await pilot.press("tab", "end")
    await pilot.pause()


async def show_confirm(pilot) -> None:  # type: ignore[no-untyped-def]
    """v1.0.0 and v1.4.1 marked (prod shares v1.4.1's digest), then d."""
    await show_main(pilot)
    await pilot.press("up", "up", "up", "up", "space", "down", "down", "down", "down", "down")
    await pilot.press("space")
    await pilot.app.workers.wait_for_complete()  # what the marks free (a worker)
    await pilot.pause()
    await pilot.press("d")
    await pilot.pause()


def sample_outcomes() -> list[Outcome]:
    inventory, _ = sample_inventory()
    api = inventory.repositories["team/api"]
    return [
        Outcome("team/api", api["v1.0.0"].digest, ["v1.0.0"], "deleted"),
        Outcome("team/api", api["v1.1.0"].digest, ["v1.1.0"], "deleted"),
        Outcome(
            "team/api",
            api["v1.4.1"].digest,
            ["v1.4.1"],
            "skipped",
            "also tagged prod, not marked: d, then 2 (delete them too) or 3 (untag only)",
        ),
        Outcome(
            "team/api", api["v1.2.0"].digest, ["v1.2.0"], "failed", "v1.2.0 changed since the scan"
        ),
    ]


async def show_result(pilot) -> None:  # type: ignore[no-untyped-def]
    from dregtui.tui.screens.result import ResultScreen

    await show_main(pilot)
    pilot.app.push_screen(
        ResultScreen(sample_outcomes(), batch="3f2a9c1d7e8b", restore=lambda batch: None)
    )
    await pilot.pause()


async def show_quit(pilot) -> None:  # type: ignore[no-untyped-def]
    """Two tags marked, then q: the question before the marks are dropped."""
    await show_main(pilot)
    await pilot.press("space", "down", "space")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("q")
    await pilot.pause()


async def show_protected_confirm(pilot) -> None:  # type: ignore[no-untyped-def]
    """library/nginx marked whole from the tree (latest and stable among its tags), then d:
    the confirmation names the protected-looking tags and the repository it empties."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.repo_tree.reveal("library/nginx")
    app.repo_tree.focus()
    await pilot.pause()
    await pilot.press("space")
    await app.workers.wait_for_complete()  # what the marks free (a worker)
    await pilot.pause()
    await pilot.press("d")
    await pilot.pause()


async def show_filter_error(pilot) -> None:  # type: ignore[no-untyped-def]
    """team/api open, ``re:(`` typed in the tags' filter: the error under the field."""
    await show_main(pilot)
    await pilot.press("slash", *"re:(")
    await pilot.pause()
