"""Helpers for page tests: read the CSRF token off a page, sign in through the form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.db import make_engine, session_factory
from mutua.demo import builder
from mutua.members import accounts
from mutua.settings import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct-horse-9"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form token"
    return match.group(1)


def post_form(client, path: str, data: dict, *, from_page: str | None = None, **kw):
    """POST a page form with the token of the page it sits on."""
    page = client.get(from_page or path)
    headers = {"referer": f"http://testserver{from_page or path}", **kw.pop("headers", {})}
    return client.post(path, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False, headers=headers, **kw)


def sign_in(client, login: str, password: str = PASSWORD):
    response = post_form(client, "/signin", {"login": login, "password": password})
    assert response.status_code == 303, response.text[:500]
    return response


@pytest.fixture
def staff_user(db):
    """Make a staff login with a role: ``staff_user(Role.CLAIMS)`` -> username."""

    def make(role: Role, username: str | None = None) -> str:
        name = username or f"{role.value}-user"
        accounts.create_user(db, username=name, password=PASSWORD, role=role)
        db.commit()
        return name

    return make


def pay_after_preview(client, project: str):
    """Run a payment batch as a handler does: open its preview, then confirm what it shows."""
    preview = client.get(f"/staff/claims/payments/preview?project={project}")
    assert preview.status_code == 200, preview.text[-800:]
    hidden = dict(re.findall(r'<input type="hidden" name="(expected_\w+)" value="([^"]*)"',
                             preview.text))
    return client.post("/staff/claims/payments", data={
        "csrf_token": csrf_of(preview.text), "project": project, **hidden},
        headers={"referer": str(preview.url)}, follow_redirects=False)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """A small demo with all its domain steps, served: (app, the demo password, the sign-ins
    of every staff role and demo member). Built once per test process."""
    folder = tmp_path_factory.mktemp("zh-demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    summary = builder.build(seed=5, members=300, url=url)
    from mutua.web.app import create_app

    settings = Settings(database_url=url, upload_dir=folder / "uploads",
                        login_attempts_per_minute=10_000,
                        login_attempts_per_minute_per_address=10_000)
    engine = make_engine(url)
    with session_factory(engine)() as db:
        logins = [u.username for u in db.scalars(select(User).order_by(User.id))
                  if u.role != "member"]
    logins += [m["username"] for m in summary["logins"]["members"]]
    yield create_app(settings, engine=engine), summary["logins"]["password"], logins
    engine.dispose()
