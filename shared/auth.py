"""Who is calling: roles, principals, and the Ed25519-signed JWTs (alg EdDSA) that carry them.

The signing key pair lives in two PEM files (settings.private_key_path / public_key_path); a local stack
generates them under var/keys/ on first use. Services that only verify need just the public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.errors import IntegrityError, permission_denied, unauthenticated
from shared.jwks import KeySet, thumbprint
from shared.regions import region_contains, region_problem
from shared.settings import Settings
from shared.uscc import uscc_problem

ALGORITHM = "EdDSA"
DEFAULT_TTL_SECONDS = 3600
INVALID_TOKEN = "INVALID_TOKEN"  # ErrorInfo reason for any token that does not verify
_GET_A_TOKEN = "get a new one with `integrity token --role ...`"


class Role(StrEnum):
    SYSTEM = "system"
    REGULATOR = "regulator"
    INSPECTOR = "inspector"
    ENTERPRISE = "enterprise"
    PUBLIC = "public"


# Roles scoped to a region (required for regulators; inspectors without one read no enterprise data).
REGIONAL_ROLES = frozenset({Role.REGULATOR, Role.INSPECTOR})


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    region: str | None = None
    uscc: str | None = None

    @classmethod
    def public(cls) -> Principal:
        """The caller who sent no token."""
        return cls(subject="anonymous", role=Role.PUBLIC)


_current: ContextVar[Principal] = ContextVar("integrity_principal")


def current_principal() -> Principal:
    """The caller of the RPC being served (set by the server interceptor); public outside a call."""
    return _current.get(Principal.public())


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Makes `principal` the current principal inside the block (the interceptor uses this; so can tests)."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def require_enterprise_read(principal: Principal, uscc: str, region_code: str | None) -> None:
    """Allows reading enterprise `uscc` (registered in `region_code`) only to whom it concerns."""
    if principal.role == Role.SYSTEM:
        return
    if principal.role == Role.ENTERPRISE and principal.uscc == uscc:
        return
    if principal.role in REGIONAL_ROLES and principal.region and region_code:
        if region_contains(principal.region, region_code):
            return
        raise permission_denied(
            f"{principal.role} for region {principal.region} cannot read enterprise {uscc} "
            f"registered in region {region_code}",
            "OUTSIDE_REGION",
        )
    if principal.role == Role.ENTERPRISE:
        raise permission_denied(f"an enterprise may read only itself ({principal.uscc}), not {uscc}")
    raise permission_denied(f"{principal.role} {principal.subject!r} may not read enterprise {uscc}")


def listing_region(principal: Principal, requested: str | None, what: str) -> str:
    """The region a regional caller (regulator, inspector) may list `what` in: their own when none is
    requested, the requested one when it lies inside theirs; PERMISSION_DENIED otherwise."""
    if principal.role not in REGIONAL_ROLES or not principal.region:
        raise permission_denied(f"{principal.role} token carries no region, so it may list no {what}")
    if requested is None:
        return principal.region
    if not region_contains(principal.region, requested):
        raise permission_denied(
            f"{principal.role} for region {principal.region} may not list {what} in region {requested}; "
            f"filter on {principal.region} or a region inside it",
            "OUTSIDE_REGION",
        )
    return requested


# --- key pair files ---------------------------------------------------------------------------------


def _pem_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_once(path: Path, content: bytes, mode: int) -> None:
    """Writes `path` atomically unless it exists: a complete file appears or nothing does. Two processes
    racing both write a temporary file and hard-link it into place; the loser's link fails and it keeps
    the winner's file (link, unlike rename, never replaces)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_private_key(settings: Settings) -> Ed25519PrivateKey:
    """The signing key, generated (with its public key file) when neither file exists yet."""
    private_path, public_path = settings.private_key_path, settings.public_key_path
    if not private_path.exists():
        if public_path.exists():
            raise RuntimeError(
                f"{public_path} exists but its private key {private_path} does not: this process can "
                "verify tokens but not issue them"
            )
        _write_once(private_path, _pem_private(Ed25519PrivateKey.generate()), 0o600)
    key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{private_path} is not an Ed25519 private key")
    if not public_path.exists():
        _write_once(public_path, _pem_public(key.public_key()), 0o644)
    return key


