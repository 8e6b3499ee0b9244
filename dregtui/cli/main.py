"""Command line front end: global options, subcommands, exit codes. No subcommand = the TUI.

Usage (global options BEFORE the command, as in the classic dregutil)::

    dregtui -reg https://registry:5000 -u me -p secret list-tag-names team/app --image-names

Adding a command (the API other modules use)
--------------------------------------------
Put a module in ``dregtui/cli/commands/`` (one per command group). It is discovered automatically
(``dregtui.cli.commands.command_modules``): any module there with a ``register`` function.

    # dregtui/cli/commands/query.py
    ORDER = 20                                  # position in --help (optional, default 100)

    def register(subparsers) -> None:           # argparse sub-parsers action
        p = subparsers.add_parser("query-repos", help="...")
        p.add_argument("--repo", "-r", nargs="+", required=True)
        p.set_defaults(handler=run_query_repos)

    def run_query_repos(args, ctx) -> int:      # ctx: dregtui.cli.main.Context
        inventory = ctx.inventory()             # cache or scan (progress line on stderr)
        ctx.out("...")                          # results to stdout
        return 0                                # exit code

- Handlers return an exit code. Raise ``RegistryError`` (registry trouble), ``ConfigError`` or
  ``UsageError`` (bad input) with one sentence: ``main`` prints ``dregtui: error: <sentence>``
  and returns 1 (a traceback only with ``--debug``).
- ``ctx.settings`` holds the merged global options (``dregtui.state.config.Settings``): json, count,
  dry_run, jobs, ... ``ctx.client()``, ``ctx.inventory(repositories=None)`` (cache, else a
  scan with the progress line; named repositories for registries without ``_catalog``),
  ``ctx.save_inventory(inv)`` (after deletions), ``ctx.scanner()``, ``ctx.cache()``,
  ``ctx.warn(text)``, ``ctx.out(line)`` are described in ``dregtui.cli.commands._context``.
- ``parse_settings(argv, env)`` -> (args, Settings) parses without running anything.
- Command modules must import Textual (or anything heavy) inside the handler only: the core
  must not import ``textual``/``rich`` (tests/test_import_hygiene.py).
- With no command, ``main`` runs the handler of the command named ``tui`` when one is
  registered (``p.set_defaults(handler=...)`` on a ``tui`` sub-parser).
- Exit codes: 0 ok, 1 errors (registry, usage, config), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TextIO

from dregtui import __version__
from dregtui.cli.commands import command_modules
from dregtui.cli.commands._context import Context, UsageError
from dregtui.core.errors import RegistryError, StorageError
from dregtui.core.textsafe import clean
from dregtui.ops.scanner import DEFAULT_CAP, ScanProgress
from dregtui.registry.credentials import reset_helper_warnings
from dregtui.state.config import (
    MAX_JOBS,
    MAX_TIMEOUT,
    MIN_RATE,
    ConfigError,
    Settings,
    is_bool_word,
    resolve_settings,
)

__all__ = ["Context", "UsageError", "build_parser", "main", "parse_settings"]

PROG = "dregtui"
DEFAULT_COMMAND = "tui"

# Global option -> Settings field (argparse dest == field name).
GLOBAL_FIELDS = (
    "registry", "username", "password", "digest_auth", "cert", "key", "verify", "cache",
    "refresh", "count", "use_get_manifest", "log_level", "json", "jobs", "rate", "insecure",
    "debug", "repositories", "profile", "dry_run", "max_cache_age", "timeout", "storage",
    "registry_config",
)  # fmt: skip


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as UsageError (exit 1, one line) instead of exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self._misplaced_global(message) or f"{message} (see {self.prog} --help)")

    def _misplaced_global(self, message: str) -> str | None:
        """``dregtui restore -c None``: say that global options go before the command."""
        prefix = "unrecognized arguments: "
        if not message.startswith(prefix):
            return None
        for word in message[len(prefix) :].split():
            option = word.split("=", 1)[0]
            if option in self._option_string_actions and option not in ("-h", "--help"):
                return (
                    f"{option} is a global option: put it before the command "
                    f"({self.prog} {option} ... COMMAND ...)"
                )
        return None


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Browse and clean up a Docker Registry v2 / OCI registry. "
        "Without a command, opens the full-screen browser.",
        epilog="Global options go before the command (as with the classic dregutil). Exit "
        "codes: 0 ok; 1 error (one line on stderr); 3 some items were skipped for safety "
        "(query-*, remove-*, --dry-run: the same code for the same selection; restore); "
        "130 interrupted.",
        allow_abbrev=False,
    )
    g = parser.add_argument_group("registry and connection")
    g.add_argument(
        "-reg", "--registry", metavar="URL", help="registry URL or host[:port] (env REGISTRY)"
    )
    g.add_argument(
        "-u", "--user", dest="username", metavar="USER", help="user name (env REGISTRY_USER)"
    )
    g.add_argument(
        "-p",
        "--password",
        help="password (env REGISTRY_PASSWORD); with -u and no password, asked for on a terminal",
    )
    g.add_argument(
        "--digest-auth",
        nargs="?",
        const="true",
        metavar="VALUE",
        help="use HTTP Digest authentication (env REGISTRY_USE_DIGEST_AUTH)",
    )
    g.add_argument(
        "-cert",
        "--client-cert",
        dest="cert",
        metavar="FILE",
        help="client certificate file (env REGISTRY_CLIENT_CERT)",
    )
    g.add_argument(
        "-key",
        "--client-key",
        dest="key",
        metavar="FILE",
        help="client key file (env REGISTRY_CLIENT_KEY)",
    )
    g.add_argument(
        "-v",
        "--verify",
        metavar="CA_BUNDLE",
        help="CA bundle file, or None to disable TLS verification",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="do not verify TLS certificates (also lets credentials go to a plain-http token realm)",
    )
    g.add_argument(
        "--use-get-manifest",
        action="store_true",
        default=None,
        help="GET instead of HEAD for digests (Nexus)",
    )
    g.add_argument(  # classic global option; what always happens now (see remove-tags --help)
        "--no-raise-intersecting-repo",
        dest="compat_no_raise_intersecting_repo",
        action="store_true",
        help=argparse.SUPPRESS,
    )
    g.add_argument(
        "--repositories",
        action="append",
        metavar="A,B,C",
        help="repositories to scan when the registry refuses _catalog (repeatable: "
        "--repositories a --repositories b is --repositories a,b)",
    )
    g.add_argument("--profile", metavar="NAME", help="config file profile to use")
    g.add_argument("--config", metavar="PATH", help="config file (env DREGTUI_CONFIG)")
    g.add_argument(
        "--storage",
        metavar="PATH|s3://BUCKET[/PREFIX]",
        help="the registry's storage, read-only: its root directory or its S3 bucket (env "
        "DREGTUI_STORAGE): untagged manifests, tag history, exact sizes",
    )
    g.add_argument(
        "--registry-config",
        metavar="FILE",
        help="the registry's own config.yml: its storage is read from there (with the "
        "REGISTRY_STORAGE_* environment overrides)",
    )

    g = parser.add_argument_group("scan and cache")
    g.add_argument("-c", "--cache", metavar="PATH", help="cache file, or None to disable the cache")
    g.add_argument(
        "--refresh",
        action="store_true",
        default=None,
        help="rescan the registry, then update the cache",
    )
    g.add_argument(
        "--max-cache-age",
        metavar="DURATION",
        help="rescan (instead of using the cache) when the cache is older, e.g. 1h or 2d "
        "(env DREGTUI_MAX_CACHE_AGE); remove-* then plans from the fresh scan",
    )
    g.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help=f"parallel requests (default 16, at most {MAX_JOBS}); a scan keeps at most N in "
        f"flight (without -j: 16 to {DEFAULT_CAP}, more when round trips are long)",
    )
    g.add_argument(
        "--rate", type=_positive_float, metavar="N", help="at most this many requests per second"
    )
    g.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on a request after this long, its retries included (default 20)",
    )

    g = parser.add_argument_group("output")
    g.add_argument(
        "--count", action="store_true", default=None, help="also print the number of items"
    )
    g.add_argument("--json", action="store_true", default=None, help="print JSON")
    g.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        help="show what would change, change nothing",
    )
    g.add_argument(
        "-l",
        "--log-level",
        metavar="LEVEL",
        help="log level: debug, info, warning (default), error",
    )
    g.add_argument("--debug", action="store_true", default=None, help="show tracebacks")
    g.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    subparsers = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _jobs(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"at most {MAX_JOBS} (one thread and connection each)")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    if value < MIN_RATE:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_RATE} (requests per second)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_TIMEOUT:g}")
    return value


def _normalize_argv(argv: Sequence[str], commands: set[str]) -> list[str]:
    """Classic ``--digest-auth VALUE`` and the flag form ``--digest-auth`` both work.

    A bare ``--digest-auth`` followed by the command (or another option) means "on".
    """
    out = list(argv)
    for i, arg in enumerate(out):
        if arg in commands:
            break
        if arg == "--digest-auth":
            following = out[i + 1] if i + 1 < len(out) else None
            if following is None or not is_bool_word(following):
                out[i] = "--digest-auth=true"
    return out


def parse_settings(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    parser: argparse.ArgumentParser | None = None,
) -> tuple[argparse.Namespace, Settings]:
    """Parse a command line and merge it with env and config file: (args, settings)."""
    parser = parser or build_parser()
    commands = set(_subcommand_names(parser))
    args = parser.parse_args(_normalize_argv(argv, commands))
    cli = {name: getattr(args, name, None) for name in GLOBAL_FIELDS}
    if cli["repositories"] is not None:  # each --repositories adds to the ones before
        cli["repositories"] = ",".join(cli["repositories"])
    return args, resolve_settings(cli, env, getattr(args, "config", None))


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
) -> int:
    """Run the CLI; returns the exit code. ``env``/streams/``progress`` are injectable for tests."""
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    ctx: Context | None = None
    reset_helper_warnings()
    try:
        parser = build_parser()
        with contextlib.redirect_stdout(stdout):  # --help / --version go to our stdout
            args, settings = parse_settings(argv, env, parser)
        debug = settings.debug
        _configure_logging(settings.log_level, settings.debug, stderr)
        ctx = Context(settings, stdout=stdout, stderr=stderr, progress_hook=progress)
        handler = getattr(args, "handler", None)
        if args.command is None:
            handler = _default_handler(parser)
            if handler is None:
                raise UsageError(f"no command given (see {PROG} --help)")
        if handler is None:
            raise UsageError(f"{args.command}: not a command (see {PROG} --help)")
        return int(handler(args, ctx) or 0)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except (RegistryError, StorageError, ConfigError, UsageError) as exc:
        return _fail(stderr, str(exc), debug)
    except KeyboardInterrupt:
        stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as exc:  # a bug or an unexpected library error: still one line
        return _fail(stderr, f"unexpected error: {type(exc).__name__}: {exc}", debug)
    finally:
        if ctx is not None:
            ctx.close()


def _fail(stderr: TextIO, message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc(file=stderr)
    message = clean(" ".join(message.split()))  # one line, no escapes, whatever the registry sent
    stderr.write(f"{PROG}: error: {message}\n")
    stderr.flush()
    return 1


def _subcommand_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _default_handler(parser: argparse.ArgumentParser) -> Callable[[Any, Context], int] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and DEFAULT_COMMAND in action.choices:
            sub = action.choices[DEFAULT_COMMAND]
            handler: Callable[[Any, Context], int] | None = sub.get_default("handler")
            return handler
    return None


def _configure_logging(level: str, debug: bool, stream: TextIO) -> None:
    name = "DEBUG" if debug else (level or "warning").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        raise UsageError(f"unknown log level {level!r} (use debug, info, warning or error)")
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_dregtui", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream)
    handler._dregtui = True  # type: ignore[attr-defined]
    handler.setFormatter(_LogFormatter(verbose=numeric < logging.WARNING))
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("urllib3").setLevel(max(numeric, logging.WARNING))


class _LogFormatter(logging.Formatter):
    """``-l info``/``debug``: the classic tool's timestamped lines. Otherwise warnings look
    like every other diagnostic: ``dregtui: warning: ...`` on one line."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s [%(levelname)s] %(name)s - %(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        message = clean(" ".join(record.getMessage().split()))
        return f"{PROG}: {record.levelname.lower()}: {message}"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
