"""Acceptance review regressions: the CLI end to end against the real registry.

Each test pins a defect found while using ``dregtui`` as an ops engineer / a CI job would.
"""

from __future__ import annotations

import time

import pytest

from dregtui.state.cache import InventoryCache


def cached_tags(url: str) -> dict[str, list[str]]:
    cached = InventoryCache.for_registry(url).read()
    assert cached is not None
    return {repo: sorted(tags) for repo, tags in cached.inventory.repositories.items()}


def test_registry_dying_mid_delete_stops_at_once_and_rerun_completes(
    registry, pusher, run_cli, monkeypatch
):
    """Every further item would fail too: stop after the items in flight (not one retry
    storm per item), one error line, the cache holds exactly what is still there."""
    import dregtui.cli.commands.remove as remove

    for i in range(12):
        pusher.image("app", f"1.{i}", seed=f"die/{i}")
    assert run_cli("-reg", registry.url, "list-repo-names").code == 0  # cache written
    real = remove.execute_plan

    def registry_dies_after_three(*args, **kwargs):
        inner = kwargs["on_step"]

        def on_step(step):
            inner(step)
            if step.phase == "deleting" and step.done == 3:
                registry.stop()

        kwargs["on_step"] = on_step
        return real(*args, **kwargs)

    monkeypatch.setattr(remove, "execute_plan", registry_dies_after_three)
    started = time.monotonic()
    r = run_cli("-reg", registry.url, "-j", "1", "remove-tags", "-r", "app", "-re", ".*")
    elapsed = time.monotonic() - started
    assert r.code == 1, r
    assert elapsed < 20, elapsed
    deleted = [line for line in r.lines if line.startswith("deleted ")]
    assert len(deleted) == 3
    errors = [line for line in r.err.splitlines() if line.startswith("dregtui: error:")]
    assert len(errors) == 1 and "Cannot reach the registry" in errors[0], r.err
    assert r.err.count("failed  ") == 1 and "not attempted: 8 items" in r.err
    assert len(cached_tags(registry.url)["app"]) == 9

    registry.start()
    monkeypatch.setattr(remove, "execute_plan", real)
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-re", ".*")
    assert r.code == 0, r
    assert len([line for line in r.lines if line.startswith("deleted ")]) == 9
    assert cached_tags(registry.url)["app"] == []
    r = run_cli("-reg", registry.url, "--refresh", "list-tag-names")
    assert r.code == 0 and r.out == "", r


def test_already_gone_counts_as_done_and_leaves_the_cache(registry, client, pusher, run_cli):
    """Deleted behind the cache's back (an earlier run, a colleague): exit 0, not 3, and the
    cache forgets it so the next run does not stumble over it again."""
    gone = pusher.image("app", "1.0", seed="gone/1")
    pusher.image("app", "2.0", seed="gone/2")
    assert run_cli("-reg", registry.url, "list-repo-names").code == 0  # cache written
    client.delete_manifest("app", gone.digest)

    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 0, r
    assert "already gone" in r.err
    assert cached_tags(registry.url)["app"] == ["2.0"]
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 0 and "Nothing to remove." in r.err, r


def test_plan_and_journal_texts_use_singular_and_plural(registry, pusher, run_cli):
    pusher.image("app", "1.0", seed="plural/1")
    pusher.image("app", "2.0", seed="plural/2")
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "--dry-run")
    assert r.code == 0, r
    assert r.lines[-1] == (
        "1 manifest to delete, 0 to untag, 0 skipped for safety; 1 tag removed in 1 repository."
    )
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 0, r
    listing = run_cli("restore")
    assert listing.out.rstrip().endswith("app: 1 manifest, 1 tag"), listing


def test_restore_prints_one_line_per_manifest_like_remove(registry, pusher, run_cli):
    image = pusher.image("team/app", "1.0", seed="restore/1")
    pusher.tag("team/app", "stable", image)
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "team/app", "-t", "1.0", "stable")
    assert r.lines == [f"deleted   team/app@{image.digest}  tags: 1.0, stable"], r
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0, r
    assert r.lines == [f"restored  team/app@{image.digest}  tags: 1.0, stable"]


