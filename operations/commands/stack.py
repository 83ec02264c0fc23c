"""`integrity stack up`: broker, the four services and demo data on one machine."""

from __future__ import annotations

import argparse

from shared.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stack", help="run the local stack")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    up = actions.add_parser(
        "up",
        help="start the broker and all services; Ctrl-C stops them",
        description="On the first start (no var/demo/loaded.json) a demo province of 2000 enterprises is "
        "loaded before the services start; INTEGRITY_DEMO_ENTERPRISES sets the size (0: none).",
    )
    demo = up.add_mutually_exclusive_group()
    demo.add_argument("--demo", type=int, metavar="N", help="load a demo province of N enterprises now")
    demo.add_argument("--no-demo", action="store_true", help="do not load the demo province")
    up.set_defaults(handler=up_command)


def up_command(args: argparse.Namespace) -> int:
    from operations import stack  # imported here: it pulls in every service

    demo_enterprises = 0 if args.no_demo else args.demo
    return int(stack.up(get_settings(), demo_enterprises) or 0)
