"""Subcommands of the `integrity` command line; add a module here and list it in operations.cli."""
