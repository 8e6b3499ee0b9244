"""Issue 21 part 7: a selector option given twice adds up (``-x a -x c`` is ``-x a c``).

argparse keeps only the last of a repeated ``nargs`` option unless told to extend: then
``remove-tags -r app -re '.*' -x a -x c --yes`` deleted ``app:a``, which the user had excluded.
Each option is checked through ``main(argv)`` against the real registry, by what it selects.
"""

from __future__ import annotations

import json

import pytest

from dregtui.registry.client import RegistryClient


@pytest.fixture
def estate(registry, pusher) -> str:
    """app: a, b, c, 1.0, 1.1, 2.0; other: a, b; web: a (every tag its own image)."""
    for tag in ("a", "b", "c", "1.0", "1.1", "2.0"):
        pusher.image("app", tag, layers=0)
    for tag in ("a", "b"):
        pusher.image("other", tag, layers=0)
    pusher.image("web", "a", layers=0)
    return str(registry.url)


def selected(run_cli, url: str, *argv: str) -> set[tuple[str, str]]:
    """(repository, tag) of every digest the plan of ``argv`` deletes."""
    r = run_cli("-reg", url, "-c", "None", "--json", *argv)
    assert r.code == 0, r
    doc = json.loads(r.out)
    plan = doc.get("plan", doc)
    return {
        (item["repository"], tag)
        for item in plan["items"]
        if item["action"] == "delete"
        for tag in item["tags_removed"]
    }


def test_repeated_exclude_protects_every_tag_it_names(estate, run_cli) -> None:
    """The report's case: both excluded tags stay, not only the last one."""
    r = run_cli("-reg", estate, "-c", "None", "remove-tags", "-r", "app", "-re", ".*",
                "-x", "a", "-x", "c", "--yes")  # fmt: skip
    assert r.code == 0, r
    with RegistryClient(estate) as client:
        assert sorted(client.list_tags("app")) == ["a", "c"]


def test_repeated_tags_add_up_and_the_classic_form_still_works(estate, run_cli) -> None:
    assert selected(run_cli, estate, "query-tags", "-r", "app", "-t", "a", "-t", "b") == {
        ("app", "a"),
        ("app", "b"),
    }
    # several values after one -t (the classic dregutil form), then another -t
    got = selected(run_cli, estate, "query-tags", "-r", "app", "-t", "<1.1", "c", "-t", "2.0")
    assert got == {("app", "1.0"), ("app", "c"), ("app", "2.0")}


def test_repeated_regex_add_up(estate, run_cli) -> None:
    got = selected(run_cli, estate, "query-tags", "-r", "app", "-re", "^a$", "-re", "^1\\.")
    assert got == {("app", "a"), ("app", "1.0"), ("app", "1.1")}


def test_repeated_exclude_regex_add_up(estate, run_cli) -> None:
    got = selected(run_cli, estate, "remove-tags", "--dry-run", "-r", "app", "-re", ".*",
                   "-xre", "^[ab]$", "-xre", "^1")  # fmt: skip
    assert got == {("app", "c"), ("app", "2.0")}


def test_repeated_exclude_with_a_version_selector(estate, run_cli) -> None:
    got = selected(run_cli, estate, "query-tags", "-r", "app", "-t", ">=1.0",
                   "-x", "1.0", "-x", ">=2")  # fmt: skip
    assert got == {("app", "1.1")}


def test_repeated_repositories_add_up(estate, run_cli) -> None:
    got = selected(run_cli, estate, "query-tags", "-r", "app", "-r", "other", "web", "-t", "a")
    assert got == {("app", "a"), ("other", "a"), ("web", "a")}
    got = selected(run_cli, estate, "query-repos", "-r", "other", "-r", "web")
    assert got == {("other", "a"), ("other", "b"), ("web", "a")}


def test_repeated_repository_regexes_add_up(estate, run_cli) -> None:
    got = selected(run_cli, estate, "remove-repos", "--dry-run", "-rre", "^oth", "-rre", "^web$")
    assert got == {("other", "a"), ("other", "b"), ("web", "a")}
    got = selected(run_cli, estate, "query-tags", "-rre", "^app$", "-rre", "^web", "-t", "a")
    assert got == {("app", "a"), ("web", "a")}


def test_repeated_global_repositories_add_up(estate, run_cli) -> None:
    r = run_cli("-reg", estate, "-c", "None", "--repositories", "app",
                "--repositories", "web,other", "list-repo-names")  # fmt: skip
    assert r.code == 0, r
    assert r.lines == ["app", "other", "web"]


def test_repeated_options_do_not_leak_between_runs(estate, run_cli) -> None:
    """The defaults are not lists shared by one parse and the next."""
    assert selected(run_cli, estate, "query-tags", "-r", "app", "-t", "a") == {("app", "a")}
    assert selected(run_cli, estate, "query-tags", "-r", "web", "-t", "a") == {("web", "a")}


def test_the_profile_repositories_give_way_to_the_command_line(estate, run_cli, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.p]\nregistry = "{estate}"\nrepositories = ["other"]\n')
    base = ("--config", str(config), "--profile", "p", "-c", "None")
    r = run_cli(*base, "list-repo-names")
    assert r.code == 0 and r.lines == ["other"], r
    r = run_cli(*base, "--repositories", "app", "--repositories", "web", "list-repo-names")
    assert r.code == 0 and r.lines == ["app", "web"], r