def test_global_option_after_the_command_is_explained(run_cli):
    r = run_cli("-reg", "http://127.0.0.1:9", "restore", "--last", "-c", "None")
    assert r.code == 1
    assert r.err == (
        "dregtui: error: -c is a global option: put it before the command "
        "(dregtui -c ... COMMAND ...)\n"
    )
    r = run_cli("-reg", "http://127.0.0.1:9", "list-tag-names", "--bogus")
    assert r.err == "dregtui: error: unrecognized arguments: --bogus (see dregtui --help)\n"
    r = run_cli("--help")
    assert r.code == 0 and "3 some items were skipped for safety" in " ".join(r.out.split())


def test_deletion_disabled_reason_is_said_once(nodelete_registry, run_cli):
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    with RegistryClient(nodelete_registry.url) as c:
        p = ImagePusher(c)
        for i in range(3):
            p.image("app", f"1.{i}", seed=f"nodelete/{i}")
    r = run_cli("-reg", nodelete_registry.url, "remove-tags", "-r", "app", "-re", ".*")
    assert r.code == 1, r
    assert r.err.count("storage.delete.enabled") == 1, r.err
    assert r.err.count("REGISTRY_STORAGE_DELETE_ENABLED") == 1
    last = r.err.splitlines()[-1]
    assert last.startswith("dregtui: error: ") and "storage.delete.enabled: true" in last
    assert "Undo with" not in r.err  # nothing was deleted: no restore / GC advice


def test_hostile_names_keep_the_columns_aligned(fake_registry, run_cli):
    from support.fake_server import json_reply, manifest_reply, serve_manifest

    evil = "ev\x1b[31mil"
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": [evil, "okay"]}))
    reply = manifest_reply("application/vnd.oci.image.index.v1+json")
    for repo in ("ev%1B%5B31mil", "okay"):
        fake_registry.route("GET", f"/v2/{repo}/tags/list", json_reply({"tags": ["1.0"]}))
        serve_manifest(fake_registry, f"/v2/{repo}/manifests/1.0", reply)
    r = run_cli("-reg", fake_registry.url, "-c", "None", "list-tag-names")
    assert r.code == 0, r
    assert r.lines == ["ev\ufffdil  1.0", "okay   1.0"]  # the escape shown as one mark


def test_warnings_look_like_other_diagnostics(htpasswd_registry, run_cli, tmp_path, monkeypatch):
    """A broken docker config is a one-line ``dregtui: warning:``, not a log record; with
    ``-l info`` the classic timestamped log format is kept."""
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text("{not json")
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    url = htpasswd_registry.url
    r = run_cli("-reg", url, "-c", "None", "-u", "alice", "-p", "wonderland", "list-repo-names")
    assert r.code == 0 and r.err == "", r  # explicit credentials: the file is not read
    r = run_cli("-reg", url, "-c", "None", "list-repo-names")
    assert r.code == 1
    first, second = r.err.splitlines()
    assert first.startswith("dregtui: warning: the docker config ") and "not valid JSON" in first
    assert second.startswith("dregtui: error: ")
    r = run_cli("-reg", url, "-c", "None", "-l", "info", "list-repo-names")
    assert "[WARNING] dregtui.registry - the docker config" in r.err


def test_anonymous_catalog_refusal_suggests_logging_in(token_registry, run_cli):
    from support.fixtures import PASSWORD, USER

    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        ImagePusher(c).image("team/a", "1.0", seed="anon")
    r = run_cli("-reg", token_registry.url, "-c", "None", "list-repo-names")
    assert r.code == 1 and r.err.count("\n") == 1, r
    assert "--repositories" in r.err and "-u/-p" in r.err
    r = run_cli("-reg", token_registry.url, "-u", "reader", "-p", "readonly", "list-repo-names")
    assert r.code == 1 and "--repositories" in r.err and "-u/-p" not in r.err, r


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:abc", "http://127.0.0.1:abc is not a registry URL"),
        ("http://127.0.0.1:99999", "http://127.0.0.1:99999 is not a registry URL"),
        ("http://[::1", "The registry URL is malformed"),
        ("https://me:secret@[::1", "The registry URL is malformed"),
    ],
)
def test_malformed_registry_urls_are_one_sentence(url, expected, run_cli):
    r = run_cli("-reg", url, "list-repo-names")
    assert r.code == 1
    assert r.err == f"dregtui: error: {expected}; give https://host[:port] or host[:port].\n"


def test_jobs_are_capped_before_any_thread_starts(run_cli):
    r = run_cli("-reg", "http://127.0.0.1:9", "-j", "100000", "list-repo-names")
    assert r.code == 1
    assert r.err.startswith("dregtui: error: argument -j/--jobs: at most 256")


