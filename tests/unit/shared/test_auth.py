"""Tokens, principals and the enterprise read rule."""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.auth import (
    Principal,
    Role,
    TokenVerifier,
    acting_as,
    current_principal,
    issue_token,
    load_private_key,
    require_enterprise_read,
)
from shared.errors import ErrorKind, IntegrityError
from shared.settings import Settings
from shared.uscc import with_check_character

USCC = with_check_character("91610112MA6TXXXX0")
OTHER_USCC = with_check_character("91610303MA6TYYYY0")
MISTYPED_USCC = USCC[:-1] + ("1" if USCC.endswith("0") else "0")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(var_dir=tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="module")
def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(settings)


def expect_unauthenticated(verifier: TokenVerifier, token: str) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        verifier.verify(token)
    assert caught.value.kind is ErrorKind.UNAUTHENTICATED
    return caught.value


def raw_token(settings: Settings, **overrides: object) -> str:
    """A token signed with the stack's key but with claims chosen by the test (None removes a claim)."""
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "someone",
        "iat": now,
        "exp": now + 60,
        "role": "system",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, load_private_key(settings), algorithm="EdDSA")


@pytest.mark.parametrize(
    ("role", "scope", "expected"),
    [
        (Role.SYSTEM, {}, Principal("system", Role.SYSTEM)),
        (
            Role.REGULATOR,
            {"region": "610100"},
            Principal("regulator@610100", Role.REGULATOR, region="610100"),
        ),
        (
            Role.INSPECTOR,
            {"region": "610112"},
            Principal("inspector@610112", Role.INSPECTOR, region="610112"),
        ),
        (Role.INSPECTOR, {}, Principal("inspector", Role.INSPECTOR)),
        (Role.ENTERPRISE, {"uscc": USCC}, Principal(f"enterprise@{USCC}", Role.ENTERPRISE, uscc=USCC)),
        (Role.PUBLIC, {}, Principal("public", Role.PUBLIC)),
    ],
)
def test_token_round_trip(
    settings: Settings, verifier: TokenVerifier, role: Role, scope: dict, expected: Principal
) -> None:
    assert verifier.verify(issue_token(settings, role, **scope)) == expected


def test_subject_is_kept(settings: Settings, verifier: TokenVerifier) -> None:
    token = issue_token(settings, "regulator", region="610000", subject="wang.li")
    assert verifier.verify(token).subject == "wang.li"


def test_keys_are_generated_once_with_a_private_key_only_the_owner_reads(settings: Settings) -> None:
    issue_token(settings, Role.SYSTEM)
    assert stat.S_IMODE(os.stat(settings.private_key_path).st_mode) == 0o600
    first = settings.private_key_path.read_bytes()
    issue_token(settings, Role.SYSTEM)
    assert settings.private_key_path.read_bytes() == first
    assert settings.public_key_path.exists()


def test_processes_starting_together_agree_on_one_key(tmp_path) -> None:
    fresh = Settings(var_dir=tmp_path)
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_private_key(fresh).private_bytes_raw(), range(16)))
    assert len(set(keys)) == 1
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["jwt-ed25519.pem", "jwt-ed25519.pub.pem"]
    assert TokenVerifier(fresh).verify(issue_token(fresh, Role.SYSTEM)).role is Role.SYSTEM


@pytest.mark.parametrize(
    ("role", "scope", "complaint"),
    [
        (Role.REGULATOR, {}, "regulator token needs a region"),
        (Role.REGULATOR, {"region": "99"}, "six digits"),
        (Role.ENTERPRISE, {}, "needs the enterprise's USCC"),
        (Role.ENTERPRISE, {"uscc": MISTYPED_USCC}, "check character"),
        (Role.SYSTEM, {"region": "610100"}, "region applies only"),
        (Role.REGULATOR, {"region": "610100", "uscc": USCC}, "uscc applies only"),
        ("auditor", {}, "unknown role"),
    ],
)
def test_issue_token_rejects_missing_or_invalid_claims(
    settings: Settings, role: Role | str, scope: dict, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        issue_token(settings, role, **scope)


def test_expired_token(settings: Settings, verifier: TokenVerifier) -> None:
    token = raw_token(settings, iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    err = expect_unauthenticated(verifier, token)
    assert err.reason == "TOKEN_EXPIRED"
    assert "expired at" in err.message and "integrity token" in err.message


def test_tampered_token(settings: Settings, verifier: TokenVerifier) -> None:
    header, payload, signature = issue_token(settings, Role.REGULATOR, region="610100").split(".")
    forged_claims = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b"610100", b"610000")
    ).decode()
    err = expect_unauthenticated(verifier, f"{header}.{forged_claims}.{signature}")
    assert "signature does not verify" in err.message


def test_token_signed_by_another_key(settings: Settings, verifier: TokenVerifier, tmp_path) -> None:
    other = Settings(var_dir=tmp_path)
    err = expect_unauthenticated(verifier, issue_token(other, Role.SYSTEM))
    assert "which this service does not know" in err.message  # its kid names the other key
    forged = issue_token(other, Role.SYSTEM, subject="x")
    unnamed = jwt.encode(
        jwt.decode(forged, options={"verify_signature": False}), load_private_key(other), "EdDSA"
    )
    assert "signature" in expect_unauthenticated(verifier, unnamed).message  # no kid: tried, does not verify


