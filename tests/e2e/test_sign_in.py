"""Sign-in end to end: `streamlit run app.py` with `[auth]` in .streamlit/secrets.toml, a real
browser, and a small OpenID Connect provider standing in for Google or Entra ID.

The browser goes through Streamlit's own st.login: the provider's sign-in redirect, the code
exchange, the signed id_token, the identity cookie; the app then maps the e-mail address to
the stored user. A program manager sees only their own program; an address that is not
registered sees nothing; logging out returns to the sign-in page.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.sync_api import Page, expect

from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Role
from services.database import open_database
from services.review_file import parse_review_data
from services.review_import import import_review_file
from tests.e2e.conftest import AppServer, free_port, screenshot, wait_for_app

CLIENT_ID, CLIENT_SECRET = "fidelity-test-client", "fidelity-test-secret"
OWN, OTHER = "Own GOI Team", "Other GOI Team"


class FakeProvider:
    """Just enough OpenID Connect (discovery, authorize, token, JWKS) for Authlib's code flow.
    `email` is who the next sign-in is."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test"}, private=True)
        self.email = "nobody@agency.org"
        self.codes: dict[str, dict[str, Any]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def send_json(self, value: Any) -> None:
                body = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self.send_json(provider.metadata())
                elif url.path == "/jwks":
                    self.send_json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":  # the user "signs in" at once
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"nonce": query.get("nonce"), "email": provider.email}
                    target = f"{query['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                grant = provider.codes.pop(form.get("code", ""), None)
                if self.path != "/token" or grant is None:
                    self.send_error(400)
                    return
                self.send_json(
                    {
                        "access_token": "access",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "id_token": provider.id_token(grant["email"], grant["nonce"]),
                    }
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def id_token(self, email: str, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": email,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "email": email,
            "email_verified": True,
            "name": email.split("@")[0].title(),
        }
        return jwt.encode({"alg": "RS256", "kid": "test"}, claims, self.key)


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    fake.thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def signed_in_app(tmp_path: Path, provider: FakeProvider) -> Iterator[AppServer]:
    """The app with `[auth]` configured for the fake provider, on a database with two programs
    and a program manager of one of them."""
    url = f"sqlite:///{tmp_path / 'fidelity.db'}"
    with open_database(url) as db:
        for name, ratings in ((OWN, (4, 3)), (OTHER, (5, 2))):
            for year, rating in zip((2024, 2025), ratings, strict=True):
                data = {
                    "scale": "goi",
                    "date": dt.date(year, 3, 1),
                    "items": {f"G{i}": {"rating": rating} for i in range(1, 13)},
                }
                import_review_file(db, parse_review_data(data, db.registry), program=name, actor=LOCAL_ADMIN)
        own = svc.find_program(db, OWN, actor=LOCAL_ADMIN)
        assert own is not None
        users.add_user(
            db, "pm@agency.org", role=Role.PROGRAM_MANAGER, program_ids=[own.id], actor=LOCAL_ADMIN
        )
    server = AppServer(url, tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{server.url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    server.start()
    yield server
    server.kill()


def sign_in(page: Page, server: AppServer) -> None:
    page.goto(server.url)
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/**")
    wait_for_app(page)


def test_a_program_manager_signs_in_and_sees_only_their_program(
    signed_in_app: AppServer, provider: FakeProvider, page: Page
) -> None:
    page.goto(signed_in_app.url)
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text(OWN)).to_have_count(0)
    screenshot(page, "sign-in-page")

    provider.email = "pm@agency.org"
    sign_in(page, signed_in_app)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("pm@agency.org")).to_be_visible()
    expect(sidebar.get_by_text("Program manager")).to_be_visible()
    expect(page.get_by_role("heading", name="Reviews", level=1)).to_be_visible()
    expect(page.get_by_text("Start a review")).to_have_count(0)
    for path in ("", "/programs", "/drift", "/compare"):
        page.goto(f"{signed_in_app.url}{path}")
        wait_for_app(page)
        expect(page.get_by_test_id("stMain")).to_contain_text(OWN)  # tables' cells count too
        assert OTHER not in page.content(), path
    screenshot(page, "signed-in-program-manager-compare")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Import")).to_have_count(0)
    expect(nav.get_by_text("Rate")).to_have_count(0)

    sidebar.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{signed_in_app.url}/**")
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_unregistered_address_sees_nothing(
    signed_in_app: AppServer, provider: FakeProvider, page: Page
) -> None:
    provider.email = "stranger@elsewhere.org"
    sign_in(page, signed_in_app)
    expect(page.get_by_role("heading", name="Not registered")).to_be_visible()
    expect(page.get_by_text("stranger@elsewhere.org is not registered")).to_be_visible()
    assert OWN not in page.content() and OTHER not in page.content()
