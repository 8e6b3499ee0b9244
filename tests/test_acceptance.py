"""Acceptance review regressions: the CLI end to end against the real registry.

Each test pins a defect found while using ``dregtui`` as an ops engineer / a CI job would.
"""

from __future__ import annotations

import time

from dregtui.inventory.cache import InventoryCache


def cached_tags(url: str) -> dict[str, list[str]]:
    cached = InventoryCache.for_registry(url).read()
    assert cached is not None
    return {repo: sorted(tags) for repo, tags in cached.inventory.repositories.items()}


def test_registry_dying_mid_delete_stops_at_once_and_rerun_completes(
    registry, pusher, run_cli, monkeypatch
):
    """Every further item would fail too: stop after the items in flight (not one retry
    storm per item), one error line, the cache holds exactly what is still there."""
    import dregtui.commands.remove as remove

    for i in range(12):
        pusher.image("app", f"1.{i}", seed=f"die/{i}")
    assert run_cli("-reg", registry.url, "list-repo-names").code == 0  # cache written
    real = remove.execute_plan

    def registry_dies_after_three(*args, **kwargs):
        inner = kwargs["progress"]

        def progress(done, total, result):
            inner(done, total, result)
            if done == 3:
                registry.stop()

        kwargs["progress"] = progress
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
