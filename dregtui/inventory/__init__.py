"""Inventory of a registry: model, scanner, cache, journal. No Textual here."""

from dregtui.inventory.model import Inventory, TagInfo, TagRef

__all__ = ["Inventory", "TagInfo", "TagRef"]
