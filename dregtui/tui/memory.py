"""After a big load: what exists now stays, and the cyclic garbage collector stops walking it."""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> None:
    """What exists now (the inventory, its accounting, parsed tags) has no reference cycles
    and stays: ``gc.freeze()`` takes it out of the cyclic collector's walks, which at a
    million tags would each cost a keystroke's whole budget."""
    gc.freeze()
