"""Judging tags by a retention policy: what each tag of each repository gets, and why.

A rule applies to the repositories its patterns match. Of the tags it *considers* (``consider``,
``variants``; never a protected one) it keeps those matching ``keep``, the ``keep_last`` newest
images (per variant with ``keep_variants_separately``; an image it cannot rank, without a
version tag or a known date, is kept too), and those newer than ``keep_newer_than``; it selects
the rest for deletion, only those older than ``delete_older_than`` when that is set. A tag is
deleted only when some rule selects it and no rule keeps it (the first rule that decided is
named: ``kept_by`` / ``deleted_by``). A deleted tag on the same image (digest) as a kept tag
cannot be deleted without the kept one: with ``intersecting = "skip"`` it is kept too (so a
second run is a no-op), with ``"untag"`` only the tag goes. A rule that would leave a repository
with no tag is refused unless it says ``allow_empty = true``. Plumbing tags (fallback and cosign
tags) are never judged as images: whatever a rule's patterns say, a referrer follows its subject
(the plan takes it along when the subject goes).

:func:`evaluate` decides this from an inventory and (when a rule judges dates) a created-date
lookup. No I/O; no registry, no front end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dregtui.core.inventory import Inventory
from dregtui.core.policy.rules import Policy, PolicyError, Rule, duration_text
from dregtui.core.referrers import is_plumbing_tag, plumbing_subject
from dregtui.core.selection import CreatedLookup, rank_images
from dregtui.core.selectors import NO_VARIANT, variant_matches
from dregtui.core.tags import parse_tag, sort_tags


@dataclass
class Decision:
    tag: str
    digest: str
    delete: bool
    rule: str  # the rule that decided ("" for a tag no rule considers)
    why: str

    def to_json(self) -> dict[str, Any]:
        key = "deleted_by" if self.delete else "kept_by"
        return {
            "tag": self.tag,
            "digest": self.digest,
            "action": "delete" if self.delete else "keep",
            key: self.rule or None,
            "why": self.why,
        }


@dataclass
class RepositoryDecisions:
    repository: str
    decisions: list[Decision] = field(default_factory=list)

    @property
    def deleted(self) -> list[str]:
        return [d.tag for d in self.decisions if d.delete]

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "tags": [d.to_json() for d in self.decisions]}


@dataclass
class Outcome:
    policy: Policy
    repositories: list[RepositoryDecisions]
    warnings: list[str] = field(default_factory=list)
    _by_tag: dict[tuple[str, str], Decision] | None = field(default=None, repr=False)

    def selected(self) -> dict[str, list[str]]:
        """repository -> tags to delete (what :func:`dregtui.core.plan.build_plan` takes)."""
        return {r.repository: r.deleted for r in self.repositories if r.deleted}

    def decision(self, repository: str, tag: str) -> Decision | None:
        """What the policy decided for one tag (the TUI asks at every cursor move)."""
        if self._by_tag is None:
            self._by_tag = {
                (r.repository, d.tag): d for r in self.repositories for d in r.decisions
            }
        return self._by_tag.get((repository, tag))


def _rank(
    rule: Rule,
    tags: list[str],
    digests: Mapping[str, str],
    dates: Mapping[str, datetime | None],
) -> dict[str, str]:
    """Digest -> why kept, for ``keep_last``: the N newest images (and unrankable ones)."""
    assert rule.keep_last is not None
    groups: dict[str, list[str]] = {}
    for tag in tags:
        group = (parse_tag(tag).variant or "") if rule.keep_variants_separately else ""
        groups.setdefault(group, []).append(tag)
    kept: dict[str, str] = {}
    by_date = rule.rank_by == "date"
    unranked = "no known created date" if by_date else "no version tag to rank it by"
    for group, members in groups.items():
        ranked, unrankable = rank_images(members, digests, dates, by_date=by_date)
        scope = f" of variant {group}" if group else ""
        if rule.keep_variants_separately and not group:
            scope = " without a variant"
        for n, digest in enumerate(ranked[: rule.keep_last]):
            kept[digest] = f"keep_last {rule.keep_last}{scope}: newest image {n + 1}"
        for digest in unrankable:
            kept[digest] = f"keep_last {rule.keep_last}: {unranked}"
    return kept


def evaluate(
    policy: Policy,
    inventory: Inventory,
    *,
    created: CreatedLookup | None = None,
    now: datetime | None = None,
) -> Outcome:
    """What each tag of each repository a rule applies to gets. Raises :class:`PolicyError`
    when a rule would leave a repository without tags and does not allow it."""
    if policy.needs_dates and created is None:
        raise ValueError("this policy judges dates: pass a created-date lookup")
    now = now or datetime.now(UTC)
    outcome = Outcome(policy, [])
    variants_seen: dict[tuple[int, str], bool] = {}
    applied: set[int] = set()  # rules that apply to some repository with tags
    for repo in inventory.repository_names():
        numbered = [(n, r) for n, r in enumerate(policy.rules) if r.applies_to(repo)]
        rules = [r for _, r in numbered]
        if not rules:
            continue
        tags = inventory.repositories.get(repo, {})
        if not tags:
            continue
        applied.update(n for n, _ in numbered)
        digests = {t: info.digest for t, info in tags.items()}
        dates: Mapping[str, datetime | None] = {}
        if any(r.needs_dates for r in rules):
            assert created is not None
            found = created(sorted({(repo, d) for d in digests.values()}))
            dates = {t: found.get(d) for t, d in digests.items()}
        kept: dict[str, tuple[str, str]] = {}  # tag -> (rule, why)
        chosen: dict[str, tuple[str, str]] = {}
        for number, rule in numbered:
            for v in rule.variants:
                key = (number, v)
                variants_seen[key] = variants_seen.get(key, False) or any(
                    variant_matches((v,), t) for t in tags
                )
            considered = [
                t
                for t in tags
                if rule.considers(t) and not policy.protected(t) and not is_plumbing_tag(t)
            ]
            own_keep: dict[str, str] = {}
            for tag in considered:
                pattern = next((p for p in rule.keep if p.search(tag)), None)
                if pattern is not None:
                    own_keep[tag] = f"matches keep {pattern.pattern!r}"
            if rule.keep_last is not None:
                by_digest = _rank(rule, considered, digests, dates)
                for tag in considered:
                    if tag not in own_keep and digests[tag] in by_digest:
                        own_keep[tag] = by_digest[digests[tag]]
            if rule.keep_newer_than is not None:
                cutoff = now - rule.keep_newer_than
                for tag in considered:
                    d = dates.get(tag)
                    if tag not in own_keep and (d is None or d >= cutoff):
                        why = "created date unknown" if d is None else "newer than"
                        own_keep[tag] = (
                            f"keep_newer_than {duration_text(rule.keep_newer_than)}: {why}"
                        )
            for tag, why in own_keep.items():
                kept.setdefault(tag, (rule.name, why))
            if rule.keep_last is not None:
                past = f"not among the last {rule.keep_last} images by {rule.rank_by}"
            else:
                past = "selected by the rule"
            for tag in considered:
                if tag in own_keep:
                    continue
                if rule.delete_older_than is not None:
                    d = dates.get(tag)
                    age = duration_text(rule.delete_older_than)
                    if d is None or d >= now - rule.delete_older_than:
                        # not old enough (or unknown): this rule keeps it
                        why = "created date unknown" if d is None else f"not older than {age}"
                        kept.setdefault(tag, (rule.name, why))
                        continue
                    why = f"older than {age}"
                    if rule.keep_last is not None:
                        why = f"{past}, {why}"
                else:
                    why = past
                chosen.setdefault(tag, (rule.name, why))
        result = RepositoryDecisions(repo)
        deleted = {t for t in chosen if t not in kept}
        if policy.intersecting == "skip":
            # a digest that keeps a tag keeps all of them: deleting it would take the kept one
            held = {digests[t] for t in tags if t not in deleted}
            for tag in sorted(deleted):
                if digests[tag] in held:
                    deleted.discard(tag)
                    kept[tag] = ("", "its image also carries a kept tag (intersecting = skip)")
        for tag in sort_tags(tags):
            if tag in deleted:
                rule_name, why = chosen[tag]
                result.decisions.append(Decision(tag, digests[tag], True, rule_name, why))
            elif is_plumbing_tag(tag):
                subject = plumbing_subject(tag)
                why = f"a referrer's tag: follows {subject} (kept with it, deleted with it)"
                result.decisions.append(Decision(tag, digests[tag], False, "", why))
            elif policy.protected(tag):
                result.decisions.append(Decision(tag, digests[tag], False, "", "protected"))
            elif tag in kept:
                rule_name, why = kept[tag]
                result.decisions.append(Decision(tag, digests[tag], False, rule_name, why))
            else:
                result.decisions.append(
                    Decision(tag, digests[tag], False, "", "no rule selects it")
                )
        if deleted and len(deleted) == sum(not is_plumbing_tag(t) for t in tags):
            deciding = {chosen[t][0] for t in deleted}
            if not all(r.allow_empty for r in rules if r.name in deciding):
                names = ", ".join(sorted(deciding))
                raise PolicyError(
                    f"{policy.path}: the policy would delete every tag of {repo} (rule "
                    f"{names}); refusing: add allow_empty = true to the rule if that is meant."
                )
        outcome.repositories.append(result)
    for index, rule in enumerate(policy.rules):
        if index not in applied:  # a typo in repositories makes a rule that does nothing
            globs = ", ".join(repr(g) for g in rule.globs)
            outcome.warnings.append(
                f"rule {rule.name}: no repository with tags matches its repositories "
                f"({globs}); it does nothing."
            )
    for (index, variant), seen in sorted(variants_seen.items()):
        if not seen:
            rule = policy.rules[index]
            what = "tags without a variant" if variant == NO_VARIANT else f"variant {variant!r}"
            outcome.warnings.append(
                f"rule {rule.name}: no tag of the repositories it applies to has {what}."
            )
    return outcome
