"""Treaties as data: recoveries booked as claims are decided, received, and the close net
of reinsurance, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.claims import first_notice, workflow
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.reinsurance import service
from mutua.reinsurance.models import Recovery, Treaty
from mutua.settlement import service as settlement_service
from mutua.settlement.models import Close
from tests.factories import ON_PAPER
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    assert_statement_adds_up,
    build_pool,
)

D = Decimal
FINANCE = Principal(user_id=1, username="fin", role=Role.FINANCE)


def file(db, **kw):
    args = dict(project_code=CODE, code="XL-2025", kind="per_risk", reinsurer="China Re",
                retention="30000", limit="50000", rate="0.03", reinstatements=1,
                reinstatement_rate="0.05", starts_on=date(2025, 1, 1),
                ends_on=date(2025, 12, 31)) | kw
    return service.file_treaty(db, actor=FINANCE, **args)


def death(db, policy, day=date(2025, 3, 1), place="深圳南山 bus crash"):
    claim = first_notice.report(db, data=ClaimIn(
        policy_id=policy.id, event_type="accident", event_date=day, place=place,
        description="bus crash", items=[{"benefit_code": "death"}]), actor=SYSTEM,
        on=day)
    return workflow.decide(db, claim_id=claim.id, actor=SYSTEM,
                           data=DecisionIn(**ON_PAPER, reason="death certificate checked"), on=day)


def balance(db, project_id, account):
    return ledger_service.balance_of(db, project_id=project_id, account=account)


@pytest.fixture
def pool(db):
    return build_pool(db, members=6)


def test_a_loss_above_the_retention_recovers_the_layer_and_the_close_is_net(db, pool):
    file(db)
    claim = death(db, pool.policies[1])
    assert claim.approved == D("100000.00")
    (r,) = db.scalars(select(Recovery)).all()
    # 100,000 - 30,000 retention = 70,000, limited to 50,000; reinstated at 5%
    assert (r.amount, r.reinstatement_premium, r.loss) == (D("50000.00"), D("2500.00"),
                                                           D("100000.00"))
    assert balance(db, pool.project_id, L.REINSURANCE_RECOVERABLE) == D("50000.00")
    assert balance(db, pool.project_id, L.REINSURANCE_PAYABLE) == D("-2500.00")
    s = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1",
                                         actor=SYSTEM, today=AFTER_Q1)
    db.commit()
    earned = D(s["earned_premium"]) + D(s["uplift_premium_earned"])
    close_ceded = (earned * D("0.03")).quantize(D("0.01"))  # the treaty covered all 90 days
    assert D(s["reinsurance_ceded"]) == close_ceded + D("2500.00")
    assert s["reinsurance_recovered"] == "50000.00"
    assert D(s["result"]) == D(s["result_gross"]) - D(s["reinsurance_ceded"]) + D("50000.00")
    assert s["reinsurance"] == [{"treaty": "XL-2025", "kind": "per_risk",
                                 "ceded": f"{close_ceded:.2f}",
                                 "reinstatement_premium": "2500.00",
                                 "recovered": "50000.00"}]
    assert balance(db, pool.project_id, L.CEDED_PREMIUM) == D(s["reinsurance_ceded"])
    assert_statement_adds_up(s)
    assert_books_balance(db)


def test_receiving_a_recovery_moves_it_to_cash_once(db, pool):
    file(db)
    death(db, pool.policies[1])
    (r,) = db.scalars(select(Recovery)).all()
    cash = balance(db, pool.project_id, L.CASH)
    service.receive(db, recovery_id=r.id, actor=FINANCE, on=date(2025, 4, 20))
    assert balance(db, pool.project_id, L.CASH) == cash + D("50000.00")
    assert balance(db, pool.project_id, L.REINSURANCE_RECOVERABLE) == 0
    with pytest.raises(Conflict):
        service.receive(db, recovery_id=r.id, actor=FINANCE)
    with pytest.raises(Forbidden):
        service.receive(db, recovery_id=r.id, actor=Principal(2, "h", Role.CLAIMS))
    assert_books_balance(db)


def test_the_aggregate_limit_bounds_recoveries_over_the_term(db, pool):
    file(db, reinstatements=0)
    death(db, pool.policies[1])
    death(db, pool.policies[2], day=date(2025, 3, 5))
    amounts = [r.amount for r in db.scalars(select(Recovery).order_by(Recovery.id))]
    assert amounts == [D("50000.00")]  # no reinstatement: the second loss finds the layer used
    assert service.list_treaties(db)[0][0]["recovered"] == "50000.00"


def test_a_catastrophe_layer_takes_the_event_net_of_the_per_risk_cover(db, pool):
    file(db)
    file(db, code="CAT-2025", kind="catastrophe", retention="50000", limit="200000",
         rate="0.01", reinstatements=0, reinstatement_rate="0")
    for p in pool.policies[1:4]:  # three deaths in one crash: 300,000 gross
        death(db, p)
    by_treaty = {}
    for r in db.scalars(select(Recovery).order_by(Recovery.id)):
        by_treaty[r.treaty_id] = by_treaty.get(r.treaty_id, D(0)) + r.amount
    per_risk, cat = (db.scalar(select(Treaty.id).where(Treaty.code == c))
                     for c in ("XL-2025", "CAT-2025"))
    # per risk: 50,000 + 50,000 (the one reinstatement), then the aggregate is used
    assert by_treaty[per_risk] == D("100000.00")
    # the event: 300,000 - 100,000 per-risk = 200,000 net; above 50,000, limited to 200,000
    assert by_treaty[cat] == D("150000.00")
    assert_books_balance(db)


def test_a_bad_treaty_names_every_problem_and_stores_nothing(db, pool):
    with pytest.raises(ValidationFailed) as e:
        file(db, code="", kind="quota_share", reinsurer="", retention="-5", limit="abc",
             rate="1.5", reinstatements="eleven", reinstatement_rate="0.1234567",
             ends_on=date(2024, 12, 31))
    assert {p.field for p in e.value.problems} == {
        "code", "kind", "reinsurer", "retention", "limit", "rate", "reinstatements",
        "reinstatement_rate", "ends_on"}
    assert db.scalar(select(Treaty.id)) is None


def test_overlapping_and_retroactive_treaties_are_refused(db, pool):
    file(db)
    with pytest.raises(ValidationFailed, match="overlaps treaty XL-2025"):
        file(db, code="XL-B", starts_on=date(2025, 6, 1), ends_on=date(2026, 5, 31))
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    with pytest.raises(ValidationFailed, match="after the last closed quarter"):
        file(db, code="CAT", kind="catastrophe", starts_on=date(2025, 3, 1))
    with pytest.raises(Forbidden):
        service.file_treaty(db, actor=Principal(3, "a", Role.ACTUARY), project_code=CODE,
                            code="X", kind="per_risk", reinsurer="R", retention="1",
                            limit="1", rate="0", reinstatements=0, reinstatement_rate="0",
                            starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1))


def test_a_recovery_dated_in_a_closed_quarter_counts_in_the_next_close(db, pool):
    file(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    death(db, pool.policies[1], day=date(2025, 3, 10))  # decided with a date in 2025Q1
    s = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q2",
                                         actor=SYSTEM, today=date(2025, 7, 10))
    assert s["reinsurance_recovered"] == "50000.00"
    assert {"treaty": None, "kind": "dated_in_closed_quarters", "ceded": "0.00",
            "reinstatement_premium": "2500.00", "recovered": "50000.00"} in s["reinsurance"]
    assert s["reinsurance_recovered_to_date"] == "50000.00"
    s3 = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q3",
                                          actor=SYSTEM, today=date(2025, 10, 10))
    assert s3["reinsurance_recovered"] == "0.00"  # counted once
    assert_books_balance(db)


def test_the_next_close_reads_reinsurance_to_date_from_the_close_row(db, pool):
    file(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    death(db, pool.policies[1], day=date(2025, 3, 10))
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q2", actor=SYSTEM,
                                     today=date(2025, 7, 10))
    db.execute(Close.__table__.update().values(statement={}))  # what was told is not state
    db.expire_all()
    s3 = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q3",
                                          actor=SYSTEM, today=date(2025, 10, 10))
    assert s3["reinsurance_recovered"] == "0.00"
    assert s3["reinsurance_recovered_to_date"] == "50000.00"
    assert_books_balance(db)


def test_paying_reinsurance_premium_settles_what_is_owed_and_no_more(db, pool):
    file(db)
    death(db, pool.policies[1])  # owes 2,500.00 of reinstatement premium
    left = service.pay_premium(db, project_code=CODE, amount="1000.00", actor=FINANCE,
                               on=date(2025, 3, 20))
    assert left == D("1500.00")
    assert balance(db, pool.project_id, L.REINSURANCE_PAYABLE) == D("-1500.00")
    with pytest.raises(ValidationFailed):
        service.pay_premium(db, project_code=CODE, amount="1500.01", actor=FINANCE)
    assert_books_balance(db)