def load_public_key(settings: Settings) -> Ed25519PublicKey:
    """The verification key; when a local stack has no keys yet, the pair is generated."""
    path = settings.public_key_path
    if not path.exists():
        return load_private_key(settings).public_key()
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise RuntimeError(f"{path} is not an Ed25519 public key")
    return key


# --- tokens -----------------------------------------------------------------------------------------


def _claim_problems(role: Role, region: str | None, uscc: str | None) -> list[str]:
    """What is wrong with a role's scoping claims, in words a person can act on."""
    problems = []
    if role == Role.REGULATOR and not region:
        problems.append("a regulator token needs a region (GB/T 2260 code, e.g. 610100)")
    if role == Role.ENTERPRISE and not uscc:
        problems.append("an enterprise token needs the enterprise's USCC")
    if region is not None:
        if role not in REGIONAL_ROLES:
            problems.append(f"region applies only to regulator and inspector tokens, not {role}")
        elif why := region_problem(region):
            problems.append(f"region {region!r} {why}")
    if uscc is not None:
        if role != Role.ENTERPRISE:
            problems.append(f"uscc applies only to enterprise tokens, not {role}")
        elif why := uscc_problem(uscc):
            problems.append(f"uscc {uscc!r} {why}")
    return problems


def issue_token(
    settings: Settings,
    role: Role | str,
    *,
    subject: str | None = None,
    region: str | None = None,
    uscc: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> str:
    """A signed token for `role`; raises ValueError when the role's claims are missing or invalid."""
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; one of: {', '.join(Role)}") from None
    if problems := _claim_problems(role, region, uscc):
        raise ValueError("; ".join(problems))
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject or _default_subject(role, region, uscc),
        "iat": now,
        "exp": now + ttl_seconds,
        "role": str(role),
    }
    if region is not None:
        claims["region"] = region
    if uscc is not None:
        claims["uscc"] = uscc
    key = load_private_key(settings)
    kid = settings.jwt_key_id or thumbprint(key.public_key())
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


def _default_subject(role: Role, region: str | None, uscc: str | None) -> str:
    scope = region or uscc
    return f"{role}@{scope}" if scope else str(role)


VERIFIED_CACHE_SIZE = 10_000  # tokens remembered per process (about 2 MB)


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires: float  # the token's exp, seconds since the epoch
    kid: str | None
    key: Ed25519PublicKey  # the key that verified it; a hit counts only while this key is still trusted


