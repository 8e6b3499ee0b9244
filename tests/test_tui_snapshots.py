"""Snapshot tests (pytest-textual-snapshot) of the main, confirmation and result screens at
120x36 and 80x24, on a fixed inventory (no registry, clock, port or temp path on screen).

Update after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from dregtui.tui.sample_data import sample_app, show_build, show_confirm, show_main, show_result

SIZES = [(120, 36), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_main_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(sample_app(), terminal_size=size, run_before=show_main)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_digest_build(snap_compare, size: tuple[int, int]) -> None:
    """The digest pane focused, scrolled to the image's build steps (issue 25, item 12)."""
    assert snap_compare(sample_app(), terminal_size=size, run_before=show_build)


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


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_quit_with_marks(snap_compare, size: tuple[int, int]) -> None:
    """Two tags marked, then q: 'Quit and drop 2 marks? y/n'."""
    from dregtui.tui.sample_data import show_quit

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_quit)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_confirm_protected_and_emptied(snap_compare, size: tuple[int, int]) -> None:
    """library/nginx marked whole: latest and stable named, 'empties library/nginx'."""
    from dregtui.tui.sample_data import show_protected_confirm

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_protected_confirm)


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
def test_filter_error_inline(snap_compare, size: tuple[int, int]) -> None:
    """Issue 25: ``re:(`` typed in the filter: what is wrong shows under the field."""
    from dregtui.tui.sample_data import show_filter_error

    assert snap_compare(sample_app(), terminal_size=size, run_before=show_filter_error)


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
