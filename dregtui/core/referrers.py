"""The image graph: which manifests refer to which (signatures, SBOMs, attestations).

A referrer names its image in ``subject`` (OCI 1.1); registries without the referrers API get
a *fallback tag* ``sha256-<hex of the subject>`` on an OCI index listing them; cosign's older
scheme tags ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` in the subject's repository. Edges are
per repository (a referrer lives in its subject's repository): a fallback index in another
repository is that repository's business.

An edge is taken only when it holds: a fallback index's entry counts when the entry's own body
names the same subject; a ``subject`` or cosign tag naming a digest the repository does not
hold, a fallback index naming a manifest the registry lacks, and a loop of subjects are each
one warning and no edge, so nothing is deleted on the strength of a broken edge.

    graph = build_graph(inventory)
    graph.referrers("team/app", digest)      # direct referrers, sorted by digest
    graph.closure("team/app", [digest])      # recursively (a signature of an SBOM), subjects first
    graph.warnings                           # one sentence per broken edge
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from dregtui.core.inventory import ArtifactInfo, Inventory
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import Descriptor, Manifest
from dregtui.core.textsafe import clean

FALLBACK_TAG = re.compile(r"sha256-([0-9a-f]{64})")
COSIGN_TAG = re.compile(r"sha256-([0-9a-f]{64})\.(sig|att|sbom)")
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


class Kind(StrEnum):
    SIGNATURE = "signature"
    SBOM = "sbom"
    ATTESTATION = "attestation"
    OTHER = "other"


class Source(StrEnum):
    """Where an edge was found."""

    SUBJECT = "subject"  # a tagged manifest's own subject field
    FALLBACK = "fallback"  # the fallback tag's index (the entry's body names the subject)
    COSIGN = "cosign"  # a sha256-<hex>.sig/.att/.sbom tag
    API = "api"  # GET /v2/<name>/referrers/<digest>


_COSIGN_KINDS = {"sig": Kind.SIGNATURE, "att": Kind.ATTESTATION, "sbom": Kind.SBOM}
_PLAIN_CONFIGS = frozenset(
    {mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG, mediatypes.OCI_EMPTY, ""}
)


def kind_of(artifact_type: str) -> Kind:
    """A referrer's kind from its artifactType (or config media type)."""
    t = artifact_type.lower()
    if "in-toto" in t or "intoto" in t or "attestation" in t or "dsse" in t or ".att." in t:
        return Kind.ATTESTATION
    if "spdx" in t or "cyclonedx" in t or "sbom" in t or "syft" in t:
        return Kind.SBOM
    if "signature" in t or ".sig." in t or "notary" in t or "cosign" in t:
        return Kind.SIGNATURE
    return Kind.OTHER


def artifact_of(manifest: Manifest) -> ArtifactInfo | None:
    """What a manifest says about itself as a referrer (None: neither subject nor type)."""
    subject = manifest.subject.digest if manifest.subject is not None else ""
    artifact_type = manifest.artifact_type or ""
    config = manifest.config
    if not artifact_type and config is not None and config.media_type not in _PLAIN_CONFIGS:
        artifact_type = config.media_type
    if not subject and not artifact_type:
        return None
    return ArtifactInfo(subject, artifact_type)


def plumbing_subject(tag: str) -> str | None:
    """``sha256-<hex>`` or ``sha256-<hex>.sig/.att/.sbom`` -> ``sha256:<hex>``, else None."""
    m = FALLBACK_TAG.fullmatch(tag) or COSIGN_TAG.fullmatch(tag)
    return f"sha256:{m.group(1)}" if m else None


def is_plumbing_tag(tag: str) -> bool:
    """A tag that is the registry's bookkeeping for a referrer, never an image of its own."""
    return plumbing_subject(tag) is not None


@dataclass(frozen=True, slots=True)
class Referrer:
    repository: str
    digest: str
    subject: str
    kind: Kind
    artifact_type: str
    source: Source

    def to_json(self) -> dict[str, str]:
        return {
            "digest": self.digest,
            "subject": self.subject,
            "kind": self.kind.value,
            "artifact_type": self.artifact_type,
            "source": self.source.value,
        }


@dataclass(slots=True)
class ReferrerGraph:
    # (repository, subject) -> its direct referrers
    edges: dict[tuple[str, str], list[Referrer]] = field(default_factory=dict)
    # (repository, subject) -> its fallback tag, when the repository has one
    fallback_tags: dict[tuple[str, str], str] = field(default_factory=dict)
    # repository -> one sentence per broken edge in it
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return [w for repo in sorted(self.problems) for w in self.problems[repo]]

    def warn(self, repository: str, text: str) -> None:
        self.problems.setdefault(repository, []).append(text)

    def referrers(self, repository: str, digest: str) -> list[Referrer]:
        return list(self.edges.get((repository, digest), ()))

    def closure(self, repository: str, digests: Iterable[str]) -> list[Referrer]:
        """Every referrer of ``digests``, recursively, each once, a subject's before its own."""
        seen = set(digests)
        out: list[Referrer] = []
        queue = list(seen)
        while queue:
            subject = queue.pop(0)
            for ref in self.edges.get((repository, subject), ()):
                if ref.digest not in seen:
                    seen.add(ref.digest)
                    out.append(ref)
                    queue.append(ref.digest)
        return out

    def subject_of(self, repository: str, digest: str) -> str | None:
        for (repo, subject), refs in self.edges.items():
            if repo == repository and any(r.digest == digest for r in refs):
                return subject
        return None

    def add(self, ref: Referrer) -> None:
        refs = self.edges.setdefault((ref.repository, ref.subject), [])
        if all(r.digest != ref.digest for r in refs):
            refs.append(ref)
            refs.sort(key=lambda r: r.digest)


