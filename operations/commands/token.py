"""`integrity token`: prints a bearer token that the local stack accepts; `integrity jwks`: the JWKS
document of public keys, for INTEGRITY_JWT_JWKS_FILE or a JWKS URL (key rotation, infra/README.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.auth import Role, issue_token, load_public_key
from shared.jwks import jwks_document
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

    jwks = subparsers.add_parser(
        "jwks",
        help="print the JWKS document of public keys (for key rotation)",
        description='Prints {"keys": [...]} with each key\'s kid (its RFC 7638 thumbprint, which '
        "`integrity token` puts in the tokens it signs). During a rotation, list the old and the new key.",
    )
    jwks.add_argument(
        "public_keys", nargs="*", type=Path, metavar="PEM", help="Ed25519 public keys (default: this stack's)"
    )
    jwks.set_defaults(handler=run_jwks)


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


def run_jwks(args: argparse.Namespace) -> int:
    keys = []
    try:
        for path in args.public_keys:
            key = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"{path} is not an Ed25519 public key")
            keys.append(key)
        if not keys:
            keys.append(load_public_key(get_settings()))
    except (OSError, ValueError) as exc:
        print(f"integrity jwks: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(jwks_document(keys), indent=2))
    return 0
