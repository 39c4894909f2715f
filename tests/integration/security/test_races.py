"""Requests raced from threads: exactly one wins, the others get a clear 409 (issue 15 item 6).

Six parallel enrolments of one member in one product's period gave one 500 (the unique key
on member, product and period refused the second insert, unhandled). Each request here runs
through the real app in its own thread and its own client, released together by a barrier,
on SQLite (one writer at a time) and PostgreSQL (row locks and the unique index).
"""

from __future__ import annotations

import threading
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.ledger.models import Entry
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from mutua.policies.models import Policy, PremiumDue, PremiumPayment
from tests import factories as f

RACERS = 6


def race(app, send) -> list:
    """Run ``send(client)`` in RACERS threads at once; their responses, in no order."""
    barrier = threading.Barrier(RACERS)
    answers: list = []

    def one() -> None:
        client = TestClient(app, raise_server_exceptions=False)
        barrier.wait()
        answers.append(send(client))

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == RACERS, "a racer never answered"
    return answers


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_six_parallel_enrolments_of_one_member_make_one_policy(app, client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    headers = f.member_headers(client, db, m)
    answers = race(app, lambda c: c.post("/api/v1/policies", headers=headers, json={
        "product_code": "TEST-ACC-1", "period_code": "P1"}))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * (RACERS - 1), [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert "already holds a TEST-ACC-1 policy" in refused.json()["message"]
    assert count(db, Policy, Policy.member_id == m.id) == 1
    # nothing half-written by the losers: one premium due, nothing taken as paid
    assert count(db, PremiumDue) == 1 and count(db, PremiumPayment) == 0
    assert count(db, Entry, Entry.kind == "premium_due") == 1


def test_six_parallel_paid_enrolments_of_one_member_make_one_policy_and_one_premium(app, client,
                                                                                   db):
    """At the counter the premium is taken with the enrolment: on PostgreSQL the policy, the
    premium, its entry in the books and the audit event are one statement, so a loser at the
    unique key leaves none of them."""
    from mutua.audit.models import AuditEvent

    f.accident_project(db)
    m = f.member(db)
    headers = f.staff_headers(client, db, Role.UNDERWRITER)
    answers = race(app, lambda c: c.post("/api/v1/policies", headers=headers, json={
        "product_code": "TEST-ACC-1", "period_code": "P1", "member_id": m.id}))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * (RACERS - 1), [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert "already holds a TEST-ACC-1 policy" in refused.json()["message"]
    (policy_id,) = db.scalars(select(Policy.id).where(Policy.member_id == m.id)).all()
    assert count(db, PremiumPayment) == 1 and count(db, Entry, Entry.kind == "premium") == 1
    assert count(db, AuditEvent, AuditEvent.action == "policy.enrol",
                 AuditEvent.entity_id == str(policy_id)) == 1
    assert count(db, AuditEvent, AuditEvent.action == "policy.enrol") == 1


def test_six_parallel_confirms_of_one_offer_make_one_policy(app, client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    headers = f.member_headers(client, db, m)
    answers = race(app, lambda c: c.post("/api/v1/enrolment/confirm", headers=headers, json={
        "product_code": "TEST-ACC-1", "period_code": "P1", "accept_terms": True}))
    codes = [a.status_code for a in answers]
    # one winner; a racer that came after it committed is answered with the same policy,
    # one that met it at the unique key is refused
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, [a.text for a in answers]
    ids = {a.json()["policy"]["id"] for a in answers if a.status_code in (200, 201)}
    assert len(ids) == 1
    assert count(db, Policy, Policy.member_id == m.id) == 1
    assert count(db, PremiumDue) == 1


def test_six_parallel_registrations_of_one_person_make_one_member(app, client, db):
    headers = f.staff_headers(client, db, Role.UNDERWRITER)
    body = {"name": "李雷", "id_number": make_id_number("440305", date(1990, 5, 17), 321),
            "phone": "13800138000", "occupation_code": "E0501", "city": "深圳"}
    answers = race(app, lambda c: c.post("/api/v1/members", headers=headers, json=body))
    assert sorted(a.status_code for a in answers) == [201] + [409] * (RACERS - 1), \
        [a.text for a in answers]
    assert count(db, Member) == 1
