"""A selection: which repositories and tags a query or cleanup is about, and applying it.

The selectors themselves (``-t``, ``-re``, ``-x``, ``--variant``) are in
:mod:`dregtui.core.selectors`; :meth:`Selection.from_args` validates them all up front.

- ``-r NAME`` exact repository names; ``-rre REGEX`` repository regexes (``re.match``: anchored
  at the start, not the end, like the classic tool's tag regexes).
- ``-x`` / ``-xre`` exclusions, same syntax as ``-t`` / ``-re``: they protect a *digest*: if any
  tag of that digest in that repository matches, none of its tags is selected.
- ``--keep-last N``: per repository, keep the N most recent *images* (digests) among the
  candidates, as Harbor/GitLab retention policies do: two tags on one image count once. Images
  are ranked by their highest version tag (or by created date with ``--by-date``) and every tag
  of a kept image is kept. Images that cannot be ranked (no version tag among the candidates;
  no known date with ``--by-date``) are kept.
- ``--older-than DURATION`` (``30d``, ``12h``, ``2w``, ``90m``, ``45s``, combinations such as
  ``1w2d``): only images created before now - DURATION. The created date comes from the image
  config (looked up lazily, cached by digest); an unknown date is never "older".
- ``latest`` is never selected unless named exactly (``-t latest``) or the whole repository is
  selected (``remove-repos``, :attr:`Selection.all_tags`).
- Plumbing tags (a fallback tag ``sha256-<hex>``, cosign's ``sha256-<hex>.sig/.att/.sbom``)
  are never images: a pattern (``-re '.*'``, a glob) never selects them and ``--keep-last``
  never counts them; they go with their subject (``dregtui/core/plan_referrers.py``). Named
  exactly, or with the whole repository, they are selected.
- Retention alone (``--keep-last`` / ``--older-than`` with no ``-t``/``-re``) selects *version*
  tags only: they are what it ranks. Another tag on an image it removes (``lts``, ``stable``, a
  commit id) was not selected, so the plan treats it as it treats any tag ``-t`` did not select
  (an intersecting tag: the image is skipped, exit 3; ``--no-match-all-tags`` deletes it with a
  "not selected, deleted too" note; ``--untag`` removes only the version tags). Images without a
  version tag are left alone. Add ``-re '.*'`` to let retention consider every tag but ``latest``.

Order of application per repository: include selectors (or every tag) -> the ``latest`` rule ->
``--keep-last`` -> ``--older-than`` -> exclusions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dregtui.core.inventory import Inventory, TagRef
from dregtui.core.referrers import is_plumbing_tag
from dregtui.core.selectors import (
    LATEST,
    SelectorError,
    TagSelector,
    compile_regex,
    is_version_selector,
    parse_duration,
    parse_tag_selector,
    parse_variants,
    variant_matches,
)
from dregtui.core.tags import parse_version, sort_key

#: ``created(pairs)`` -> digest -> created date (None when unknown); pairs are (repository, digest).
CreatedLookup = Callable[[Sequence[tuple[str, str]]], Mapping[str, datetime | None]]


def _matches_any(selectors: Iterable[TagSelector], tag: str) -> bool:
    return any(s.matches(tag) for s in selectors)


@dataclass(frozen=True)
class Selection:
    """A validated selection of repositories and tags (see the module docstring).

    Build it with :meth:`from_args` (validates everything) and apply it with :meth:`select`.
    """

    repositories: tuple[str, ...] = ()
    repository_patterns: tuple[re.Pattern[str], ...] = ()
    tags: tuple[TagSelector, ...] = ()
    excludes: tuple[TagSelector, ...] = ()
    all_tags: bool = False
    keep_last: int | None = None
    by_date: bool = False
    older_than: timedelta | None = None
    variants: tuple[str, ...] = ()

    @classmethod
    def from_args(
        cls,
        *,
        repositories: Iterable[str] = (),
        repository_regex: Iterable[str] = (),
        tags: Iterable[str] = (),
        regex: Iterable[str] = (),
        exclude: Iterable[str] = (),
        exclude_regex: Iterable[str] = (),
        all_tags: bool = False,
        keep_last: int | None = None,
        by_date: bool = False,
        older_than: str | timedelta | None = None,
        variants: Iterable[str] = (),
    ) -> Selection:
        """Parse and validate every selector; raises SelectorError naming the bad argument."""
        if keep_last is not None and keep_last < 0:
            raise SelectorError(f"--keep-last {keep_last}: must be 0 or more")
        if by_date and keep_last is None:
            raise SelectorError("--by-date: only makes sense with --keep-last N")
        if isinstance(older_than, str):
            older_than = parse_duration(older_than)
        tags = tuple(tags)
        variants = parse_variants(variants)
        if variants and not (
            any(is_version_selector(t) for t in tags) or keep_last is not None or older_than
        ):
            raise SelectorError(
                "--variant: restricts version selectors (-t '<1.26') and --keep-last / "
                "--older-than; give one of them"
            )
        return cls(
            repositories=tuple(dict.fromkeys(repositories)),
            repository_patterns=tuple(compile_regex(r, "-rre") for r in repository_regex),
            tags=tuple(parse_tag_selector(t, "-t", variants=variants) for t in tags)
            + tuple(parse_tag_selector(r, "-re", regex=True) for r in regex),
            excludes=tuple(parse_tag_selector(t, "-x") for t in exclude)
            + tuple(parse_tag_selector(r, "-xre", regex=True) for r in exclude_regex),
            all_tags=all_tags,
            keep_last=keep_last,
            by_date=by_date,
            older_than=older_than,
            variants=variants,
        )

    @property
    def needs_dates(self) -> bool:
        """True when applying this selection needs created dates (``created`` lookup)."""
        return self.older_than is not None or self.by_date

    @property
    def has_tag_criteria(self) -> bool:
        """False when nothing would be selected (no tags, no whole repositories, no retention)."""
        return (
            bool(self.tags)
            or self.all_tags
            or self.keep_last is not None
            or self.older_than is not None
        )

    def match_repositories(self, names: Iterable[str]) -> list[str]:
        """Named repositories (in the order given, when they exist) then regex matches, sorted."""
        known = set(names)
        out = [r for r in self.repositories if r in known]
        seen = set(out)
        for name in sorted(known - seen):
            if any(p.match(name) for p in self.repository_patterns):
                out.append(name)
        return out

    def missing_repositories(self, names: Iterable[str]) -> list[str]:
        """``-r`` names that are not in the registry (for a warning)."""
        known = set(names)
        return [r for r in self.repositories if r not in known]

    @property
    def retention_only(self) -> bool:
        """``--keep-last``/``--older-than`` without -t/-re: only version tags are candidates."""
        retention = self.keep_last is not None or self.older_than is not None
        return retention and not self.tags and not self.all_tags

    def _candidates(self, tags: Iterable[str]) -> list[str]:
        retention = self.keep_last is not None or self.older_than is not None
        if self.tags:
            named = {s.text for s in self.tags if s.kind == "exact"}
            return [
                t
                for t in tags
                if t in named
                or (t != LATEST and not is_plumbing_tag(t) and _matches_any(self.tags, t))
            ]
        if self.retention_only:
            # what retention ranks; other tags on a removed image are intersecting (plan.py)
            return [
                t
                for t in tags
                if parse_version(t) is not None and variant_matches(self.variants, t)
            ]
        if self.all_tags:  # the whole repository goes: its plumbing tags too
            return [t for t in tags if (t != LATEST and not is_plumbing_tag(t)) or not retention]
        return []

    def images_without_versions(self, inventory: Inventory) -> int:
        """Images (digests) of the matched repositories that carry no version tag and no
        ``latest`` (signature tags aside): a retention-only selection leaves them alone."""
        count = 0
        for repo in self.match_repositories(inventory.repository_names()):
            tags_of: dict[str, list[str]] = {}
            for tag, info in inventory.repositories.get(repo, {}).items():
                tags_of.setdefault(info.digest, []).append(tag)
            count += sum(
                1
                for names in tags_of.values()
                if LATEST not in names
                and all(parse_version(t) is None and not t.startswith("sha256-") for t in names)
            )
        return count

    def select(
        self,
        inventory: Inventory,
        *,
        created: CreatedLookup | None = None,
        now: datetime | None = None,
    ) -> dict[str, list[str]]:
        """Apply the selection: repository -> selected tags (version order); empty repos omitted.

        ``created`` is required when :attr:`needs_dates` (see :mod:`dregtui.ops.dates`).
        """
        if self.needs_dates and created is None:
            raise ValueError("this selection needs a created-date lookup")
        now = now or datetime.now(UTC)
        result: dict[str, list[str]] = {}
        for repo in self.match_repositories(inventory.repository_names()):
            tags = inventory.repositories.get(repo, {})
            chosen = self._candidates(tags)
            if self.keep_last is not None or self.older_than is not None:
                dates: Mapping[str, datetime | None] = {}
                if self.needs_dates and chosen:
                    assert created is not None
                    pairs = sorted({(repo, tags[t].digest) for t in chosen})
                    dates = created(pairs)
                chosen = self._retain(
                    chosen,
                    {t: tags[t].digest for t in chosen},
                    {t: dates.get(tags[t].digest) for t in chosen},
                    now,
                )
            if self.excludes and chosen:
                protected = {
                    info.digest for tag, info in tags.items() if _matches_any(self.excludes, tag)
                }
                chosen = [t for t in chosen if tags[t].digest not in protected]
            if chosen:
                result[repo] = sorted(chosen, key=sort_key)
        return result

    def _retain(
        self,
        tags: list[str],
        digests: Mapping[str, str],
        dates: Mapping[str, datetime | None],
        now: datetime,
    ) -> list[str]:
        chosen = list(tags)
        if self.keep_last is not None:
            keep = self._kept_digests(chosen, digests, dates, self.keep_last)
            chosen = [t for t in chosen if digests[t] not in keep]
        if self.older_than is not None:
            cutoff = now - self.older_than
            chosen = [t for t in chosen if (d := dates.get(t)) is not None and d < cutoff]
        return chosen

    def _kept_digests(
        self,
        tags: list[str],
        digests: Mapping[str, str],
        dates: Mapping[str, datetime | None],
        n: int,
    ) -> set[str]:
        """``--keep-last N`` keeps *images* (digests), as Harbor/GitLab retention does: the
        candidate digests are ranked by their highest version tag (or created date with
        ``--by-date``, ties by version) and the N first kept with every tag on them. A
        digest that cannot be ranked (no version tag; no known date) is kept too."""
        ranked, unranked = rank_images(tags, digests, dates, by_date=self.by_date)
        return set(ranked[:n]) | unranked


def rank_images(
    tags: Iterable[str],
    digests: Mapping[str, str],
    dates: Mapping[str, datetime | None],
    *,
    by_date: bool,
) -> tuple[list[str], set[str]]:
    """The one ranking of images (digests) for keep-last (``--keep-last`` and policies):
    newest first by the highest version tag on each, or by created date (ties by version)
    with ``by_date``; and the digests it cannot rank (no version tag; no known date)."""
    by_digest: dict[str, list[str]] = {}
    for tag in tags:
        by_digest.setdefault(digests[tag], []).append(tag)
    # the highest version tag of each digest ("" when it has none)
    top = {
        dig: max((t for t in ts if parse_version(t) is not None), key=sort_key, default="")
        for dig, ts in by_digest.items()
    }
    if by_date:
        dated = {dig: dates.get(ts[0]) for dig, ts in by_digest.items()}
        rankable = [dig for dig in by_digest if dated[dig] is not None]
        ranked = sorted(
            rankable, key=lambda dig: (dated[dig], sort_key(top[dig]), dig), reverse=True
        )
    else:
        rankable = [dig for dig in by_digest if top[dig]]
        ranked = sorted(rankable, key=lambda dig: sort_key(top[dig]), reverse=True)
    return ranked, set(by_digest) - set(rankable)


def select_tags(
    inventory: Inventory,
    selection: Selection,
    *,
    created: CreatedLookup | None = None,
    now: datetime | None = None,
) -> dict[str, list[TagRef]]:
    """The selected tags per repository as TagRefs (same rules as :meth:`Selection.select`)."""
    chosen = selection.select(inventory, created=created, now=now)
    return {repo: [TagRef(repo, t) for t in tags] for repo, tags in chosen.items()}
