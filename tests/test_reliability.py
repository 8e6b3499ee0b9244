"""Reliability suite (issue 7): kills, signals, an unwritable journal, a tag moved under us.

Each case runs ``python -m dregtui`` as a subprocess against a real registry and compares what
the registry holds afterwards with a snapshot ({repo: {tag: digest}}) taken before.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.killable import KillableRegistry, snapshot
from support.registry import cache_lines

from dregtui.demo.images import ImagePusher
from dregtui.registry.client import RegistryClient

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parent.parent
REPO = "team/app"


@pytest.fixture
def killable() -> Iterator[KillableRegistry]:
    reg = KillableRegistry().start()
    yield reg
    reg.cleanup()


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # HOME and XDG_* already point into tmp (conftest)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _popen(url: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dregtui", "-reg", url, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _env(),
    )


def _run(url: str, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = _popen(url, *argv, env=env)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _journal() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "dregtui" / "journal.jsonl"


def _journal_lines() -> list[str]:
    try:
        return _journal().read_text().splitlines()
    except FileNotFoundError:
        return []


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _holds_a_socket(pid: int) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        names = list(fds.iterdir())
    except OSError:
        return False
    for fd in names:
        with contextlib.suppress(OSError):  # closed meanwhile
            if os.readlink(fd).startswith("socket:"):
                return True
    return False


def _fill(url: str, count: int, keep: int = 5) -> None:
    with RegistryClient(url) as c:
        p = ImagePusher(c)
        for i in range(count):
            p.image(REPO, f"1.0.{i}", seed=f"rel/{i}")
        for i in range(keep):
            p.image(REPO, f"2.0.{i}", seed=f"keep/{i}")
        p.image("team/other", "1.0.0", seed="other")


def _journaled(lines: list[str]) -> set[str]:
    tags: set[str] = set()
    voided = {json.loads(x)["void"] for x in lines if '"void"' in x}
    for line in lines:
        doc = json.loads(line)
        if "void" not in doc and doc["id"] not in voided:
            tags.update(doc["tags"])
    return tags


def test_sigkill_registry_mid_removal_then_rerun_and_restore(killable: KillableRegistry) -> None:
    _fill(killable.url, 80)
    before = snapshot(killable.url)
    selected = {t for t in before[REPO] if t.startswith("1.0.")}
    proc = _popen(killable.url, "remove-tags", "-r", REPO, "-t", "<2.0", "--yes")
    _wait_for(lambda: len(_journal_lines()) >= 20 or proc.poll() is not None)
    killable.kill()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err, err
    killable.revive()

    code, _, err = _run(killable.url, "--refresh", "remove-tags", "-r", REPO, "-t", "<2.0", "--yes")
    assert code == 0, err
    after = snapshot(killable.url)
    expected = {r: dict(t) for r, t in before.items()}
    expected[REPO] = {t: d for t, d in before[REPO].items() if t not in selected}
    assert after == expected

    code, out, err = _run(killable.url, "restore", "--json")
    batches = [b["batch"] for b in json.loads(out)]
    assert len(batches) == 2, out
    for batch in batches:
        code, _, err = _run(killable.url, "restore", batch)
        assert code == 0, err
    assert snapshot(killable.url) == before


def test_unwritable_journal_deletes_nothing(killable: KillableRegistry, tmp_path: Path) -> None:
    _fill(killable.url, 3, keep=1)
    before = snapshot(killable.url)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # XDG_DATA_HOME under a regular file: no journal can be created
    env = _env(XDG_DATA_HOME=str(blocker / "share"))
    code, out, err = _run(killable.url, "remove-tags", "-r", REPO, "-t", "1.0.0", "--yes", env=env)
    assert code != 0
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert "journal" in err
    assert snapshot(killable.url) == before


def _slow_scan_registry(killable: KillableRegistry) -> None:
    with RegistryClient(killable.url) as c:
        p = ImagePusher(c)
        for i in range(40):
            p.image(f"scan/r{i:02d}", "1.0", seed=f"scan/{i}")


def test_sigint_during_scan(killable: KillableRegistry) -> None:
    _slow_scan_registry(killable)
    cache_dir = Path(os.environ["XDG_CACHE_HOME"]) / "dregtui"
    proc = _popen(killable.url, "--rate", "20", "-j", "1", "list-tag-names")
    # the scan is under way once the process holds a socket (40 repositories at 20 requests/s
    # then take seconds more)
    _wait_for(lambda: _holds_a_socket(proc.pid) or proc.poll() is not None)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    leftovers = list(cache_dir.glob("*")) if cache_dir.exists() else []
    for f in leftovers:
        assert not f.name.endswith(".tmp"), leftovers
        assert cache_lines(f)[-1] == ["end"]  # a complete cache or none


def test_sigint_during_deletion(killable: KillableRegistry) -> None:
    _fill(killable.url, 30, keep=2)
    before = snapshot(killable.url)
    proc = _popen(killable.url, "--rate", "30", "remove-tags", "-r", REPO, "-t", "<2.0", "--yes")
    _wait_for(lambda: len(_journal_lines()) >= 3 or proc.poll() is not None)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    lines = _journal_lines()
    gone = _journaled(lines)  # every line parses (a torn line raises here)
    assert gone and len(gone) < 30
    expected = {r: dict(t) for r, t in before.items()}
    expected[REPO] = {t: d for t, d in before[REPO].items() if t not in gone}
    assert snapshot(killable.url) == expected


def test_tag_moved_between_scan_and_delete(killable: KillableRegistry) -> None:
    with RegistryClient(killable.url) as c:
        p = ImagePusher(c)
        p.image(REPO, "2.0.0", seed="two")
        p.image(REPO, "stable", seed="stable")
    code, _, err = _run(killable.url, "list-tag-names", REPO)
    assert code == 0, err
    with RegistryClient(killable.url) as c:
        m = c.get_manifest(REPO, "2.0.0")
        c.put_manifest(REPO, "stable", m.raw, m.media_type)
    before = snapshot(killable.url)
    code, _, err = _run(killable.url, "remove-tags", "-r", REPO, "-t", "2.0.0", "--yes")
    assert code == 3, err
    assert snapshot(killable.url) == before


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs for the journal (root only); grown to 4 MiB with ``remount``."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def test_disk_full_during_a_removal_then_free_space_rerun_and_restore(
    killable: KillableRegistry, tiny_data_dir: Path
) -> None:
    """The journal fills a 16 KiB disk mid-run: no half record, nothing deleted unjournaled.
    With space again, the re-run finishes and both batches restore to the exact snapshot."""
    _fill(killable.url, 40)
    before = snapshot(killable.url)
    selected = {t for t in before[REPO] if t.startswith("1.0.")}
    env = _env(XDG_DATA_HOME=str(tiny_data_dir))
    journal = tiny_data_dir / "dregtui" / "journal.jsonl"
    argv = ("remove-tags", "-r", REPO, "-t", "<2.0", "--yes")
    code, _, err = _run(killable.url, *argv, env=env)
    assert code == 1 and "Cannot write the journal" in err and "Traceback" not in err, err
    lines = journal.read_text().splitlines()
    assert lines and all(json.loads(line) for line in lines)  # whole records only
    first = snapshot(killable.url)
    assert first[REPO] == {t: d for t, d in before[REPO].items() if t not in _journaled(lines)}
    assert set(before[REPO]) - set(first[REPO]) == _journaled(lines) < selected

    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_data_dir)], check=True, timeout=10)
    code, _, err = _run(killable.url, "--refresh", *argv, env=env)
    assert code == 0, err
    assert set(snapshot(killable.url)[REPO]) == set(before[REPO]) - selected
    for line in journal.read_text().splitlines():
        json.loads(line)  # the first run's last line and the second's first are not glued

    code, out, err = _run(killable.url, "restore", "--json", env=env)
    batches = [b["batch"] for b in json.loads(out)]
    assert len(batches) == 2, out
    for batch in batches:
        code, _, err = _run(killable.url, "restore", batch, env=env)
        assert code == 0, err
    assert snapshot(killable.url) == before
