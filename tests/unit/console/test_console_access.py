"""Every console route refuses a role that may not use it, before any service is called (the services are
not even running here); forms need the session's CSRF token; every response carries the CSP; a token
that expired sends the person to sign in and back; production refuses the local sign-in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.app import CONTENT_SECURITY_POLICY, build_app
from console.settings import ConsoleSettings, Mode
from console.web import PUBLIC, ROUTE_ROLES, safe_next
from shared.auth import Role, issue_token
from shared.settings import Settings
from tests.helpers import free_port, valid_uscc

MINE, THEIRS = valid_uscc(1, "610113"), valid_uscc(2, "610113")
CLAIMS = {
    Role.REGULATOR: {"region": "610100"},
    Role.INSPECTOR: {"region": "610100", "subject": "inspectors/XA001"},
    Role.ENTERPRISE: {"uscc": MINE},
}
PARAMS = {
    "uscc": MINE,
    "code": "CMT-2222222222",
    "plan_id": "p1",
    "appeal_id": "a1",
    "complaint_id": "c1",
    "action": "accept",
    "inspection_id": "i1",
    "commitment_id": "m1",
    "application_id": "r1",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Services that listen nowhere: a route that called one would fail, not pass."""
    ports = {f"{name}_port": free_port() for name in ("enterprises", "complaints", "inspections", "scoring")}
    return Settings(var_dir=tmp_path, **ports)


def client_for(settings: Settings, mode: Mode = Mode.LOCAL) -> TestClient:
    # Production sessions are Secure cookies: only sent back over HTTPS.
    base = "https://testserver" if mode == Mode.PRODUCTION else "http://testserver"
    return TestClient(build_app(settings, ConsoleSettings(mode=mode)), base_url=base, follow_redirects=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as test_client:
        yield test_client


def csrf(client: TestClient) -> str:
    page = client.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in_as(client: TestClient, settings: Settings, role: Role) -> str:
    token = issue_token(settings, role, **CLAIMS[role])  # type: ignore[arg-type]
    response = client.post("/sign-in/token", data={"token": token, "csrf_token": csrf(client), "next": "/"})
    assert response.status_code == 303, response.text
    return csrf(client)


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PARAMS[m.group(1)], path)


ROLES = (Role.PUBLIC, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_every_route_refuses_the_roles_that_may_not_use_it(
    client: TestClient, settings: Settings, role: Role
) -> None:
    token = sign_in_as(client, settings, role) if role != Role.PUBLIC else csrf(client)
    refused = 0
    for (method, path), allowed in sorted(ROUTE_ROLES.items()):
        if not PUBLIC.isdisjoint(allowed) or role in allowed:
            continue
        url = concrete(path)
        response = client.request(method, url, data={"csrf_token": token} if method == "POST" else None)
        if role == Role.PUBLIC:
            assert response.status_code == 303, (method, url)
            assert response.headers["location"].startswith("/sign-in?next=")
        else:
            assert response.status_code == 403, (method, url, response.status_code)
            assert "无权" in response.text
        refused += 1
    assert refused >= 10  # each role is kept out of the other roles' pages


def test_the_route_table_covers_every_page_and_no_person_page_is_public() -> None:
    assert {path for _, path in ROUTE_ROLES} >= {
        "/regulator/risk",
        "/inspector",
        "/enterprise/{uscc}",
        "/results",
    }
    for (_, path), allowed in ROUTE_ROLES.items():
        if path.startswith(("/regulator", "/inspector", "/enterprise")):
            assert allowed.isdisjoint({Role.PUBLIC, Role.SYSTEM}), path


def test_forms_need_the_session_csrf_token(client: TestClient, settings: Settings) -> None:
    sign_in_as(client, settings, Role.ENTERPRISE)
    for token in ("", "forged"):
        response = client.post(f"/enterprise/{MINE}/commitment", data={"csrf_token": token, "items": "x"})
        assert response.status_code == 403
    # Sign-in itself is a form: a cross-site post cannot sign a person in as someone else.
    response = client.post("/sign-in", data={"role": "regulator", "region": "610100"})
    assert response.status_code == 403


def test_every_response_carries_the_security_headers_and_the_session_cookie_is_guarded(
    client: TestClient, settings: Settings
) -> None:
    for path in ("/", "/sign-in", "/codes", "/nowhere", "/static/console.css"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    token = issue_token(settings, Role.REGULATOR, region="610100")
    response = client.post("/sign-in/token", data={"token": token, "csrf_token": csrf(client)})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_an_expired_session_signs_in_again_and_returns(client: TestClient, settings: Settings) -> None:
    import jwt

    claims = jwt.decode(
        issue_token(settings, Role.REGULATOR, region="610100"), options={"verify_signature": False}
    )
    expired = jwt.encode({**claims, "exp": 1}, _private_key(settings), algorithm="EdDSA")
    client.cookies.clear()
    token = csrf(client)
    response = client.post("/sign-in/token", data={"token": expired, "csrf_token": token})
    assert response.status_code == 401 and "expired" in response.text
    # A session whose token expires meanwhile: the next page sends the person to sign in, then back.
    short = issue_token(settings, Role.REGULATOR, region="610100", ttl_seconds=1)
    assert client.post("/sign-in/token", data={"token": short, "csrf_token": csrf(client)}).status_code == 303
    time.sleep(2.1)  # the token's one second (exp is in whole seconds) is over
    response = client.get("/regulator/risk?level=GRADE_LEVEL_D")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/regulator/risk%3Flevel%3DGRADE_LEVEL_D&expired=1"


def test_production_refuses_the_local_sign_in(settings: Settings) -> None:
    with client_for(settings, Mode.PRODUCTION) as client:
        page = client.get("/sign-in")
        assert "identity provider" in page.text.lower() or "统一身份认证" in page.text
        assert 'action="/sign-in" class="form"' not in page.text
        token = csrf(client)
        response = client.post(
            "/sign-in", data={"csrf_token": token, "role": "regulator", "region": "610100"}
        )
        assert response.status_code == 403
        valid = issue_token(settings, Role.REGULATOR, region="610100")
        assert client.post("/sign-in/token", data={"token": valid, "csrf_token": token}).status_code == 303


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/regulator/risk?level=A", "/regulator/risk?level=A"), ("//evil.example", "/"), ("https://evil", "/"),
     ("/\\evil", "/"), ("", "/"), (None, "/")],
)  # fmt: skip
def test_next_stays_on_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def _private_key(settings: Settings):
    from shared.auth import load_private_key

    return load_private_key(settings)
