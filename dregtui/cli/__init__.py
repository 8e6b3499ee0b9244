"""The command line: ``main(argv)`` (in :mod:`dregtui.cli.main`), one module a command group
in :mod:`dregtui.cli.commands`, and the scan's progress line."""