def test_wrong_audience(settings: Settings, verifier: TokenVerifier) -> None:
    err = expect_unauthenticated(verifier, raw_token(settings, aud="someone-else"))
    assert "aud='integrity'" in err.message


def test_unsigned_token_is_refused(settings: Settings, verifier: TokenVerifier) -> None:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "x",
        "iat": now,
        "exp": now + 60,
    }
    expect_unauthenticated(verifier, jwt.encode({**claims, "role": "system"}, None, algorithm="none"))


@pytest.mark.parametrize("claim", ["exp", "sub", "role", "aud", "iss", "iat"])
def test_missing_claim(settings: Settings, verifier: TokenVerifier, claim: str) -> None:
    err = expect_unauthenticated(verifier, raw_token(settings, **{claim: None}))
    assert claim in err.message


@pytest.mark.parametrize(
    ("claims", "complaint"),
    [
        ({"role": "root"}, "is not one of"),
        ({"role": "regulator"}, "needs a region"),
        ({"role": "regulator", "region": "000000"}, "provincial-level"),
        ({"role": "enterprise", "uscc": "not-a-uscc"}, "uscc"),
        ({"role": "enterprise", "uscc": 42}, "must be strings"),
    ],
)
def test_invalid_role_claims(
    settings: Settings, verifier: TokenVerifier, claims: dict, complaint: str
) -> None:
    assert complaint in expect_unauthenticated(verifier, raw_token(settings, **claims)).message


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text() | st.from_regex(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", fullmatch=True))
def test_arbitrary_strings_are_only_ever_unauthenticated(verifier: TokenVerifier, token: str) -> None:
    expect_unauthenticated(verifier, token)


# --- who may read an enterprise -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "region_code"),
    [
        (Principal("gov", Role.SYSTEM), "610112"),
        (Principal("gov", Role.SYSTEM), None),
        (Principal("r", Role.REGULATOR, region="610112"), "610112"),
        (Principal("r", Role.REGULATOR, region="610100"), "610112"),  # a city holds its districts
        (Principal("r", Role.REGULATOR, region="610000"), "610112"),  # a province holds everything in it
        (Principal("i", Role.INSPECTOR, region="610100"), "610103"),
        (Principal("e", Role.ENTERPRISE, uscc=USCC), "610112"),
        (Principal("e", Role.ENTERPRISE, uscc=USCC), None),
    ],
)
def test_enterprise_read_allowed(principal: Principal, region_code: str | None) -> None:
    require_enterprise_read(principal, USCC, region_code)


@pytest.mark.parametrize(
    ("principal", "region_code"),
    [
        (Principal("r", Role.REGULATOR, region="610112"), "610100"),  # a district does not hold its city
        (Principal("r", Role.REGULATOR, region="610100"), "610303"),  # another city
        (Principal("r", Role.REGULATOR, region="620000"), "610112"),  # another province
        (Principal("r", Role.REGULATOR, region="610100"), None),  # region unknown: cannot prove it is theirs
        (Principal("i", Role.INSPECTOR), "610112"),  # inspector without a region
        (Principal("e", Role.ENTERPRISE, uscc=OTHER_USCC), "610112"),
        (Principal.public(), "610112"),
    ],
)
def test_enterprise_read_denied(principal: Principal, region_code: str | None) -> None:
    with pytest.raises(IntegrityError) as caught:
        require_enterprise_read(principal, USCC, region_code)
    assert caught.value.kind is ErrorKind.PERMISSION_DENIED


def test_current_principal_is_public_outside_a_call() -> None:
    assert current_principal() == Principal.public() == Principal("anonymous", Role.PUBLIC)
    regulator = Principal("r", Role.REGULATOR, region="610100")
    with acting_as(regulator):
        assert current_principal() == regulator
    assert current_principal().role is Role.PUBLIC


# --- verified tokens are remembered -------------------------------------------------------------------


def test_a_token_verified_once_is_not_checked_again_until_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(settings)
    token = issue_token(settings, Role.REGULATOR, region="610100", ttl_seconds=60)
    checks = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: checks.append(1) or real_decode(*a, **k))
    first = verifier.verify(token)
    assert [verifier.verify(token) for _ in range(5)] == [first] * 5
    assert len(checks) == 1  # the signature was checked once

    # Past its exp the remembered token is checked again.
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token)
    assert len(checks) == 2


def test_a_remembered_token_is_refused_once_it_has_expired(settings: Settings) -> None:
    verifier = TokenVerifier(settings)
    token = issue_token(settings, Role.SYSTEM, ttl_seconds=1)
    assert verifier.verify(token).role is Role.SYSTEM
    time.sleep(1.2)
    assert expect_unauthenticated(verifier, token).reason == "TOKEN_EXPIRED"


def test_remembered_tokens_are_bounded_and_a_refused_token_is_never_remembered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.auth

    monkeypatch.setattr(shared.auth, "VERIFIED_CACHE_SIZE", 3)
    verifier = TokenVerifier(settings)
    tokens = [issue_token(settings, Role.SYSTEM, subject=f"system-{i}") for i in range(5)]
    assert [verifier.verify(t).subject for t in tokens] == [f"system-{i}" for i in range(5)]
    assert len(verifier._verified) == 3
    forged = tokens[0][:-4] + ("AAAA" if not tokens[0].endswith("AAAA") else "BBBB")
    expect_unauthenticated(verifier, forged)
    expect_unauthenticated(verifier, forged)  # refused again: nothing about it was remembered
    assert len(verifier._verified) == 3
