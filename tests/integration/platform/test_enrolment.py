"""Enrolment, premiums, cancellation and the books, through the API and services."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.policies import bulk_enrolment, cancellation
from mutua.policies.models import Policy
from tests import factories as f


def policies(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Policy))


def assert_books_balance(db):
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0, tb


def test_member_enrols_and_sees_scaled_sum_insured(client, db):
    f.accident_project(db)
    m = f.member(db, occupation="F0601", login=True)  # delivery rider, class 6
    h = f.member_headers(client, db, m)
    r = client.post("/api/v1/policies", json={"product_code": "TEST-ACC-1", "period_code": "P1"},
                    headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["premium"] == "36.50" and body["coefficient"] == "0.1250"
    death = next(b for b in body["benefits"] if b["code"] == "death")
    assert death["sum_insured"] == "12500.00"  # 100,000 x 0.125
    mine = client.get("/api/v1/policies/mine", headers=h).json()
    assert mine["total"] == 1
    # A member owes the premium: no cover, and nothing taken as paid, until it is paid
    assert body["status"] == "unpaid"
    project_id = db.get(Policy, body["id"]).project_id
    assert ledger_service.balance_of(db, project_id=project_id, account="cash") == Decimal("0")
    assert ledger_service.balance_of(db, project_id=project_id,
                                     account="premium_receivable") == Decimal("36.50")
    assert_books_balance(db)


def test_the_enrolment_answer_is_the_policy_as_it_reads_back(client, db):
    """The enrolment route builds its answer from what it has just written (one statement,
    not the read model's three): it must equal what GET reads, field for field."""
    f.accident_project(db)
    m = f.member(db, occupation="F0601", login=True)
    h = f.member_headers(client, db, m)
    r = client.post("/api/v1/policies", json={"product_code": "TEST-ACC-1", "period_code": "P1"},
                    headers=h)
    assert r.status_code == 201, r.text
    read = client.get(f"/api/v1/policies/{r.json()['id']}", headers=h)
    assert read.status_code == 200 and r.json() == read.json()
    assert len(r.json()["benefits"]) >= 2 and r.json()["uplifts"] == []


def test_bad_enrolments_are_refused_and_store_nothing(client, db):
    today = shanghai_today()
    f.accident_project(db, classes=(1, 2, 3, 4, 5), min_age=18, max_age=60)
    f.accident_project(db, code="CLOSED", sale_start=today - timedelta(days=90),
                       sale_end=today - timedelta(days=60))
    old = f.member(db, birth=date(1950, 1, 1), login=True)
    rider = f.member(db, occupation="F0601", login=True)
    ok = f.member(db, login=True)
    f.policy(db, member=ok)
    db.commit()
    before = policies(db)
    cases = [
        (old, "TEST-ACC-1", "age"),
        (rider, "TEST-ACC-1", "occupation_class"),
        (ok, "CLOSED-1", "period"),
    ]
    for who, product, field in cases:
        r = client.post("/api/v1/policies", json={"product_code": product, "period_code": "P1"},
                        headers=f.member_headers(client, db, who))
        assert r.status_code == 422, r.text
        assert field in [p["field"] for p in r.json()["problems"]]
    again = client.post("/api/v1/policies", json={"product_code": "TEST-ACC-1", "period_code": "P1"},
                        headers=f.member_headers(client, db, ok))
    assert again.status_code == 409
    assert policies(db) == before


def test_member_cannot_read_or_cancel_another_members_policy(client, db):
    f.accident_project(db)
    a, b = f.member(db, login=True), f.member(db, login=True)
    pb = f.policy(db, member=b)
    h = f.member_headers(client, db, a)
    assert client.get(f"/api/v1/policies/{pb.id}", headers=h).status_code == 404
    assert client.post(f"/api/v1/policies/{pb.id}/cancel", json={}, headers=h).status_code == 404
    assert client.get(f"/api/v1/policies/by-member/{b.id}", headers=h).status_code == 404


def test_cancellation_refunds_and_books_stay_balanced(db):
    today = shanghai_today()
    f.accident_project(db)
    m1, m2 = f.member(db), f.member(db)
    p1 = f.policy(db, member=m1, on=today)
    p2 = f.policy(db, member=m2, on=today)
    cancellation.cancel(db, policy_id=p1.id, actor=SYSTEM, on=today + timedelta(days=5))
    assert p1.refund == p1.premium  # cooling-off
    cancellation.cancel(db, policy_id=p2.id, actor=SYSTEM, on=p2.cover_start + timedelta(days=99))
    # 100 of 365 days covered: earned 36.50 x 100/365 = 10.00, refund 26.50
    assert str(p2.refund) == "26.50"
    assert ledger_service.balance_of(db, project_id=p1.project_id, account="cash") == 10
    assert_books_balance(db)


def test_staff_enrol_many_reports_bad_rows(db):
    f.accident_project(db, classes=(1, 2, 3, 4, 5))
    ok, rider = f.member(db), f.member(db, occupation="F0601")
    result = bulk_enrolment.enrol_many(
      db, product_code="TEST-ACC-1", period_code="P1", actor=SYSTEM,
        enrolments=[bulk_enrolment.Enrolment(ok.id, 1), bulk_enrolment.Enrolment(rider.id, 2),
                    bulk_enrolment.Enrolment(ok.id, 3), bulk_enrolment.Enrolment(99999, 4)])
    assert result.enrolled == 1
    assert sorted(result.problems) == [2, 3, 4]
    assert_books_balance(db)


def test_underwriter_enrols_for_a_member_but_claims_role_cannot(client, db):
    f.accident_project(db)
    m = f.member(db)
    body = {"product_code": "TEST-ACC-1", "period_code": "P1", "member_id": m.id}
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.post("/api/v1/policies", json=body, headers=uw).status_code == 201
    claims = f.staff_headers(client, db, Role.CLAIMS)
    assert client.post("/api/v1/policies", json=body, headers=claims).status_code == 403


def test_a_cancellation_reason_too_long_for_the_refund_reference_is_refused(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m)
    db.commit()
    h = f.member_headers(client, db, m)
    r = client.post(f"/api/v1/policies/{p.id}/cancel", json={"reason": "x" * 65}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "reason"
    with pytest.raises(ValidationFailed) as refused:
        cancellation.cancel(db, policy_id=p.id, actor=SYSTEM, reason="y" * 65)
    assert refused.value.problems[0].field == "reason"
    db.rollback()
    assert client.get(f"/api/v1/policies/{p.id}", headers=h).json()["status"] == "in_force"
    ok = client.post(f"/api/v1/policies/{p.id}/cancel", json={"reason": "z" * 64}, headers=h)
    assert ok.status_code == 200 and ok.json()["status"] == "cancelled"


def test_a_sale_period_opened_through_the_api_may_not_share_joining_days(client, db):
    today = shanghai_today()
    f.accident_project(db, today=today)  # P1 joins from today-30 to today+30
    db.commit()
    h = f.staff_headers(client, db, Role.UNDERWRITER)
    overlap = {"product_code": "TEST-ACC-1", "code": "P2", "sale_start": str(today),
               "sale_end": str(today + timedelta(days=90)), "cover_start": str(today)}
    r = client.post("/api/v1/catalog/periods", json=overlap, headers=h)
    assert r.status_code == 422, r.text
    after = {**overlap, "sale_start": str(today + timedelta(days=20)),
             "cover_start": str(today + timedelta(days=31))}
    r = client.post("/api/v1/catalog/periods", json=after, headers=h)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/catalog/periods", json=after, headers=h).status_code == 422


def test_an_unknown_product_or_period_is_named_and_nothing_is_stored(client, db):
    f.accident_project(db)
    member = f.member(db, login=True)
    db.commit()
    before = policies(db)
    headers = f.member_headers(client, db, member)
    for product, period, said in [("NO-SUCH", "P1", "unknown product 'NO-SUCH'"),
                                  ("TEST-ACC-1", "P9", "has no period 'P9'")]:
        r = client.post("/api/v1/policies", json={"product_code": product, "period_code": period},
                        headers=headers)
        assert r.status_code == 404 and said in r.text, r.text
    assert policies(db) == before


def test_a_missing_or_closed_member_is_named_before_the_product(client, db):
    # The member, product and period are read in one statement; what is missing is named as
    # when each was read alone: the member first, then the product or its period.
    f.accident_project(db)
    uw = f.staff(db, Role.UNDERWRITER)
    closed = f.member(db)
    closed.status = "closed"
    db.commit()
    before = policies(db)
    h = f.staff_headers_for(client, db, uw)
    for member_id, product in [(999999, "TEST-ACC-1"), (999999, "NO-SUCH"),
                               (closed.id, "TEST-ACC-1"), (closed.id, "NO-SUCH")]:
        r = client.post("/api/v1/policies", headers=h, json={
            "product_code": product, "period_code": "P1", "member_id": member_id})
        assert r.status_code == 404, r.text
        assert f"member {member_id} not found or not active" in r.text, r.text
    assert policies(db) == before


def test_an_enrolment_is_one_transaction_with_the_callers_account_read_in_it(client, db, engine):
    """The bearer token's account is read in the route's own transaction (deps.current_principal
    leaves it to the route's trip), and the postings name their accounts without a read of the
    chart: one BEGIN, one read of the account, no SELECT of ledger_accounts."""
    from sqlalchemy import event

    f.accident_project(db)
    uw = f.staff(db, Role.UNDERWRITER)
    first, m = f.member(db), f.member(db)
    h = f.staff_headers_for(client, db, uw)
    r = client.post("/api/v1/policies", headers=h, json={  # the policy counter's row made
        "product_code": "TEST-ACC-1", "period_code": "P1", "member_id": first.id})
    assert r.status_code == 201, r.text
    statements: list[str] = []
    transactions: list[object] = []

    def statement(conn, cursor, text, parameters, context, executemany):
        statements.append(" ".join(text.split()))

    def begin(conn):
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            transactions.append(conn)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        r = client.post("/api/v1/policies", headers=h, json={
            "product_code": "TEST-ACC-1", "period_code": "P1", "member_id": m.id})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)
    assert r.status_code == 201, r.text
    assert len(transactions) == 1
    assert [s for s in statements if s.startswith("SELECT users.")][:1] == statements[:1]
    assert len([s for s in statements if s.startswith("SELECT users.")]) == 1
    assert not [s for s in statements if s.startswith("SELECT ledger_accounts.")]
    assert_books_balance(db)
    # the premium, its entry in the books and the audit event, however they were sent
    from mutua.audit.models import AuditEvent
    from mutua.ledger.models import Entry
    from mutua.policies.models import PremiumPayment

    policy = db.get(Policy, r.json()["id"])
    paid = db.execute(select(PremiumPayment.amount, PremiumPayment.kind)
                      .where(PremiumPayment.policy_id == policy.id)).all()
    assert paid == [(policy.premium, "premium")]
    assert db.scalar(select(func.count()).select_from(Entry).where(
        Entry.reference == policy.policy_number, Entry.kind == "premium")) == 1
    events = db.execute(select(AuditEvent.action, AuditEvent.actor_username, AuditEvent.detail)
                        .where(AuditEvent.entity == "policy",
                               AuditEvent.entity_id == str(policy.id))).all()
    assert events == [("policy.enrol", uw.username,
                       {"product": "TEST-ACC-1", "period": "P1", "paid": True})]


def test_the_enrolled_policy_is_the_sessions_own_and_no_declaration_is_sql_null(db):
    """enrol writes the policy with one prebuilt INSERT (policies.service._insert_policy): the
    policy it returns must still be the session's, so a later change to it is written, and a
    product that asks no declaration leaves the column NULL, not the JSON text 'null'."""
    from mutua.policies import service

    f.accident_project(db)
    m = f.member(db)
    policy = service.enrol(db, member_id=m.id, product_code="TEST-ACC-1", period_code="P1",
                           actor=SYSTEM)
    assert policy in db and policy not in db.new and policy.status == "in_force"
    assert policy.policy_number.startswith("P") and policy.created_at is not None
    policy.status = "cancelled"
    db.flush()
    written = db.connection().execute(
        select(Policy.status, Policy.declaration.is_(None)).where(Policy.id == policy.id)).one()
    assert tuple(written) == ("cancelled", True)


def test_postings_to_an_account_the_chart_lacks_are_refused_by_name(db):
    """The insert that looks the accounts up counts the rows it wrote (both backends), so a
    code the chart lacks is still named."""
    from sqlalchemy import delete

    from mutua.errors import NotFound
    from mutua.ledger import domain as L
    from mutua.ledger.models import Account

    product = f.accident_project(db)
    db.execute(delete(Account).where(Account.project_id == product.project_id,
                                     Account.code == L.UNEARNED_PREMIUM))
    with pytest.raises(NotFound, match=f"no account {L.UNEARNED_PREMIUM}"):
        ledger_service.post(db, L.JournalEntry.of(
            project_id=product.project_id, entry_date=shanghai_today(), kind="premium",
            memo="test", reference="T-1",
            postings=L.transfer(L.CASH, L.UNEARNED_PREMIUM, Decimal("1.00"))))