class TokenVerifier:
    """Checks tokens against the service's keys (shared.jwks: a JWKS URL or file, else the public key file),
    issuer and audience."""

    def __init__(self, settings: Settings) -> None:
        if settings.jwt_jwks_url or settings.jwt_jwks_file:
            self._keys = KeySet(url=settings.jwt_jwks_url, file=settings.jwt_jwks_file)
        else:
            self._keys = KeySet(single=load_public_key(settings))
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()
        self._verified_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The principal the token names; raises `unauthenticated` saying what to fix.

        A token that verified is remembered (by its SHA-256, at most VERIFIED_CACHE_SIZE of them) until
        its expiry, as long as the key that verified it is still one of the service's keys: a client
        sends the same token on every call, and checking its Ed25519 signature again costs more than
        most reads it guards."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._verified_lock:
            hit = self._verified.get(digest)
            if hit is not None:
                self._verified.move_to_end(digest)
        if hit is not None and time.time() < hit.expires and self._still_trusted(hit):
            return hit.principal
        claims, key = self._decode(token)
        principal = self._principal(claims)
        kid = jwt.get_unverified_header(token).get("kid")
        remembered = _Verified(principal, float(claims["exp"]), kid if isinstance(kid, str) else None, key)  # type: ignore[arg-type]
        with self._verified_lock:
            self._verified[digest] = remembered
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def _still_trusted(self, hit: _Verified) -> bool:
        return any(key is hit.key for key in self._keys.candidates(hit.kid))

    def _principal(self, claims: dict[str, object]) -> Principal:
        role_claim = claims.get("role")
        if not isinstance(role_claim, str) or role_claim not in set(Role):
            raise unauthenticated(
                f"token role {role_claim!r} is not one of {', '.join(Role)}; {_GET_A_TOKEN}", INVALID_TOKEN
            )
        role = Role(role_claim)
        region, uscc, subject = claims.get("region"), claims.get("uscc"), claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise unauthenticated(f"token subject must be a non-empty string; {_GET_A_TOKEN}", INVALID_TOKEN)
        if not (region is None or isinstance(region, str)) or not (uscc is None or isinstance(uscc, str)):
            raise unauthenticated(f"token region and uscc must be strings; {_GET_A_TOKEN}", INVALID_TOKEN)
        if problems := _claim_problems(role, region, uscc):
            raise unauthenticated(f"token claims are invalid: {'; '.join(problems)}", INVALID_TOKEN)
        return Principal(subject=subject, role=role, region=region, uscc=uscc)

    def _decode(self, token: str) -> tuple[dict[str, object], Ed25519PublicKey]:
        """The verified claims and the key that verified them: the key the token names (every key for a
        token without `kid`)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise unauthenticated(
                f"bearer token is not a well-formed JWT; {_GET_A_TOKEN}", INVALID_TOKEN
            ) from None
        keys = self._keys.candidates(kid if isinstance(kid, str) else None)
        if not keys:
            raise unauthenticated(
                f"token was signed with key {str(kid)[:64]!r}, which this service does not know (removed in "
                f"a rotation, or not yet published); {_GET_A_TOKEN}",
                INVALID_TOKEN,
            )
        for key in keys[:-1]:
            try:
                return self._decode_with(token, key), key
            except IntegrityError as refused:
                if "signature does not verify" not in refused.message:
                    raise
        return self._decode_with(token, keys[-1]), keys[-1]

    def _decode_with(self, token: str, key: Ed25519PublicKey) -> dict[str, object]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["iss", "aud", "sub", "iat", "exp", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated(f"token expired{_expiry(token)}; {_GET_A_TOKEN}", "TOKEN_EXPIRED") from None
        except jwt.InvalidSignatureError:
            raise unauthenticated(
                "token signature does not verify: it was altered or signed by another key than this "
                f"stack's ({_GET_A_TOKEN})",
                INVALID_TOKEN,
            ) from None
        except jwt.InvalidAudienceError:
            raise unauthenticated(
                f"token is for another audience; this stack expects aud={self._audience!r}", INVALID_TOKEN
            ) from None
        except jwt.InvalidIssuerError:
            raise unauthenticated(
                f"token was issued by another issuer; this stack expects iss={self._issuer!r}",
                INVALID_TOKEN,
            ) from None
        except jwt.MissingRequiredClaimError as e:
            raise unauthenticated(
                f"token lacks the {e.claim!r} claim; {_GET_A_TOKEN}", INVALID_TOKEN
            ) from None
        except jwt.InvalidAlgorithmError:
            raise unauthenticated(f"token must be signed with {ALGORITHM}", INVALID_TOKEN) from None
        except jwt.ImmatureSignatureError:
            raise unauthenticated("token is not valid yet (iat/nbf in the future)", INVALID_TOKEN) from None
        except jwt.DecodeError:
            raise unauthenticated(
                f"bearer token is not a well-formed JWT; {_GET_A_TOKEN}", INVALID_TOKEN
            ) from None
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise unauthenticated(f"token is invalid ({e}); {_GET_A_TOKEN}", INVALID_TOKEN) from None


def _expiry(token: str) -> str:
    """' at <time>' from an expired token's exp claim, for the message; empty when unreadable."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        return f" at {datetime.fromtimestamp(exp, UTC).isoformat()}"
    except Exception:
        return ""