def test_restore_names_an_ambiguous_prefix_and_the_registry(run_cli):
    from dregtui.state.journal import Journal, JournalRecord

    journal = Journal()
    for batch in ("ab12", "ab34"):
        journal.append(
            JournalRecord(
                batch=batch,
                registry="http://127.0.0.1:9",
                repository="app",
                digest="sha256:" + "0" * 64,
                media_type="application/vnd.oci.image.manifest.v1+json",
                manifest=b"{}",
                tags=("1.0",),
            )
        )
    r = run_cli("restore", "ab")
    assert r.code == 1
    assert r.err.startswith("dregtui: error: 'ab' matches 2 deletion batches (")
    assert r.err.endswith("give more of the batch ID.\n")
    r = run_cli("-reg", "http://127.0.0.1:1", "restore", "--last")
    assert r.code == 1 and "no deletion recorded for http://127.0.0.1:1 in " in r.err


def test_digest_auth_option_still_follows_a_basic_or_token_challenge(
    htpasswd_registry, token_registry, run_cli
):
    """REGISTRY_USE_DIGEST_AUTH set globally (classic scripts) must not break registries that
    ask for Basic or a Bearer token: the challenge decides."""
    for reg in (htpasswd_registry, token_registry):
        env = {"REGISTRY_USE_DIGEST_AUTH": "true", "REGISTRY_USER": reg.username}
        env["REGISTRY_PASSWORD"] = reg.password
        r = run_cli(
            "-reg", reg.url, "-c", "None", "--repositories", "app", "list-repo-names", env=env
        )
        assert r.code == 0, r
        r = run_cli("-reg", reg.url, "-c", "None", "--digest-auth", "-p", "bad", "--repositories",
                    "app", "list-repo-names", env=env)  # fmt: skip
        assert r.code == 1 and "rejected the credentials" in r.err, r


def test_repository_regex_matching_nothing_is_warned_like_an_unknown_name(
    registry, pusher, run_cli
):
    pusher.image("team/app", "1.0", seed="rre/1")
    r = run_cli("-reg", registry.url, "remove-repos", "-rre", "tema/", "-r", "nope")
    assert r.code == 0, r
    assert r.err.splitlines() == [
        "dregtui: warning: the registry has no repository 'nope'.",
        "dregtui: warning: no repository matches -rre 'tema/'.",
        "Nothing to remove.",
    ]
    r = run_cli("-reg", registry.url, "query-repos", "-rre", "team/")
    assert r.code == 0 and without_cache_line(r.err) == "" and len(r.lines) == 1, r


def test_repository_pushed_after_the_cache_is_found_without_refresh(registry, pusher, run_cli):
    pusher.image("team/old", "1.0", seed="stale/old")
    assert run_cli("-reg", registry.url, "list-repo-names").lines == ["team/old"]
    new = pusher.image("team/new", "1.0", seed="stale/new")
    r = run_cli("-reg", registry.url, "list-tag-names", "team/new")
    assert r.code == 0 and r.lines == ["team/new  1.0"], r
    assert cached_tags(registry.url)["team/new"] == ["1.0"]  # the cache learnt it
    r = run_cli("-reg", registry.url, "list-tag-names", "team/nope")
    assert r.code == 1 and "no repository 'team/nope'" in r.err
    assert "team/nope" not in cached_tags(registry.url)

    newer = pusher.image("team/newer", "2.0", seed="stale/newer")
    r = run_cli("-reg", registry.url, "query-tags", "-r", "team/newer", "team/nope", "-t", "2.0")
    assert r.code == 0 and r.lines == [f"team/newer  {newer.digest}"], r
    assert (
        without_cache_line(r.err)
        == "dregtui: warning: the registry has no repository 'team/nope'.\n"
    )
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "team/new", "-t", "1.0")
    assert r.code == 0 and r.lines == [f"deleted   team/new@{new.digest}  tags: 1.0"], r


def without_cache_line(err: str) -> str:
    return "".join(line for line in err.splitlines(True) if not line.startswith(CACHE_LINE))


CACHE_LINE = "dregtui: using the cache of "


