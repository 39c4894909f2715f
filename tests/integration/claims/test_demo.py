"""The claims demo: realistic mix, consistent rows, balanced books, a valid triangle."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.claims import demo, service
from mutua.claims.models import Claim, ClaimItem, ClaimPayment
from mutua.ledger import service as ledger_service
from mutua.ledger.service import fen_sum
from mutua.money import from_fen
from mutua.policies.models import Policy
from tests import factories as f

from .conftest import TODAY, assert_books_balance


def test_demo_claims_are_consistent_and_the_books_balance(db):
    start = TODAY - timedelta(days=200)
    product = f.accident_project(db, today=start)
    # delivery riders (class 6) claim far more often than office staff; a few hundred
    # policy-years give a handful of claims at realistic frequencies (a few per cent a year)
    for n in range(400):
        m = f.member(db, occupation="F0601" if n % 2 else "A0103")
        f.policy(db, member=m, on=start)
    db.commit()

    out = demo.build(db, rng=np.random.default_rng(5), today=TODAY, actor=SYSTEM)
    db.commit()
    assert out["claims"] > 5
    assert out["by_kind"].get("accidental_medical", 0) == max(out["by_kind"].values())
    pid = product.project_id

    claims = db.scalars(select(Claim)).all()
    assert len(claims) == out["claims"]
    assert {c.status for c in claims} >= {"closed"}
    for c in claims:
        assert c.paid in (0, c.approved)
        assert c.case_reserve >= 0 and (c.case_reserve == 0 or c.status in
                                        ("reported", "under_review"))
    # every figure the close reads agrees with the books
    reserve = sum((c.case_reserve for c in claims), from_fen(0))
    assert service.case_reserve_at(db, project_id=pid, as_of=TODAY) == reserve
    assert -ledger_service.balance_of(db, project_id=pid, account="case_reserve") == reserve
    paid = from_fen(db.scalar(select(fen_sum(ClaimPayment.amount))) or 0)
    assert service.paid_in(db, project_id=pid, start=start, end=TODAY) == paid
    # premiums came in, claims went out: at realistic loss ratios the pool keeps cash
    premiums = from_fen(db.scalar(select(fen_sum(Policy.premium))) or 0)
    assert ledger_service.balance_of(db, project_id=pid, account="cash") == premiums - paid
    assert ledger_service.balance_of(db, project_id=pid, account="claims_expense") == sum(
        (c.approved for c in claims), from_fen(0))
    assert_books_balance(db)

    # each claim's items exist and the classes skew: riders claim more than office staff
    assert db.scalar(select(func.count(func.distinct(ClaimItem.claim_id)))) == len(claims)
    classes = Counter(dict(db.execute(
        select(Policy.occupation_class, func.count()).join(Claim, Claim.policy_id == Policy.id)
        .group_by(Policy.occupation_class)).all()))
    assert classes[6] > classes[1]

    cells = service.triangle(db, project_id=pid, basis="paid", as_of=TODAY)
    by_origin: dict[str, list] = {}
    for o, k, v in cells:
        by_origin.setdefault(o, []).append((k, v))
    for values in by_origin.values():
        series = [v for _, v in sorted(values)]
        assert series == sorted(series)
    assert sum(values[-1][1] for values in by_origin.values()) == paid


def test_demo_claims_are_reported_days_to_months_after_the_event(db):
    """Report delays by kind (claims.demo_experience.REPORT_DELAY_DAYS), so the triangles
    develop: claims come in quarters after their event, and none is reported after the build
    day."""
    from mutua.dates import Quarter

    start = TODAY - timedelta(days=360)
    f.accident_project(db, today=start)
    for n in range(600):
        m = f.member(db, occupation="F0601" if n % 2 else "A0103",
                     birth=date(1990 + n % 3, 5, 17))
        f.policy(db, member=m, on=start)
    db.commit()
    demo.build(db, rng=np.random.default_rng(11), today=TODAY, actor=SYSTEM)
    db.commit()
    claims = db.scalars(select(Claim)).all()
    delays = np.array([(c.reported_on - c.event_date).days for c in claims])
    assert len(claims) > 30 and delays.min() >= 1 and max(c.reported_on for c in claims) <= TODAY
    assert np.median(delays) < 30 < delays.max()  # days mostly, months now and then
    later = sum(Quarter.of(c.reported_on) != Quarter.of(c.event_date) for c in claims)
    assert 0.05 < later / len(claims) < 0.5
    cells = service.triangle(db, project_id=claims[0].project_id, basis="incurred", as_of=TODAY)
    by_origin = {}
    for origin, _dev, value in cells:
        by_origin.setdefault(origin, []).append(value)
    assert any(len(v) > 1 and v[-1] > v[0] for v in by_origin.values())  # a row develops
