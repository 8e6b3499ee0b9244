"""``save-profile NAME``: store the current connection settings as a config file profile."""

from __future__ import annotations

import argparse
from typing import Any

from dregtui.cli.commands._context import Context, UsageError
from dregtui.state.config import save_profile

ORDER = 80


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "save-profile",
        help="save the global options (registry, user, TLS, jobs...) as a config profile",
        description="Store the connection options given before the command as [profiles.NAME] "
        "in the config file (mode 0600): only what is on the command line, plus the registry "
        "(values from the environment or another profile are not copied). Passwords are "
        "never stored: use REGISTRY_PASSWORD, -p or the docker credential store.",
    )
    p.add_argument("name", help="profile name")
    p.add_argument("--default", action="store_true", help="also make it the default profile")
    p.set_defaults(handler=run_save_profile)


def run_save_profile(args: argparse.Namespace, ctx: Context) -> int:
    name = args.name.strip()
    if not name or any(ch in name for ch in "\"'[]\n\r\t") or name != args.name:
        raise UsageError(
            "A profile name must be plain text without quotes, brackets or spaces at the ends."
        )
    path = save_profile(name, ctx.settings, ctx.settings.config_path, default=args.default)
    ctx.out(f"Saved profile {name} to {path}.")
    if ctx.settings.password or "@" in (ctx.settings.registry or ""):
        ctx.warn("the password was not saved (it never is): give it with -p or REGISTRY_PASSWORD.")
    return 0
