"""The main screen's part in the image graph: showing or folding the referrers' plumbing tags
(``sha256-<hex>`` fallback tags, cosign's ``.sig``/``.att``/``.sbom``) in the tags pane."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from dregtui.tui.screens.main import MainScreen


class ReferrerHandlers:
    """Mixed into :class:`~dregtui.tui.screens.main.MainScreen`."""

    def on_tag_list_marks_changed(self) -> None:
        """A mark changed: the digest pane says whether the image's referrers go with it."""
        screen = cast("MainScreen", self)
        screen.show_tag(screen.tag_list.repository, screen.tag_list.current_tag)

    def action_toggle_plumbing(self) -> None:
        screen = cast("MainScreen", self)
        session = screen.session
        session.show_plumbing = not session.show_plumbing
        pane = screen.tags_pane
        pane.show(pane.tag_list.repository)
        said = "shown" if session.show_plumbing else "folded under their images"
        screen.notify(f"Plumbing tags (sha256-…, .sig, .att, .sbom) {said}.", markup=False)
