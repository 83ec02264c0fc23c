"""`integrity token` prints tokens the stack accepts, and says what is missing otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from operations.cli import main
from shared.auth import Principal, Role, TokenVerifier
from shared.settings import Settings, get_settings
from shared.uscc import with_check_character


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INTEGRITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_printed_token_verifies(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "regulator", "--region", "610100", "--subject", "wang.li"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(Settings(var_dir=var_dir)).verify(token)
    assert principal == Principal("wang.li", Role.REGULATOR, region="610100")


def test_enterprise_token(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uscc = with_check_character("91610112MA6TXXXX0")
    assert main(["token", "--role", "enterprise", "--uscc", uscc, "--ttl", "60"]) == 0
    principal = TokenVerifier(Settings(var_dir=var_dir)).verify(capsys.readouterr().out.strip())
    assert (principal.role, principal.uscc) == (Role.ENTERPRISE, uscc)


def test_missing_region_is_explained(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "regulator"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "needs a region" in captured.err


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("integrity")
    env = {**os.environ, "INTEGRITY_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [script, "token", "--role", "system"], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert TokenVerifier(Settings(var_dir=tmp_path)).verify(result.stdout.strip()).role is Role.SYSTEM


def test_jwks_publishes_the_key_tokens_name(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import jwt

    assert main(["token", "--role", "system"]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["jwks"]) == 0
    document = capsys.readouterr().out
    (var_dir / "jwks.json").write_text(document)
    assert [key["kid"] for key in json.loads(document)["keys"]] == [jwt.get_unverified_header(token)["kid"]]
    verifier = TokenVerifier(Settings(var_dir=var_dir, jwt_jwks_file=var_dir / "jwks.json"))
    assert verifier.verify(token).role == Role.SYSTEM
    assert main(["jwks", str(var_dir / "jwks.json")]) == 2  # not a PEM key