def test_a_cached_answer_says_so_in_one_stderr_line_terminal_or_not(registry, pusher, run_cli):
    """A CI log shows that the plan came from the cache, from when, and how to rescan."""
    pusher.image("app", "1.0", seed="age/1")
    first = run_cli("-reg", registry.url, "list-repo-names")
    assert first.code == 0 and first.err == ""  # scanned: nothing to say
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "9.9", "--dry-run")
    (line,) = [x for x in r.err.splitlines() if x.startswith(CACHE_LINE)]
    assert line.startswith(f"{CACHE_LINE}{registry.url} from ") and " UTC (" in line
    assert line.endswith(" old); --refresh rescans")
    r = run_cli("-reg", registry.url, "--max-cache-age", "1s", "list-repo-names")
    assert r.code == 0  # an older cache than allowed is rescanned, and says so


def test_index_plan_does_not_call_a_tagged_child_untagged(registry, pusher, run_cli):
    index, children = pusher.index("multi", "1.0")
    pusher.tag("multi", "amd64", children[0])
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "multi", "-t", "1.0", "--dry-run")
    assert r.code == 0, r
    assert r.lines[:3] == [
        f"delete  multi@{index.digest}  tags: 1.0",
        f"        index: of its 2 child manifests, this plan deletes {children[1].digest[:19]}; "
        f"{children[0].digest[:19]} stays in the repository",
        f"delete  multi@{children[1].digest}  untagged: untagged child of the deleted index "
        f"{index.digest[:19]}: nothing else in the repository references it",
    ]
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "multi", "-t", "amd64", "--dry-run")
    assert r.code == 3 and "the tagged index" in r.out, r


def test_json_remove_that_stops_still_says_why_on_stderr(nodelete_registry, run_cli):
    import json

    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    with RegistryClient(nodelete_registry.url) as c:
        ImagePusher(c).image("app", "1.0", seed="json/stop")
    r = run_cli("-reg", nodelete_registry.url, "--json", "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 1
    doc = json.loads(r.out)
    assert "storage.delete.enabled" in doc["result"]["stopped"]
    (line,) = r.err.splitlines()
    assert line.startswith("dregtui: error: ") and "storage.delete.enabled" in line


def test_a_tag_name_no_selected_repository_has_is_warned(registry, pusher, run_cli):
    one = pusher.image("team/app", "1.0", seed="typo/1")
    pusher.image("team/lib", "2.0", seed="typo/2")
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "team/app", "-t", "1.0.0", ">=9")
    assert r.code == 0, r
    assert r.err.splitlines() == [
        "dregtui: warning: no tag '1.0.0' in team/app.",
        "Nothing to remove.",
    ]
    r = run_cli("-reg", registry.url, "query-tags", "-rre", "team/", "-t", "1.0", "3.0")
    assert r.lines == [f"team/app  {one.digest}"]
    assert (
        without_cache_line(r.err)
        == "dregtui: warning: no tag '3.0' in the selected repositories.\n"
    )


def test_half_given_credentials_say_what_is_missing(htpasswd_registry, run_cli):
    url = htpasswd_registry.url
    r = run_cli("-reg", url, "-c", "None", "-u", "alice", "list-repo-names")
    assert r.code == 1 and "(from command line/environment, no password given)" in r.err, r
    r = run_cli("-reg", url, "-c", "None", "-p", "wonderland", "list-repo-names")
    assert r.code == 1 and "(from command line/environment, no user name given)" in r.err, r
    assert "wonderland" not in r.err


def test_dry_run_restore_changes_nothing(registry, client, pusher, run_cli):
    image = pusher.image("app", "1.0", seed="dry/restore")
    assert run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0").code == 0
    for argv in (("--dry-run", "restore", "--last"), ("restore", "--last", "--dry-run")):
        r = run_cli("-reg", registry.url, *argv)
        assert r.code == 0, r
        assert r.lines[0] == f"restore   app@{image.digest}  tags: 1.0"
        assert r.lines[1].startswith("dry run: nothing restored (batch ")
        assert client.head_manifest("app", "1.0") is None
    r = run_cli("-reg", registry.url, "restore", "--last")
    assert r.code == 0 and client.head_manifest("app", "1.0") is not None


