"""The `integrity` command. Each subcommand lives in `operations.commands.<name>` and registers itself."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules with `register(subparsers)`; each sets `handler=<function(args) -> int>` on its parser.
COMMAND_MODULES = (
    "operations.commands.token",
    "operations.commands.stack",
    "operations.commands.scoring",
    "operations.commands.risk_list",
    "operations.commands.plan",
    "operations.commands.outbox",
    "operations.commands.history",
    "operations.commands.demo",
    "operations.commands.model",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="integrity", description="Metrology-integrity grading: local stack and operator tools."
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
