"""The keys that verify tokens, as a JWKS document (RFC 7517), so a signing key can be rotated without a
restart and without invalidating every token at once.

Every token names its key in the `kid` header (the key's RFC 7638 thumbprint unless configured). A service
verifies with the key set from, in this order:
- INTEGRITY_JWT_JWKS_URL: fetched, kept 5 minutes, fetched again at once (at most every 10 s) when a token
  names a key it lacks;
- INTEGRITY_JWT_JWKS_FILE: read again whenever the file changes;
- otherwise the one public key file (the local default).

Rotation: add the new public key to the document; once every service has it, issue tokens with the new
private key; when the old key's last tokens have expired, remove it. Tokens signed by the old key verify
until then. A token without `kid` (issued before keys had ids) is tried against every key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger("integrity.auth")

URL_TTL_SECONDS = 300.0
REFETCH_AT_MOST_EVERY_SECONDS = 10.0
_FETCH_TIMEOUT_SECONDS = 5.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: its default `kid`."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw(key))}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def jwk_of(key: Ed25519PublicKey, kid: str | None = None) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(_raw(key)),
        "kid": kid or thumbprint(key),
        "alg": "EdDSA",
        "use": "sig",
    }


def jwks_document(keys: Iterable[Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    return {"keys": [jwk_of(key) for key in keys]}


def parse(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """kid -> key of the Ed25519 signing keys of a JWKS document; others (RSA, encryption) are ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        if entry.get("use", "sig") != "sig":
            continue
        x = str(entry.get("x", ""))
        key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
        keys[str(entry.get("kid") or thumbprint(key))] = key
    return keys


class KeySet:
    """The verification keys of one service, kept current from their source (see the module docstring)."""

    def __init__(
        self, url: str | None = None, file: Path | None = None, single: Ed25519PublicKey | None = None
    ) -> None:
        if not (url or file or single):
            raise ValueError("a key set needs a JWKS URL, a JWKS file or a public key")
        self._url, self._file = url, file
        self._keys: dict[str, Ed25519PublicKey] = {thumbprint(single): single} if single else {}
        self._stamp: object = None  # the file's (mtime, size), or when the URL was fetched
        self._fetched_at = -1e9
        self._lock = threading.Lock()
        self._refresh(force=True)

    def candidates(self, kid: str | None) -> list[Ed25519PublicKey]:
        """The key a token names (none when unknown, even after a fresh look), or every key without a kid."""
        self._refresh()
        if kid is None:
            return list(self._keys.values())
        if kid not in self._keys and self._url:
            self._refresh(force=True)
        return [self._keys[kid]] if kid in self._keys else []

    def kids(self) -> list[str]:
        return sorted(self._keys)

    def _refresh(self, force: bool = False) -> None:
        with self._lock:
            try:
                if self._url:
                    self._fetch(force)
                elif self._file:
                    self._read()
            except (OSError, ValueError) as exc:
                # Keep verifying with the keys already known; a service without any refuses every token.
                log.warning("could not load the token keys from %s: %s", self._url or self._file, exc)

    def _read(self) -> None:
        assert self._file is not None
        status = self._file.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            self._keys = parse(json.loads(self._file.read_bytes()))
            self._stamp = stamp
            log.info("token keys loaded from %s: %s", self._file, ", ".join(self.kids()))

    def _fetch(self, force: bool) -> None:
        assert self._url is not None
        age = time.monotonic() - self._fetched_at
        if age < (REFETCH_AT_MOST_EVERY_SECONDS if force else URL_TTL_SECONDS):
            return
        self._fetched_at = time.monotonic()
        with urllib.request.urlopen(self._url, timeout=_FETCH_TIMEOUT_SECONDS) as response:
            self._keys = parse(json.loads(response.read()))
        log.info("token keys fetched from %s: %s", self._url, ", ".join(self.kids()))
