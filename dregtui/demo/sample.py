"""The demo's sample content: shared digests, namespaces, an index, signatures, many tags.

Deterministic: the same call always pushes the same digests. ``many_tags`` sizes the big
repository (``ci/builds``) that shows off the virtual tag list.

What it holds (``populate(client)``):
- ``library/nginx``: versions, ``stable`` and ``latest`` on existing digests (intersecting tags);
- ``mirror/nginx``: the same digests as ``library/nginx`` (shared across repositories);
- ``library/alpine``: OCI indexes (linux/amd64, linux/arm64, linux/arm/v7), ``latest`` on 3.20;
- ``team/api``: ``v1.x`` versions with labels and created dates, a cosign ``.sig`` tag;
- ``team/web``: its own versions plus ``api-base``, the same digest as ``team/api:v1.3.0``;
- ``team/tools/lint``: a nested namespace;
- ``ci/builds``: ``many_tags`` tags (``0.<minor>.<patch>``), six tags per digest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from dregtui.demo.images import ImagePusher, Pushed
from dregtui.registry.client import RegistryClient

BASE_DATE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
BIG_REPOSITORY = "ci/builds"
PER_DIGEST = 6


def _date(days: int) -> str:
    return (BASE_DATE + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(repository: str, version: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.source": f"https://git.example.com/{repository}",
        "org.opencontainers.image.version": version,
    }


def populate_small(pusher: ImagePusher) -> dict[str, Pushed]:
    """Everything but the big repository. Returns a few pushed images by name."""
    out: dict[str, Pushed] = {}
    nginx: dict[str, Pushed] = {}
    for day, version in enumerate(("1.24.0", "1.25.0", "1.25.3", "1.26.0", "1.26.1")):
        nginx[version] = pusher.image(
            "library/nginx",
            version,
            created=_date(day * 30),
            labels=_labels("nginx", version),
            layer_sizes=(1500, 900, 300),
        )
    pusher.tag("library/nginx", "stable", nginx["1.25.3"])
    pusher.tag("library/nginx", "latest", nginx["1.26.1"])
    for version in ("1.25.3", "1.26.1"):
        pusher.tag("mirror/nginx", version, nginx[version])
    pusher.tag("mirror/nginx", "latest", nginx["1.26.1"])
    out["nginx"] = nginx["1.26.1"]

    for day, version in enumerate(("3.18", "3.19", "3.20")):
        index, _children = pusher.index(
            "library/alpine",
            version,
            platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"),
            created=_date(40 + day * 60),
        )
        out[f"alpine:{version}"] = index
    pusher.tag("library/alpine", "latest", out["alpine:3.20"])
    pusher.signature("library/alpine", out["alpine:3.20"].digest)

    api: dict[str, Pushed] = {}
    for number, version in enumerate(
        ("v1.0.0", "v1.1.0", "v1.2.0", "v1.2.1", "v1.3.0", "v1.4.0", "v1.4.1", "v1.4.2")
    ):
        api[version] = pusher.image(
            "team/api",
            version,
            oci=True,
            created=_date(10 + number * 12),
            labels=_labels("team/api", version),
            layer_sizes=(1000, 400),
        )
    pusher.tag("team/api", "latest", api["v1.4.2"])
    pusher.tag("team/api", "prod", api["v1.4.1"])
    pusher.signature("team/api", api["v1.4.2"].digest)
    pusher.signature("team/api", api["v1.4.1"].digest)
    out["api"] = api["v1.4.2"]

    for number, version in enumerate(("2.0.0", "2.1.0", "2.2.0")):
        pusher.image(
            "team/web",
            version,
            created=_date(20 + number * 25),
            labels=_labels("team/web", version),
        )
    pusher.tag("team/web", "api-base", api["v1.3.0"])
    pusher.image("team/tools/lint", "0.9", created=_date(5))
    pusher.image("team/tools/lint", "1.0", created=_date(70))
    return out


def populate_big(
    pusher: ImagePusher, tags: int, jobs: int = 12, cancel: threading.Event | None = None
) -> None:
    """``tags`` tags in BIG_REPOSITORY, PER_DIGEST tags per digest, pushed by a few threads.

    Builds share their one layer (only the config differs) to keep the push quick. Once
    ``cancel`` is set the pushes still queued are dropped (the one in flight finishes).
    """
    digests = max(-(-tags // PER_DIGEST), 1)
    stop = cancel or threading.Event()
    pusher.image(BIG_REPOSITORY, None, seed="build/base")

    def push_image(number: int) -> Pushed | None:
        if stop.is_set():
            return None
        first = number * PER_DIGEST
        return pusher.image(
            BIG_REPOSITORY,
            _build_tag(first),
            seed=f"build/{number}",
            created=_date(number // 6),
            layers=0,
            labels={"build": str(number)},
        )

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        images = list(pool.map(push_image, range(digests)))

        def push_tag(number: int) -> None:
            image = images[number // PER_DIGEST]
            if number % PER_DIGEST and image is not None and not stop.is_set():
                pusher.tag(BIG_REPOSITORY, _build_tag(number), image)

        list(pool.map(push_tag, range(tags)))


def _build_tag(number: int) -> str:
    return f"0.{number // 100}.{number % 100}"


def populate(
    client: RegistryClient,
    *,
    many_tags: int = 3000,
    report: Callable[[str], None] | None = None,
) -> None:
    """Fill an empty registry with the demo sample."""
    pusher = ImagePusher(client)
    if report:
        report("pushing sample images")
    populate_small(pusher)
    if many_tags:
        if report:
            report(f"pushing {many_tags} tags to {BIG_REPOSITORY}")
        populate_big(pusher, many_tags)


class BackgroundFill:
    """Push the big repository in a thread while the demo is already on screen.

    ``on_done(error)`` is called from that thread at the end (``None`` on success), not after
    :meth:`stop`.
    """

    def __init__(self, url: str, tags: int, on_done: Callable[[Exception | None], None]) -> None:
        self.url = url
        self.tags = tags
        self.on_done = on_done
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-fill", daemon=True)

    def start(self) -> BackgroundFill:
        self.thread.start()
        return self

    def _run(self) -> None:
        error: Exception | None = None
        try:
            with RegistryClient(self.url) as client:
                populate_big(ImagePusher(client), self.tags, cancel=self.cancelled)
        except Exception as exc:  # noqa: BLE001 - reported to the UI, never raised in a thread
            error = exc
        if not self.cancelled.is_set():
            self.on_done(error)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop the pushes not started yet and wait for the ones in flight (the demo quits)."""
        self.cancelled.set()
        self.join(timeout)

    def join(self, timeout: float = 5.0) -> None:
        self.thread.join(timeout)
