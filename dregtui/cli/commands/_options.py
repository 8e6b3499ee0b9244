"""Options that every command repeats after its name (the global parser has them first)."""

from __future__ import annotations

import argparse


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Let ``--json`` / ``--count`` also follow the command (they never override if absent)."""
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--count", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
