"""Retention policies (issue 10 part 2): ``prune --policy`` against the real registry, and the
policy file's bad input (each one sentence, exit 1, before any request)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient

POLICY = """
# What a GitLab cleanup policy or a Harbor retention rule says, for a whole registry.
[defaults]
protect = ["^release-"]          # latest and stable are always protected

[[rule]]
name = "releases"
repositories = ["library/**", "multi"]
keep_last = 2                    # images, newest version first
keep_variants_separately = true  # the last 2 plain ones and the last 2 -alpine ones
keep = ["^mainline$"]

[[rule]]
name = "ci"
repositories = ["ci/*"]
consider = ["^pr-"]              # main-* builds are not this rule's business
delete_older_than = "30d"
"""


def holdings(client: RegistryClient) -> dict[str, list[str]]:
    return {r: sorted(client.list_tags(r)) for r in client.list_repositories()}


@pytest.fixture
def estate(pusher: ImagePusher) -> dict[str, str]:
    p = pusher
    for v in ("1.24.0", "1.25.0", "1.25.2", "1.25.3"):
        p.image("library/nginx", v, seed=v)
    for v in ("1.24.0", "1.25.2", "1.25.3"):
        p.image("library/nginx", f"{v}-alpine", seed=f"{v}-alpine")
    p.image("library/nginx", "1.26.0-rc.1", seed="rc")  # a pre-release is a version too
    latest = p.tag("library/nginx", "latest", p.image("library/nginx", "1.25.4", seed="1.25.4"))
    shared = p.image("library/nginx", "1.25.1", seed="1.25.1")
    p.tag("library/nginx", "mainline", shared)  # a plain name on a version's image
    p.tag("mirror/nginx", "1.25.0", p.image("library/nginx", "1.25.0", seed="1.25.0"))
    p.image("library/nginx", "release-1.0", seed="protected")
    old_index, _ = p.index("multi", "1.0", seed="m1")
    p.index("multi", "2.0", seed="m2")
    p.index("multi", "3.0", seed="m3")
    p.image("ci/app", "pr-1", seed="pr1", created="2020-01-01T00:00:00Z")
    p.image("ci/app", "pr-2", seed="pr2", created="2099-01-01T00:00:00Z")
    p.image("ci/app", "main-3f2a9c1", seed="main", created="2020-01-01T00:00:00Z")
    return {"latest": latest.digest, "old_index": old_index.digest}


def test_prune_keeps_exactly_what_the_policy_keeps_and_a_second_run_is_a_no_op(
    registry, client, estate, run_cli, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    base = ("-reg", registry.url, "-c", "None")
    dry = run_cli(*base, "--json", "prune", "--policy", str(policy), "--dry-run")
    assert dry.code == 0, dry
    doc = json.loads(dry.out)
    nginx = {
        t["tag"]: t
        for r in doc["repositories"]
        if r["repository"] == "library/nginx"
        for t in r["tags"]
    }
    assert nginx["1.24.0"]["action"] == "delete" and nginx["1.24.0"]["deleted_by"] == "releases"
    assert nginx["1.26.0-rc.1"]["kept_by"] == "releases"  # the newest version: kept
    assert nginx["latest"]["why"] == "protected" and nginx["release-1.0"]["why"] == "protected"
    assert "intersecting" in nginx["1.25.1"]["why"]  # its image carries the kept `mainline`
    ci = {
        t["tag"]: t for r in doc["repositories"] if r["repository"] == "ci/app" for t in r["tags"]
    }
    assert ci["pr-1"]["deleted_by"] == "ci" and ci["pr-1"]["why"] == "older than 30d"
    assert ci["main-3f2a9c1"]["why"] == "no rule selects it"
    before = holdings(client)
    assert holdings(client) == before  # the dry run changed nothing

    done = run_cli(*base, "prune", "--policy", str(policy), "--yes")
    assert done.code == 0, done
    assert holdings(client) == {
        "ci/app": ["main-3f2a9c1", "pr-2"],
        "library/nginx": sorted(
            [
                "1.25.1",
                "1.25.3-alpine",
                "1.25.2-alpine",
                "1.25.4",
                "1.26.0-rc.1",
                "latest",
                "mainline",
                "release-1.0",
            ]
        ),
        "mirror/nginx": ["1.25.0"],  # no rule applies to it (and deletes are per repository)
        "multi": ["2.0", "3.0"],
    }
    # the index went with the platform manifests nothing else references
    assert client.head_manifest("multi", estate["old_index"]) is None
    again = run_cli(*base, "prune", "--policy", str(policy), "--yes")
    assert again.code == 0, again
    assert "Nothing to remove." in again.err
    # and everything the policy deleted can be put back
    restored = run_cli(*base, "restore", "--last")
    assert restored.code == 0, restored
    assert holdings(client) == before


BAD = [
    ("[[rule]\n", "not valid TOML"),
    ('[[rule]]\nrepositories = ["**"]\nkeep_lats = 3\n', "line 3: rule[1].keep_lats: unknown key"),
    (
        '[[rule]]\nrepositories = ["**"]\nkeep = ["("]\n',
        "line 3: rule[1].keep: '(' is not a valid regex",
    ),
    (
        '[[rule]]\nrepositories = ["**"]\nkeep_last = -1\n',
        "line 3: rule[1].keep_last: -1 must be 0",
    ),
    (
        '[[rule]]\nrepositories = ["**"]\nkeep_newer_than = "30 days"\n',
        "line 3: rule[1].keep_newer_than: '30 days' is not a duration",
    ),
    ("[[rule]]\nkeep_last = 1\n", "line 1: rule[1]: needs repositories"),
    (
        '[defaults]\nintersecting = "maybe"\n[[rule]]\nrepositories = ["**"]\n',
        "line 2: defaults.intersecting",
    ),
    ("", "no rules"),
]


@pytest.mark.parametrize(("text", "why"), BAD)
def test_a_bad_policy_is_one_sentence_before_any_request(
    fake_registry, run_cli, tmp_path: Path, text: str, why: str
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    for argv in (("policy", "check", str(policy)), ("prune", "--policy", str(policy))):
        r = run_cli("-reg", fake_registry.url, "-c", "None", *argv)
        assert r.code == 1, r
        (line,) = r.err.splitlines()
        assert line.startswith(f"dregtui: error: {policy}") and why in line, line
    assert fake_registry.requests == []


def test_a_policy_that_would_empty_a_repository_is_refused(
    registry, pusher, run_cli, tmp_path: Path
) -> None:
    pusher.image("ci/app", "pr-1", seed="a")
    pusher.image("ci/app", "pr-2", seed="b")
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "all prs"\nrepositories = ["ci/*"]\nconsider = ["^pr-"]\n')
    r = run_cli("-reg", registry.url, "-c", "None", "prune", "--policy", str(policy), "--yes")
    assert r.code == 1 and "would delete every tag of ci/app" in r.err, r
    assert "allow_empty = true" in r.err
    policy.write_text(policy.read_text() + "allow_empty = true\n")
    r = run_cli("-reg", registry.url, "-c", "None", "prune", "--policy", str(policy), "--yes")
    assert r.code == 0, r


def test_policy_check_lists_the_rules(run_cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    r = run_cli("policy", "check", str(policy))
    assert r.code == 0, r
    assert r.lines[0].startswith(f"{policy}: 2 rules (1 judging created dates)")
    assert r.lines[1] == "  releases: keeps ^mainline$; keeps the last 2 by version per variant"


def test_the_readme_policy_example_is_valid(run_cli, tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"```toml\n(# policy.toml\n.*?)```", readme, re.S)
    assert block is not None
    policy = tmp_path / "policy.toml"
    policy.write_text(block.group(1))
    r = run_cli("policy", "check", str(policy))
    assert r.code == 0 and r.lines[0].endswith("protected: latest, stable, ^release-."), r


def test_a_variant_no_tag_has_is_a_warning(registry, pusher, run_cli, tmp_path: Path) -> None:
    pusher.image("library/nginx", "1.25.3", seed="n1", layers=0)
    pusher.image("library/nginx", "1.25.2", seed="n2", layers=0)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[rule]]\nname = "alpine"\nrepositories = ["library/*"]\nvariants = ["alpnie"]\n'
        "keep_last = 1\n"
    )
    r = run_cli("-reg", registry.url, "-c", "None", "prune", "--policy", str(policy), "--dry-run")
    assert r.code == 0, r
    assert "dregtui: warning: rule alpine: no tag of the repositories it applies to has " in r.err
    assert "variant 'alpnie'" in r.err


def test_policy_check_says_durations_as_written(run_cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[rule]]\nname = "ci"\nrepositories = ["ci/*"]\nkeep_newer_than = "12h"\n'
        'delete_older_than = "2w"\n'
    )
    r = run_cli("policy", "check", str(policy))
    assert r.code == 0, r
    assert r.lines[1] == "  ci: keeps newer than 12h; deletes only older than 14d"


def test_a_rule_whose_repositories_match_nothing_is_a_warning_naming_it(
    registry, pusher, run_cli, tmp_path: Path
) -> None:
    """A typo in repositories makes a rule that does nothing: a CI job that deleted nothing
    shows why, on stderr and in the JSON."""
    pusher.image("ci/app", "1.0", seed="a", layers=0)
    pusher.image("ci/app", "2.0", seed="b", layers=0)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[rule]]\nname = "typo"\nrepositories = ["ic/*", "ci/ap"]\nkeep_last = 1\n'
        '[[rule]]\nname = "all"\nrepositories = ["ci/*"]\nkeep_last = 1000001\n'
    )
    warning = (
        "dregtui: warning: rule typo: no repository with tags matches its repositories "
        "('ic/*', 'ci/ap'); it does nothing."
    )
    base = ("-reg", registry.url, "-c", "None")
    r = run_cli(*base, "prune", "--policy", str(policy), "--yes")
    assert r.code == 0, r
    assert r.err.splitlines()[0] == warning and "Nothing to remove." in r.err, r
    assert sum("warning" in line for line in r.err.splitlines()) == 1, r
    for extra in ((), ("--dry-run",)):
        r = run_cli(*base, "--json", "prune", "--policy", str(policy), "--yes", *extra)
        assert r.code == 0, r
        assert json.loads(r.out)["warnings"] == [warning.removeprefix("dregtui: warning: ")]
        assert r.err.splitlines()[0] == warning, r
    with RegistryClient(registry.url) as client:
        assert holdings(client) == {"ci/app": ["1.0", "2.0"]}


def test_keep_last_takes_any_count(run_cli, tmp_path: Path) -> None:
    """More than there are images keeps them all: no bound, and a negative count says so."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "all"\nrepositories = ["**"]\nkeep_last = 1000001\n')
    r = run_cli("policy", "check", str(policy))
    assert r.code == 0 and r.lines[1] == "  all: keeps the last 1000001 by version", r
    policy.write_text('[[rule]]\nname = "all"\nrepositories = ["**"]\nkeep_last = -3\n')
    r = run_cli("policy", "check", str(policy))
    assert r.code == 1 and r.err.endswith("rule[1].keep_last: -3 must be 0 or more\n"), r
