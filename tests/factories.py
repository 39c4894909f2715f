"""Builders for tests: a project with an accident product, members, policies, signed-in callers.

Everything goes through the services, so what tests arrange is what the system would store.
Call ``db.commit()`` after arranging when the API (another session) must see the data.
"""

from __future__ import annotations

import functools
import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua import wiring  # noqa: F401  (a script that builds data with these needs the hooks)
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, credentials_stamp, hash_password, issue_token
from mutua.catalog import service as catalog_service
from mutua.dates import today as shanghai_today
from mutua.ledger import service as ledger_service
from mutua.members import accounts
from mutua.members import service as members_service
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from mutua.members.schemas import MemberIn
from mutua.policies import service as policies_service
from mutua.policies.models import Policy

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


def accident_definition(*, code: str = "TEST-ACC", sale_start: date, sale_end: date,
                        cover_start: date | None = None, premium: str = "36.50",
                        classes: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
                        min_age: int = 16, max_age: int = 65, waiting_days: int = 0) -> dict:
    """A uniform-premium accident product like 深圳众惠保, as a definition mapping.

    Its pure risk rates are priced for the premium (they scale with it from 36.50), at an
    expected loss ratio of 0.9, so the catalogue's cost check passes even with a benefit
    some tests add.
    """
    rel = {1: "1", 2: "0.667", 3: "0.5", 4: "0.333", 5: "0.2", 6: "0.125"}
    mid = (min_age + max_age) // 2
    scale = Decimal(premium) / Decimal("36.50")

    def rate(at_36_50: str) -> str:
        return f"{(Decimal(at_36_50) * scale).quantize(Decimal('1e-8')).normalize():f}"
    return {
        "project": {"code": code, "name_zh": "测试意外项目", "name_en": "Test accident pool",
                    "target_group": "new citizens", "reserving_method": "bf",
                    "a_priori_loss_ratio": "0.60"},
        "products": [{
            "code": f"{code}-1", "name_zh": "测试意外险", "name_en": "Test accident cover",
            "line": "accident", "uniform_premium": premium, "term_days": 365,
            "min_age": min_age, "max_age": max_age, "allowed_classes": list(classes),
            "waiting_days": waiting_days, "expense_loading": "0.15",
            "reporting_pattern": ["0.15", "0.04", "0.01", "0"],
            "expected_loss_ratio": "0.9", "exclusions": ["drunk_driving", "self_harm", "war"],
            "benefits": [
                {"code": "death", "kind": "accidental_death", "name_zh": "意外身故",
                 "name_en": "Accidental death", "base_sum_insured": "100000",
                 "pure_risk_rate": rate("0.00006")},
                {"code": "disability", "kind": "disability", "name_zh": "意外伤残",
                 "name_en": "Accidental disability", "base_sum_insured": "100000",
                 "pure_risk_rate": rate("0.00004"), "shares_sum_insured_with": "death"},
                {"code": "medical", "kind": "accidental_medical", "name_zh": "意外医疗",
                 "name_en": "Accidental medical", "base_sum_insured": "10000",
                 "pure_risk_rate": rate("0.0012"), "deductible": "100",
                 "coinsurance_with_social": "0.9", "coinsurance_without_social": "0.6"},
                {"code": "sudden_death", "kind": "sudden_death", "name_zh": "猝死",
                 "name_en": "Sudden death", "base_sum_insured": "50000",
                 "pure_risk_rate": rate("0.00003")},
                {"code": "hospital", "kind": "hospital_allowance", "name_zh": "住院津贴",
                 "name_en": "Hospital allowance", "base_sum_insured": "4500",
                 "pure_risk_rate": rate("0.0006"), "daily_amount": "50", "max_days": 90},
            ],
            "coefficients": {
                "classes": list(classes),
                "bands": [
                    {"ages": [min_age, mid], "row": [rel[c] for c in classes]},
                    {"ages": [mid + 1, max_age],
                     "row": [str(round(float(rel[c]) * 0.8, 3)) for c in classes]},
                ],
            },
            "periods": [{"code": "P1", "sale_start": sale_start.isoformat(),
                         "sale_end": sale_end.isoformat(),
                         "cover_start": (cover_start or sale_start).isoformat()}],
        }],
    }


