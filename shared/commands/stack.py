"""`integrity stack up`: broker, the four services and demo data on one machine."""

from __future__ import annotations

import argparse

from shared.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stack", help="run the local stack")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the broker and all services; Ctrl-C stops them")
    up.set_defaults(handler=up_command)


def up_command(_args: argparse.Namespace) -> int:
    from shared import stack  # imported here: it pulls in every service

    return int(stack.up(get_settings()) or 0)
