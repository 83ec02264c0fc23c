"""The `integrity` command. The operator's own tools live in `operations.commands`; each service adds
its subcommands through its manifest (`ServiceManifest.commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from operations import catalogue
from shared.manifest import load

# `register(subparsers)` functions; each sets `handler=<function(args) -> int>` on its parser.
OPERATIONS_COMMANDS = (
    "operations.commands.token:register",
    "operations.commands.stack:register",
    "operations.commands.outbox:register",
    "operations.commands.history:register",
    "operations.commands.demo:register",
    "operations.commands.model:register",
    "operations.commands.db:register",
    "operations.commands.schedule:register",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="integrity", description="Metrology-integrity grading: local stack and operator tools."
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    service_commands = [ref for service in catalogue.SERVICES for ref in service.commands]
    for ref in (*OPERATIONS_COMMANDS, *service_commands):
        load(ref)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from shared.settings import get_settings
    from shared.tracing import configure

    configure(get_settings().otlp_endpoint, "cli")  # the commands' gRPC calls and SQL join traces
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
