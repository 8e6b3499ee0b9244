"""Keys typed in one burst with / (a script, a fast typist, keys pasted as keys) land in the
filter field, never on the pane behind it; / inside the field is a character."""

from __future__ import annotations

from textual import events

from dregtui.tui.sample_data import sample_app, show_main
from dregtui.tui.widgets.filter_input import FilterInput


async def test_keys_typed_right_after_slash_land_in_the_field() -> None:
    app = sample_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await show_main(pilot)
        app.repo_tree.focus()
        await pilot.pause()
        for key, char in [("slash", "/"), *((c, c) for c in "team/a")]:
            app.post_message(events.Key(key, char))  # all queued before any is handled
        await pilot.pause()
        field = app.main.query_one("#filter", FilterInput)
        assert field.value == "team/a" and field.has_focus
        assert app.session.marks == set()  # the m of "team" never reached the screen
        await pilot.press("enter")
        assert app.session.repo_filter == "team/a"
