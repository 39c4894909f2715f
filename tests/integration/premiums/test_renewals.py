"""Renewal into the next period (issue 18 item 3, the staff's set-based run): a new policy
linked to the last, cover continuing the day after, re-rated on age and class, no new
waiting period; owed as one group invoice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.errors import ValidationFailed
from mutua.policies import cover as policy_cover
from mutua.policies import domain, dues, renewals
from mutua.policies.models import Policy
from tests import factories as f

from .conftest import RENEWAL_START as START
from .conftest import assert_books_balance


def test_a_group_renews_into_the_next_period_with_continuous_cover(db, two_periods):
    young = f.member(db, birth=date(1990, 5, 17))
    turning_66 = f.member(db, birth=date(1960, 12, 20))  # 65 at first, 66 when renewed
    olds = [f.policy(db, member=m, on=START) for m in (young, turning_66)]
    db.commit()
    on = date(2026, 12, 1)
    result = renewals.renew_group(db, product_code="TEST-ACC-1", from_period="P1",
                                  to_period="P2", actor=SYSTEM, on=on, payer="顺丰速运")
    db.commit()
    assert result.renewed == 1
    assert [p.field for p in result.not_renewed[olds[1].id]] == ["age"]
    new = db.scalar(select(Policy).where(Policy.renewed_from_id == olds[0].id))
    assert new.status == domain.UNPAID  # owed on the renewal invoice
    owed = dues.find_or_404(db, project_id=new.project_id, reference="RENEW-TEST-ACC-1-P2")
    dues.apply(db, owed=owed, amount=owed.amount, paid_on=on, reference="BANK")
    db.commit()
    db.refresh(new)
    assert new.cover_start == olds[0].cover_end + timedelta(days=1)
    assert new.age_at_start == 36
    cover = policy_cover.cover_on(db, policy_id=new.id, on=new.cover_start)
    assert {b.waiting_days for b in cover.benefits} == {0}  # no new waiting period
    first = policy_cover.cover_on(db, policy_id=olds[0].id, on=olds[0].cover_start)
    assert {b.waiting_days for b in first.benefits} == {30}
    again = renewals.renew_group(db, product_code="TEST-ACC-1", from_period="P1",
                                 to_period="P2", actor=SYSTEM, on=on, reference="R2")
    assert again.renewed == 0  # the member holds P2 already
    assert_books_balance(db)


def test_renewal_goes_forward_only(db, two_periods):
    with pytest.raises(ValidationFailed) as e:
        renewals.renew_group(db, product_code="TEST-ACC-1", from_period="P2", to_period="P1",
                             actor=SYSTEM, on=date(2026, 12, 1))
    assert e.value.problems[0].field == "to_period"


def test_underwriters_renew_a_group_through_the_api_as_a_job(client, db, two_periods):
    from mutua.auth.roles import Role
    from mutua.dates import today as shanghai_today
    from tests.jobs import result

    p = f.policy(db, member=f.member(db), on=START)
    db.commit()
    body = {"product": "TEST-ACC-1", "from_period": "P1", "to_period": "P2"}
    fin = f.staff_headers(client, db, Role.FINANCE)
    assert client.post("/api/v1/premiums/renewals", json=body, headers=fin).status_code == 403
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    bad = client.post("/api/v1/premiums/renewals", headers=uw,
                      json=body | {"to_period": "P9"})
    assert bad.status_code == 404
    r = client.post("/api/v1/premiums/renewals", json=body, headers=uw)
    out = result(client, r, uw)
    # renewed today only if P1's cover is still in force and P2 is the later period
    assert out["renewed"] == (1 if p.cover_end >= shanghai_today() else 0)
