"""`mutua demo`: a small synthetic mutual on SQLite and PostgreSQL, deterministic, balanced,
with logins that work through the API."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mutua.catalog.models import Product, Project, SalePeriod
from mutua.dates import Quarter, today
from mutua.db import make_engine, session_factory
from mutua.demo import builder
from mutua.ledger import service as ledger_service
from mutua.members.idcard import id_problem
from mutua.members.models import Member
from mutua.policies.models import Policy
from mutua.settings import get_settings

MEMBERS = 500
TODAY = today()


@pytest.fixture
def demo(engine):
    """The core demo (catalogue, members, policies, logins) in the test database."""
    return builder.build(seed=5, members=MEMBERS, fresh=False, url=engine.test_url,
                         today=TODAY, domain_steps=())


def digest(db) -> str:
    """A fingerprint of what the demo stored (not of timestamps)."""
    h = hashlib.sha256()
    for row in db.execute(select(Member.member_number, Member.name, Member.id_number,
                                 Member.phone, Member.occupation_code, Member.city,
                                 Member.birth_date).order_by(Member.member_number)):
        h.update(repr(tuple(row)).encode())
    for row in db.execute(select(Policy.policy_number, Member.member_number, Product.code,
                                 SalePeriod.code, Policy.enrolled_on, Policy.cover_start,
                                 Policy.cover_end, Policy.premium, Policy.coefficient)
                          .join(Member, Member.id == Policy.member_id)
                          .join(Product, Product.id == Policy.product_id)
                          .join(SalePeriod, SalePeriod.id == Policy.period_id)
                          .order_by(Policy.policy_number)):
        *rest, coefficient = row
        h.update(repr((*rest, f"{Decimal(coefficient):.4f}")).encode())
    for books in ledger_service.trial_balance(db):
        h.update(repr([(a.code, str(a.balance)) for a in books.accounts]).encode())
    return h.hexdigest()


def test_small_demo_has_the_projects_members_periods_and_books(demo, db):
    assert demo["members"] == MEMBERS and demo["projects"] >= 10
    codes = set(db.scalars(select(Project.code)))
    assert {"SZ-NEWCITIZEN", "SILVER", "CHILD", "TRUCK", "FARMER", "LIVER", "LOWINCOME",
            "KIDNEY", "RIDER", "BUILDER"} <= codes
    assert db.scalar(select(func.count()).select_from(Member)) == MEMBERS
    assert all(id_problem(n) is None for n in db.scalars(select(Member.id_number)))
    # Occupations follow the project: riders and couriers in RIDER, pupils in CHILD.
    rider_jobs = set(db.scalars(select(Member.occupation_code).join(Policy)
                                .join(Project, Project.id == Policy.project_id)
                                .where(Project.code == "RIDER")))
    assert rider_jobs <= {"F0601", "E0501", "D0404"} and "F0601" in rider_jobs
    # Enrolments in four closed quarterly periods and the open one.
    periods = set(db.scalars(select(SalePeriod.code).join(Policy, Policy.period_id == SalePeriod.id)))
    current = Quarter.of(TODAY)
    closed = {str(q) for q in [current.previous(), current.previous().previous()]}
    assert str(current) in periods and closed <= periods and len(periods) >= 5
    ended = db.scalars(select(SalePeriod.sale_end).where(SalePeriod.code.in_(periods)))
    assert sum(1 for end in ended if end < TODAY) >= 4
    assert db.scalar(select(func.count()).select_from(Policy)) == demo["policies"] >= MEMBERS
    # Premiums are in the books and every project's trial balance is zero.
    books = ledger_service.trial_balance(db)
    assert all(b.total == 0 for b in books)
    cash = sum(a.balance for b in books for a in b.accounts if a.code == "cash")
    assert cash == Decimal(demo["premium_total"])


def test_uniform_premium_and_coefficients_by_age_and_class(demo, db):
    rows = db.execute(select(Policy.premium, Policy.occupation_class, Policy.age_at_start,
                             Policy.coefficient).join(Product, Product.id == Policy.product_id)
                      .where(Product.code == "SZNC-BASIC")).all()
    assert {premium for premium, *_ in rows} == {Decimal("36.00")}
    young = {cls: Decimal(c) for _, cls, age, c in rows if age <= 45}
    expected = {1: "1", 2: "0.667", 3: "0.5", 4: "0.333", 5: "0.2", 6: "0.125"}
    assert {cls: Decimal(expected[cls]) for cls in young} == young


def test_the_same_seed_builds_the_same_mutual(demo, db, tmp_path):
    again = tmp_path / "again.db"
    builder.build(seed=5, members=MEMBERS, url=f"sqlite:///{again}", today=TODAY,
                  domain_steps=())
    engine = make_engine(f"sqlite:///{again}")
    with session_factory(engine)() as other:
        assert digest(other) == digest(db)
    engine.dispose()


def test_a_different_seed_builds_a_different_mutual(demo, db, tmp_path):
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    builder.build(seed=6, members=MEMBERS, url=other_url, today=TODAY, domain_steps=())
    engine = make_engine(other_url)
    with session_factory(engine)() as other:
        assert digest(other) != digest(db)
    engine.dispose()


def test_demo_logins_work_through_the_api(demo, client):
    logins = demo["logins"]
    assert {s["role"] for s in logins["staff"]} == {
        "admin", "underwriter", "claims", "finance", "actuary", "care", "secretary"}
    for staff in logins["staff"]:
        r = client.post("/api/v1/auth/token", data={"username": staff["username"],
                                                    "password": logins["password"]})
        assert r.status_code == 200, staff
    assert len(logins["members"]) >= 3
    for m in logins["members"][:3]:
        r = client.post("/api/v1/auth/token", data={"username": m["username"],
                                                    "password": logins["password"]})
        assert r.status_code == 200
        me = client.get("/api/v1/members/me",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert me.status_code == 200 and me.json()["member_number"] == m["username"]
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong-one"})
    assert r.status_code == 401


@pytest.mark.slow
def test_full_demo_runs_every_domain_step_and_the_books_still_balance(engine, db):
    summary = builder.build(seed=9, members=300, fresh=False, url=engine.test_url,
                            today=TODAY)
    for name in builder.DOMAIN_STEPS:
        if name in summary:
            assert isinstance(summary[name], dict)
    db.expire_all()
    assert all(b.total == 0 for b in ledger_service.trial_balance(db))
    # The last renewal: most renewed, some declined or let their offer expire; offers now.
    renewals = summary["premiums"]["renewals"]
    history = renewals["history"]
    ended = sum(history.values())
    assert history["renewed"] and ended > history["renewed"]
    assert 0.5 < history["renewed"] / ended < 0.95
    assert renewals["offered"] >= renewals["auto_renew"] + renewals["declined"]


def test_mutua_demo_command(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "DOMAIN_STEPS", ())  # the command's wiring, not the domains
    monkeypatch.setenv("MUTUA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        from mutua.cli import app

        r = CliRunner().invoke(app, ["demo", "--seed", "3", "--members", "120", "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["members"] == 120 and out["projects"] >= 10 and out["seconds"] >= 0
        assert out["logins"]["password"] == builder.DEMO_PASSWORD
    finally:
        get_settings.cache_clear()


def test_mutua_demo_ends_with_the_table_of_sign_ins(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "DOMAIN_STEPS", ())  # without them: policyholders to be
    monkeypatch.setenv("MUTUA_DATABASE_URL", f"sqlite:///{tmp_path / 'table.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        from mutua.cli import app

        r = CliRunner().invoke(app, ["demo", "--seed", "3", "--members", "120"])
        assert r.exit_code == 0, r.output
        table = r.output[r.output.index("Demo sign-ins"):]
        assert "Member number" in table and "Phone" in table and "What it shows" in table
        engine = make_engine(f"sqlite:///{tmp_path / 'table.db'}")
        with session_factory(engine)() as db:
            from mutua.auth.models import User

            people = db.execute(select(Member.member_number, Member.phone).join(
                User, User.member_id == Member.id)).all()
        engine.dispose()
        assert len(people) == 8  # one per project with cover today
        for number, phone in people:
            assert re.search(rf"{number}\s.*{re.escape(phone)}.*A policy in force today", table)
    finally:
        get_settings.cache_clear()


def test_fewer_than_one_member_is_refused(tmp_path):
    from mutua.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        builder.build(members=0, url=f"sqlite:///{tmp_path / 'x.db'}")
