"""Snapshot tests (pytest-textual-snapshot) of the main, confirmation and result screens at
120x36 and 80x24, on a fixed inventory (no registry, clock, port or temp path on screen).

Update after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from dregtui.tui.sample_data import sample_app, show_confirm, show_main, show_result

SIZES = [(120, 36), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_main_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(sample_app(), terminal_size=size, run_before=show_main)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_confirm_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(sample_app(), terminal_size=size, run_before=show_confirm)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_result_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(sample_app(), terminal_size=size, run_before=show_result)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_untagged_list(snap_compare, size: tuple[int, int]) -> None:
    """With the storage: team/api's untagged node open, one untagged manifest marked."""
    from dregtui.tui.sample_storage import show_untagged

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_untagged)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_untagged_confirm(snap_compare, size: tuple[int, int]) -> None:
    from dregtui.tui.sample_storage import show_untagged_confirm

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_untagged_confirm)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The journal shows local times: UTC here, whatever the machine's zone."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_journal_screen(snap_compare, size: tuple[int, int], utc: None) -> None:
    """J: the sample journal's three batches (not restored, partly, restored)."""
    from dregtui.tui.sample_journal import show_journal

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_journal)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_restore_confirmation(snap_compare, size: tuple[int, int], utc: None) -> None:
    """The confirmation before a batch is restored (u, or enter in the journal)."""
    from dregtui.tui.sample_journal import show_restore_confirm

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_restore_confirm)
