"""`integrity token`: prints a bearer token that the local stack accepts."""

from __future__ import annotations

import argparse
import sys

from shared.auth import Role, issue_token
from shared.settings import get_settings

DEFAULT_TTL_SECONDS = 8 * 3600  # a working day of manual calls


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "token",
        help="print a bearer token for the local stack",
        description="Prints a signed token; use it as `authorization: Bearer <token>` metadata.",
    )
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--region", help="GB/T 2260 region code (regulator: required; inspector: optional)")
    parser.add_argument("--uscc", help="the enterprise's unified social credit code (enterprise role)")
    parser.add_argument("--subject", help="who the token names (default: derived from role and scope)")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="lifetime in seconds")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        token = issue_token(
            get_settings(),
            args.role,
            subject=args.subject,
            region=args.region,
            uscc=args.uscc,
            ttl_seconds=args.ttl,
        )
    except ValueError as e:
        print(f"integrity token: {e}", file=sys.stderr)
        return 2
    print(token)
    return 0
