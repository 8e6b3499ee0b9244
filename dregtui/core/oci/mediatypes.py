"""Manifest media types and the Accept header every manifest request sends."""

from __future__ import annotations

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_TYPES = INDEX_TYPES | IMAGE_TYPES | {DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED}

# All four on every manifest request: with a narrower Accept, distribution 2.8 answers a
# manifest list with one platform child, 404s OCI content, or rewrites schema2 to schema1.
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))


def is_index(media_type: str | None) -> bool:
    return media_type in INDEX_TYPES


def short_name(media_type: str | None) -> str:
    """A compact label for a media type, for tables."""
    return {
        OCI_INDEX: "oci-index",
        OCI_MANIFEST: "oci",
        DOCKER_MANIFEST_LIST: "docker-list",
        DOCKER_MANIFEST: "docker-v2",
        DOCKER_MANIFEST_V1: "docker-v1",
        DOCKER_MANIFEST_V1_SIGNED: "docker-v1",
    }.get(media_type or "", media_type or "?")


# The annotation that marks dregtui's untag placeholder manifest (pushed under a tag, then
# deleted): restore may overwrite a tag that points at one.
PLACEHOLDER_ANNOTATION = "org.dregtui.placeholder"


# Layers a registry does not store (Windows base layers, fetched from their URLs): they take
# no space in this registry's blob store, so they count in no size.
FOREIGN_LAYERS = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
