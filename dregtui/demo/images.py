"""Push synthetic images through the registry HTTP API (blob upload + manifest PUT).

Docker schema2 images, OCI images, OCI indexes with platform children, cosign-style
signature tags. Everything is tiny and deterministic for a given ``seed`` string, so the
same call pushes the same digest (handy to share a digest across tags and repositories).
An image's config carries a build history as ``docker build`` writes it: one step per layer,
in order, and steps that made none (ENV, CMD...) marked ``empty_layer``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from dregtui.core.errors import NotFoundError
from dregtui.core.oci import mediatypes
from dregtui.registry.client import RegistryClient

LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Pushed:
    repository: str
    tag: str | None
    digest: str
    media_type: str
    raw: bytes


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=3, sort_keys=False).encode()


# Steps that make a layer after the base image's, taken in turn ({name}: the repository's last
# part), BuildKit's way of writing them.
_LAYER_STEPS = (
    "RUN /bin/sh -c apk add --no-cache ca-certificates tzdata # buildkit",
    "COPY {name} /usr/local/bin/{name} # buildkit",
    "RUN /bin/sh -c adduser -D -u 10001 {name} && mkdir -p /var/lib/{name} # buildkit",
    "COPY config/ /etc/{name}/ # buildkit",
)


def build_history(repository: str, layers: int, created: str, seed: str) -> list[dict[str, Any]]:
    """A realistic config history for ``layers`` layers: the base image's ADD and CMD as the
    classic builder wrote them, then ENV and WORKDIR, one RUN or COPY per further layer, and
    EXPOSE, USER, ENTRYPOINT (steps without a layer)."""
    name = repository.rsplit("/", 1)[-1] or "app"
    base = hashlib.sha256(f"{seed}/base".encode()).hexdigest()

    def step(created_by: str, empty: bool = False) -> dict[str, Any]:
        entry: dict[str, Any] = {"created": created, "created_by": created_by.format(name=name)}
        if "# buildkit" in created_by:
            entry["comment"] = "buildkit.dockerfile.v0"
        if empty:
            entry["empty_layer"] = True
        return entry

    history = []
    if layers:
        history.append(step(f"/bin/sh -c #(nop) ADD file:{base} in / "))
    history.append(step('/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty=True))
    history.append(step("ENV APP_HOME=/var/lib/{name} LANG=C.UTF-8 # buildkit", empty=True))
    history.append(step("WORKDIR /var/lib/{name} # buildkit", empty=True))
    for number in range(max(layers - 1, 0)):
        if number < len(_LAYER_STEPS):
            history.append(step(_LAYER_STEPS[number]))
        else:
            history.append(step(f"RUN /bin/sh -c make -C /src stage-{number} # buildkit"))
    history.append(step("EXPOSE map[8080/tcp:{{}}] # buildkit", empty=True))
    history.append(step("USER {name} # buildkit", empty=True))
    history.append(step('ENTRYPOINT ["/usr/local/bin/{name}"] # buildkit', empty=True))
    return history


class ImagePusher:
    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def _blob(self, repository: str, data: bytes, media_type: str) -> dict[str, Any]:
        digest = self.client.upload_blob(repository, data)
        return {"mediaType": media_type, "size": len(data), "digest": digest}

    def image(
        self,
        repository: str,
        tag: str | None,
        *,
        seed: str = "",
        oci: bool = False,
        created: str = "2024-01-01T00:00:00Z",
        os: str = "linux",
        architecture: str = "amd64",
        labels: dict[str, str] | None = None,
        layers: int = 1,
        layer_size: int = 64,
        layer_sizes: tuple[int, ...] = (),
        history: list[Any] | None = None,
        config_raw: bytes | None = None,
    ) -> Pushed:
        """Push one image manifest (schema2 by default, OCI with ``oci=True``).

        ``layer_sizes``: each layer's bytes (else ``layers`` of ``layer_size``); ``history``:
        the config's history (else :func:`build_history`'s); ``config_raw``: the config blob's
        exact bytes, whatever they hold."""
        seed = seed or f"{repository}:{tag}"
        sizes = layer_sizes or (layer_size,) * layers
        config_doc: dict[str, Any] = {
            "architecture": architecture,
            "os": os,
            "created": created,
            "config": {"Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        layer_descs = []
        for i, size in enumerate(sizes):
            data = hashlib.sha256(f"{seed}/layer/{i}".encode()).digest()
            data = (data * (size // len(data) + 1))[:size]
            layer_descs.append(self._blob(repository, data, OCI_LAYER if oci else LAYER_GZIP))
            config_doc["rootfs"]["diff_ids"].append(layer_descs[-1]["digest"])
        config_doc["history"] = (
            history if history is not None else build_history(repository, len(sizes), created, seed)
        )
        config_doc["dregtui.seed"] = seed
        config = self._blob(
            repository,
            config_raw if config_raw is not None else json.dumps(config_doc).encode(),
            mediatypes.OCI_CONFIG if oci else mediatypes.DOCKER_CONFIG,
        )
        media_type = mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST
        raw = _canonical(
            {"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": layer_descs}
        )
        return self._put(repository, tag, raw, media_type)

    def index(
        self,
        repository: str,
        tag: str | None,
        *,
        seed: str = "",
        platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
        oci: bool = True,
        created: str = "2024-01-01T00:00:00Z",
    ) -> tuple[Pushed, list[Pushed]]:
        """Push an index (OCI or Docker manifest list) with untagged platform children."""
        seed = seed or f"{repository}:{tag}"
        children = []
        entries = []
        for platform in platforms:
            os_name, _, arch = platform.partition("/")
            child = self.image(
                repository,
                None,
                seed=f"{seed}/{platform}",
                oci=oci,
                created=created,
                os=os_name,
                architecture=arch,
            )
            children.append(child)
            entries.append(
                {
                    "mediaType": child.media_type,
                    "size": len(child.raw),
                    "digest": child.digest,
                    "platform": {"architecture": arch, "os": os_name},
                }
            )
        media_type = mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_MANIFEST_LIST
        raw = _canonical({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
        return self._put(repository, tag, raw, media_type), children

    def signature(self, repository: str, target_digest: str, *, kind: str = "sig") -> Pushed:
        """A cosign-style ``sha256-<hex>.sig`` tag (an OCI manifest) for ``target_digest``."""
        tag = target_digest.replace(":", "-") + f".{kind}"
        return self.image(repository, tag, seed=f"{repository}/{tag}", oci=True)

    def referrer(
        self,
        subject: Pushed,
        artifact_type: str,
        *,
        repository: str | None = None,
        seed: str = "",
        size: int = 256,
    ) -> Pushed:
        """A referrer of ``subject`` pushed the way oras, notation and cosign (OCI 1.1 mode)
        push to a registry without the referrers API: the manifest by digest (untagged) with
        ``subject`` and ``artifactType``, and the fallback tag ``sha256-<hex of the subject>``
        on an OCI index listing the subject's referrers (rewritten with the new entry).
        ``repository``: where to push (default the subject's)."""
        repository = repository or subject.repository
        seed = seed or f"{repository}/{subject.digest}/{artifact_type}"
        data = hashlib.sha256(seed.encode()).digest()
        data = (data * (size // len(data) + 1))[:size]
        doc = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": self._blob(repository, b"{}", mediatypes.OCI_EMPTY),
            "layers": [self._blob(repository, data, "application/octet-stream")],
            "subject": {
                "mediaType": subject.media_type,
                "size": len(subject.raw),
                "digest": subject.digest,
            },
        }
        pushed = self._put(repository, None, _canonical(doc), mediatypes.OCI_MANIFEST)
        fallback = subject.digest.replace(":", "-", 1)
        entries: list[dict[str, Any]] = []
        try:
            current = self.client.get_manifest(repository, fallback)
        except NotFoundError:
            current = None
        if current is not None:
            entries = [e for e in json.loads(current.raw).get("manifests", [])]
        entries.append(
            {
                "mediaType": mediatypes.OCI_MANIFEST,
                "size": len(pushed.raw),
                "digest": pushed.digest,
                "artifactType": artifact_type,
            }
        )
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries}
        self._put(repository, fallback, _canonical(index), mediatypes.OCI_INDEX)
        return pushed

    def tag(self, repository: str, tag: str, pushed: Pushed) -> Pushed:
        """Point another tag (possibly in another repository) at the same manifest bytes."""
        if repository != pushed.repository:
            self._copy_blobs(pushed, repository)
        return self._put(repository, tag, pushed.raw, pushed.media_type)

    def _copy_blobs(self, pushed: Pushed, repository: str) -> None:
        doc = json.loads(pushed.raw)
        if "manifests" in doc:
            for child in doc["manifests"]:
                raw = self.client.get_manifest(pushed.repository, child["digest"]).raw
                sub = Pushed(pushed.repository, None, child["digest"], child["mediaType"], raw)
                self._copy_blobs(sub, repository)
                self._put(repository, None, raw, child["mediaType"])
            return
        for desc in [doc["config"], *doc.get("layers", [])]:
            data = self.client.get_blob(pushed.repository, desc["digest"])
            self.client.upload_blob(repository, data)

    def _put(self, repository: str, tag: str | None, raw: bytes, media_type: str) -> Pushed:
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        self.client.put_manifest(repository, tag or digest, raw, media_type)
        return Pushed(repository, tag, digest, media_type, raw)