def build_graph(
    inventory: Inventory,
    repositories: Iterable[str] | None = None,
    api: Mapping[tuple[str, str], Sequence[Descriptor]] | None = None,
    stored: Mapping[tuple[str, str], Sequence[Descriptor]] | None = None,
) -> ReferrerGraph:
    """The referrer edges of every scanned repository (or of ``repositories``), with a
    warning per broken edge. ``api``: (repository, subject) -> the referrers the registry's
    referrers API lists; ``stored``: the same for the untagged revisions with a subject a
    registry's storage holds (both from ``dregtui/ops/referrers_api.py``)."""
    graph = ReferrerGraph()
    artifacts = inventory.artifacts
    wanted = inventory.scanned if repositories is None else inventory.scanned & set(repositories)
    for repo in sorted(wanted):
        tags = inventory.repositories.get(repo, {})
        held = _held(inventory, (info.digest for info in tags.values()))
        found: list[Referrer] = []
        for tag in sorted(tags):
            digest = tags[tag].digest
            cosign = COSIGN_TAG.fullmatch(tag)
            if cosign:
                subject = f"sha256:{cosign.group(1)}"
                info = artifacts.get(digest)
                found.append(
                    Referrer(
                        repo,
                        digest,
                        subject,
                        _COSIGN_KINDS[cosign.group(2)],
                        info.artifact_type if info else "",
                        Source.COSIGN,
                    )
                )
                continue
            fallback = FALLBACK_TAG.fullmatch(tag)
            if fallback:
                subject = f"sha256:{fallback.group(1)}"
                graph.fallback_tags[(repo, subject)] = tag
                for entry in inventory.children.get(digest, ()):
                    info = artifacts.get(entry)
                    if info is None or info.subject != subject:
                        graph.warn(
                            repo,
                            f"{clean(repo)}:{tag} lists {entry}, which "
                            + (
                                "the registry does not have (or was not read: --refresh reads it)"
                                if info is None
                                else "names another subject"
                            )
                            + ": not taken as a referrer.",
                        )
                        continue
                    found.append(_referrer(repo, entry, info, Source.FALLBACK))
                continue
            info = artifacts.get(digest)
            if info is not None and info.subject:
                found.append(_referrer(repo, digest, info, Source.SUBJECT))
        for source, listing in ((Source.API, api), (Source.SUBJECT, stored)):
            for (where, subject), listed in sorted((listing or {}).items()):
                if where == repo:
                    found += [
                        Referrer(
                            repo,
                            d.digest,
                            subject,
                            kind_of(d.artifact_type or ""),
                            d.artifact_type or "",
                            source,
                        )
                        for d in listed
                    ]
        held |= {ref.digest for ref in found}
        for ref in found:
            if ref.subject not in held:
                graph.warn(
                    repo,
                    f"{clean(repo)}@{ref.digest} refers to {ref.subject}, which the repository "
                    "does not hold: left alone.",
                )
                continue
            graph.add(ref)
    _break_loops(graph)
    return graph


def _referrer(repo: str, digest: str, info: ArtifactInfo, source: Source) -> Referrer:
    return Referrer(
        repo, digest, info.subject, kind_of(info.artifact_type), info.artifact_type, source
    )


def _held(inventory: Inventory, tagged: Iterable[str]) -> set[str]:
    """The tagged digests and, recursively, the children of tagged indexes."""
    held: set[str] = set()
    queue = list(tagged)
    while queue:
        digest = queue.pop()
        if digest not in held:
            held.add(digest)
            queue.extend(inventory.children.get(digest, ()))
    return held


def _break_loops(graph: ReferrerGraph) -> None:
    """A referrer whose chain of subjects comes back to itself: one warning, its edges gone."""
    subject_of = {
        (ref.repository, ref.digest): ref.subject for refs in graph.edges.values() for ref in refs
    }
    looped: set[tuple[str, str]] = set()
    for start in sorted(subject_of):
        repo, at = start
        chain: list[str] = []
        while (repo, at) in subject_of and at not in chain:
            chain.append(at)
            at = subject_of[(repo, at)]
        if at in chain:
            members = frozenset(chain[chain.index(at) :])
            if not any((repo, m) in looped for m in members):
                graph.warn(
                    repo,
                    f"{clean(repo)}: a loop of subjects ({', '.join(sorted(members))}): "
                    "none of them taken as a referrer.",
                )
            looped |= {(repo, m) for m in members}
    for key in list(graph.edges):
        kept = [r for r in graph.edges[key] if (r.repository, r.digest) not in looped]
        if kept:
            graph.edges[key] = kept
        else:
            del graph.edges[key]