def accident_project(db: Session, *, code: str = "TEST-ACC", today: date | None = None, **kw):
    """A project with product ``{code}-1`` whose period ``P1`` is on sale around ``today``."""
    today = today or shanghai_today()
    defn = catalog_service.check_definition(accident_definition(
        code=code, sale_start=kw.pop("sale_start", today - timedelta(days=30)),
        sale_end=kw.pop("sale_end", today + timedelta(days=30)), **kw))
    catalog_service.load_definition(db, defn=defn, actor=SYSTEM)
    return catalog_service.get_product(db, code=f"{code}-1")


def member(db: Session, *, birth: date = date(1990, 5, 17), sex: str = "F",
           occupation: str = "A0103", city: str = "深圳", name: str = "测试会员",
           login: bool = False) -> Member:
    n = next(_seq)
    # cycles through 499 sequence numbers per sex and birth date, skipping 000 (not valid),
    # so no two of 499 consecutive members share an ID number
    seq = 2 + (2 * n) % 998 if sex == "F" else 1 + (2 * n) % 998
    id_number = make_id_number("440305", birth, seq)
    phone = f"+86139{n:08d}"
    data = MemberIn(name=name, id_number=id_number, phone=phone, occupation_code=occupation,
                    city=city, password=PASSWORD if login else None)
    return members_service.register(db, data=data, actor=SYSTEM)


def policy(db: Session, *, member: Member, product_code: str = "TEST-ACC-1",
           period_code: str = "P1", on: date | None = None) -> Policy:
    return policies_service.enrol(db, member_id=member.id, product_code=product_code,
                                  period_code=period_code, actor=SYSTEM, on=on)


@functools.lru_cache(maxsize=1)
def _password_hash() -> str:
    """PASSWORD hashed once: Argon2 is slow on purpose, and tests make many accounts."""
    return hash_password(PASSWORD)


def staff(db: Session, role: Role, username: str | None = None):
    return accounts.create_user(db, username=username or f"{role.value}{next(_seq)}",
                                    password=PASSWORD, role=role,
                                    password_hash=_password_hash())


def login_of(db: Session, m: Member) -> User:
    """The member's login account (``member(..., login=True)`` made it)."""
    return db.scalar(select(User).where(User.member_id == m.id))


def minted_headers(db: Session, user: User, settings) -> dict[str, str]:
    """Bearer headers for an existing account, signed directly (no sign-in round trip)."""
    db.flush()
    token = issue_token(accounts.principal_of(user), secret=settings.secret_key, minutes=30,
                        stamp=credentials_stamp(user.password_hash, secret=settings.secret_key))
    return {"Authorization": f"Bearer {token}"}


def overdraft(db: Session, *, project_id: int, limit: str = "10000000"):
    """An overdraft facility a finance officer approved, for tests that pay claims above
    the premium their few members brought in (cash may not otherwise go below zero)."""
    officer = accounts.principal_of(staff(db, Role.FINANCE))
    return ledger_service.grant_overdraft(db, project_id=project_id, limit=limit,
                                          reason="test pool: claims above its premium",
                                          actor=officer, starts_on=date(2000, 1, 1))


def token(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for a username (or member number) via the real OAuth2 endpoint."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def staff_headers(client, db: Session, role: Role) -> dict[str, str]:
    return staff_headers_for(client, db, staff(db, role))


def staff_headers_for(client, db: Session, user: User) -> dict[str, str]:
    db.commit()
    return token(client, user.username)


def member_headers(client, db: Session, m: Member) -> dict[str, str]:
    db.commit()
    return token(client, m.member_number)


# A handler's decision in tests that are not about documents: the files are not uploaded,
# so the decision says why (the rule: mutua.claims.workflow.plan_decision).
ON_PAPER = {"documents_reason": "documents checked on paper"}
