"""Randomized: many selections on a populated registry. After each run, every tag outside the
plan still resolves to its original digest and every planned tag is gone."""

from __future__ import annotations

import random

from dregtui.core.plan import build_plan
from dregtui.core.plan_model import PlanMode
from dregtui.core.selection import Selection
from dregtui.ops.execute import execute_plan
from dregtui.ops.execution_result import Status
from dregtui.ops.scanner import Scanner

REPOS = ("team/a", "team/b", "lib")
VERSIONS = ("1.0", "1.1", "1.2", "v1.3", "2.0", "2.1")


def populate(pusher) -> None:
    """Same seeds every time: re-pushing restores the same digests."""
    for repo in REPOS:
        for i, version in enumerate(VERSIONS):
            pushed = pusher.image(repo, version, seed=f"{repo}/{version}")
            if i % 3 == 0:
                pusher.tag(repo, version + "-alias", pushed)
        pusher.tag(repo, "latest", pushed)
    shared = pusher.image("team/a", "shared", seed="shared")
    pusher.tag("lib", "shared", shared)
    index, children = pusher.index("team/b", "multi", seed="multi")
    pusher.tag("team/b", "multi-amd64", children[0])


def snapshot(client) -> dict[tuple[str, str], str]:
    inv = Scanner(client, jobs=4).scan()
    return {(repo, tag): info.digest for repo, tag, info in inv.iter_tags()}


def random_selection(rng: random.Random, tags: list[str]) -> dict:
    kw: dict = {"repositories": rng.sample(REPOS, rng.randint(1, 2))}
    kind = rng.choice(["exact", "version", "regex", "keep"])
    if kind == "exact":
        kw["tags"] = rng.sample(tags, rng.randint(1, 3))
    elif kind == "version":
        kw["tags"] = [rng.choice([">=1.1,<2", "<1.2", ">2", "!=1.0", "==v1.3"])]
    elif kind == "regex":
        kw["regex"] = [rng.choice([r"1\.", ".*alias", "2", "mult", ".*"])]
    else:
        kw["keep_last"] = rng.randint(0, 4)
    if rng.random() < 0.4:
        kw["exclude"] = [rng.choice(tags)]
    if rng.random() < 0.2:
        kw["exclude_regex"] = [rng.choice(["v", "2", "shared"])]
    return kw


def test_random_selections_keep_everything_outside_the_plan(client, pusher):
    rng = random.Random(20261127)
    modes = [PlanMode(), PlanMode(match_all_tags=False), PlanMode(untag=True)]
    for _ in range(15):
        populate(pusher)
        before = snapshot(client)
        inv = Scanner(client, jobs=4).scan()
        kw = random_selection(rng, sorted({t for _, t in before}))
        mode = rng.choice(modes)
        plan = build_plan(inv, Selection.from_args(**kw).select(inv), mode)
        result = execute_plan(client, plan, inv, jobs=3)
        assert not result.failed and not result.not_run, (kw, result.to_json())
        assert {r.status for r in result.results} <= {
            Status.DELETED,
            Status.UNTAGGED,
            Status.SKIPPED,
        }
        planned = {(i.repository, t) for i in plan.actionable for t in i.tags_removed}
        after = snapshot(client)
        for key, digest in before.items():
            if key in planned:
                assert key not in after, (kw, mode, key)
            else:
                assert after.get(key) == digest, (kw, mode, key)
        assert set(after) == set(before) - planned
        # the engine's inventory matches the registry afterwards
        assert {(r, t): i.digest for r, t, i in inv.iter_tags()} == after