def test_a_tag_moved_since_the_cache_is_skipped_once_then_planned_right(
    registry, client, pusher, run_cli
):
    old = pusher.image("app", "1.0", seed="moved/old")
    assert run_cli("-reg", registry.url, "list-repo-names").code == 0  # cache written
    new = pusher.image("app", "1.0", seed="moved/new")  # 1.0 moves behind the cache's back
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0")
    assert r.code == 3, r
    assert f"now points at {new.digest}" in r.err and "run again" in r.err
    assert client.head_manifest("app", "1.0").digest == new.digest  # nothing deleted
    assert client.head_manifest("app", old.digest) is not None
    r = run_cli("-reg", registry.url, "remove-tags", "-r", "app", "-t", "1.0", "--dry-run")
    assert r.code == 0 and r.lines[0] == f"delete  app@{new.digest}  tags: 1.0", r


def test_a_classic_dregutil_command_line_works_unchanged(tls_registry, run_cli):
    """``-reg=host:port`` (https implied), ``-v None``, ``-cert/-key``, env-only settings,
    ``--digest-auth VALUE``, ``--use-get-manifest`` and the classic ``--count`` footer."""
    from dregtui.demo.images import ImagePusher
    from dregtui.registry.client import RegistryClient

    tls = tls_registry.tls
    cert = (tls.client_cert, tls.client_key)
    with RegistryClient(tls_registry.url, verify=tls.ca, cert=cert) as c:
        p = ImagePusher(c)
        for tag in ("1.10", "1.9", "latest"):
            p.image("team/app", tag, seed=f"classic/{tag}")
    host = tls_registry.url.removeprefix("https://")
    env = {"DOCKER_UTIL_CACHEFILE": "None", "DOCKER_UTIL_GET_MANIFEST": "1"}
    env |= {"REGISTRY_CLIENT_CERT": tls.client_cert, "REGISTRY_CLIENT_KEY": tls.client_key}
    r = run_cli(f"-reg={host}", "-v", "None", "--digest-auth", "false", "--count",
                "list-tag-names", env=env)  # fmt: skip
    assert r.code == 0, r
    assert r.lines == [
        "team/app  1.9",
        "team/app  1.10",
        "team/app  latest",
        "-----------------",
        "Number of tags: 3",
    ]
    r = run_cli("-reg", host, "-v", tls.ca, "-cert", tls.client_cert, "-key", tls.client_key,
                "-c", "None", "list-tag-names", "--image-names", "--reverse-sort")  # fmt: skip
    assert r.lines == [f"{host}/team/app:latest", f"{host}/team/app:1.10", f"{host}/team/app:1.9"]
    assert not InventoryCache.for_registry(tls_registry.url).exists()  # -c None / env None


def test_journal_short_writes_still_leave_whole_records(monkeypatch):
    """os.write may write less than asked (a filling disk): the record must still be whole."""
    import os

    from dregtui.state.journal import Journal, JournalRecord

    real = os.write

    def short_write(fd, data):
        return real(fd, bytes(data[:7]))

    record = JournalRecord(
        batch="b",
        registry="http://127.0.0.1:9",
        repository="app",
        digest="sha256:" + "1" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest=b'{"schemaVersion":2}' * 50,
        tags=("1.0",),
    )
    journal = Journal()
    monkeypatch.setattr(os, "write", short_write)
    journal.append(record)
    monkeypatch.setattr(os, "write", real)
    assert journal.records() == [record]


def test_credentials_in_the_registry_url_never_show_in_restore_or_profiles(
    registry, pusher, run_cli, tmp_path
):
    pusher.image("app", "1.0", seed="url/creds")
    host = registry.url.removeprefix("http://")
    with_creds = f"http://alice:s3cret@{host}"
    assert run_cli("-reg", with_creds, "remove-tags", "-r", "app", "-t", "1.0").code == 0
    r = run_cli("-reg", with_creds, "restore")  # the journal names the registry without them
    assert r.code == 0 and len(r.lines) == 1 and "s3cret" not in r.out, r
    r = run_cli("-reg", "http://alice:s3cret@127.0.0.1:1", "restore", "--last")
    assert r.code == 1 and "for http://127.0.0.1:1 in " in r.err and "s3cret" not in r.err, r
    r = run_cli("-reg", with_creds, "restore", "--last")
    assert r.code == 0 and r.lines[0].startswith("restored  app@"), r

    config = tmp_path / "config.toml"
    config.write_text("")
    r = run_cli("--config", str(config), "-reg", with_creds, "save-profile", "ops")
    assert r.code == 0 and "password was not saved" in r.err, r
    text = config.read_text()
    assert "s3cret" not in text
    assert f'registry = "http://{host}"' in text and 'username = "alice"' in text
