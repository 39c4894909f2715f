"""The notifications outbox: written with the event, delivered by SMS and e-mail with
retries and a record of each delivery, read in the portal's inbox.

E-mail goes to a real SMTP server on localhost (aiosmtpd, started here), not a mock.
"""

from __future__ import annotations

import socket
from datetime import date, timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.errors import ValidationFailed
from mutua.governance import notices as governance_notices
from mutua.governance import service as governance_service
from mutua.messaging.email import ConsoleEmail, SmtpEmail
from mutua.messaging.sms import ConsoleSms, SmsFailed
from mutua.notify import service as notify
from mutua.notify.delivery import Senders, deliver_round, dispatch
from mutua.notify.models import Delivery, Notification
from mutua.settings import Settings
from mutua.settlement import service as settlement_service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool


def events(db, member_id=None) -> list[str]:
    db.rollback()
    q = select(Notification.event).order_by(Notification.id)
    if member_id is not None:
        q = q.where(Notification.member_id == member_id)
    return list(db.scalars(q))


@pytest.fixture
def settings(engine, tmp_path):
    return Settings(database_url=engine.test_url, notify_max_attempts=3,
                    sms_console_file=tmp_path / "sms.log",
                    email_console_file=tmp_path / "mail.log")


def test_a_claim_reported_decided_and_paid_tells_the_member_each_step(db):
    pool = build_pool(db, members=2, claims=1)
    told = events(db, pool.members[0].id)
    assert told == ["claim.reported", "claim.decided", "claim.paid"]
    assert events(db, pool.members[1].id) == []
    paid = db.scalar(select(Notification).where(Notification.event == "claim.paid"))
    assert paid.amount > 0 and paid.ref_text.startswith("CL")


def test_a_refused_event_leaves_no_notification(db):
    pool = build_pool(db, members=1, claims=0)
    from mutua.claims import first_notice
    from mutua.claims.schemas import ClaimIn

    with pytest.raises(ValidationFailed):  # an event date before the cover starts: refused
        first_notice.report(db, actor=SYSTEM, on=date(2025, 2, 10), data=ClaimIn(
            policy_id=pool.policies[0].id, event_type="accident", event_date=date(2024, 1, 1),
            items=[{"benefit_code": "medical", "invoice_amount": "100"}]))
    db.rollback()
    assert events(db) == []


def test_a_close_tells_every_member_their_own_uplift_in_one_statement(db):
    pool = build_pool(db, members=6, claims=1)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    rows = db.execute(select(Notification.member_id, Notification.amount, Notification.ref_text)
                      .where(Notification.event == "statement.published")).all()
    assert sorted(r.member_id for r in rows) == sorted(m.id for m in pool.members)
    assert {r.ref_text for r in rows} == {"2025Q1"}
    from mutua.policies.models import Policy, SumInsuredUplift

    for member_id, amount, _ in rows:
        own = db.scalar(select(func.coalesce(func.sum(SumInsuredUplift.sum_insured_added), 0))
                        .join(Policy, Policy.id == SumInsuredUplift.policy_id)
                        .where(Policy.member_id == member_id))
        assert amount == Decimal(own) or amount == own


def test_a_vote_tells_the_electorate_when_it_opens_closes_soon_and_ends(db):
    product = f.accident_project(db, code="VOTE")
    members = [f.member(db) for _ in range(3)]
    for m in members:
        f.policy(db, member=m, product_code=product.code,
                 on=shanghai_today() - timedelta(days=20))  # cover starts the next day
    now = utcnow()
    proposal = governance_service.create_proposal(
        db, kind="motion", project_id=None, title_zh="延长报案时限", title_en="Longer notice",
        quorum="0.05", opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(hours=2),
        actor=SYSTEM)
    notify.set_preferences(db, member_id=members[1].id, sms=True, email=False,
                           email_address=None, locale="en", actor=SYSTEM)
    governance_service.open_proposal(db, proposal_id=proposal.id, actor=SYSTEM, now=now)
    db.commit()
    opened = db.execute(select(Notification.member_id, Notification.ref_text)
                        .where(Notification.event == "vote.opened")).all()
    titles = dict(opened)
    assert set(titles) == {m.id for m in members}
    assert titles[members[1].id] == "Longer notice" and titles[members[0].id] == "延长报案时限"
    assert governance_notices.remind_closing_votes(db, now=now) == 1
    assert governance_notices.remind_closing_votes(db, now=now) == 1  # again: nobody told twice
    db.commit()
    assert events(db).count("vote.closing") == 3
    governance_service.close_proposal(db, proposal_id=proposal.id, actor=SYSTEM,
                                      now=now + timedelta(hours=3))
    db.commit()
    assert events(db).count("vote.result") == 3


def test_a_kidney_alert_tells_the_patient_without_any_value(db, settings, engine):
    from mutua.health import service as health_service

    f.accident_project(db)
    patient = f.member(db, birth=date(1960, 1, 1))
    db.commit()
    today = date.today()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": patient.id, "loinc": "2160-0", "value": 1.0, "unit": "mg/dL",
         "effective_at": (today - timedelta(days=200)).isoformat()},
        {"member_id": patient.id, "loinc": "2160-0", "value": 4.5, "unit": "mg/dL",
         "effective_at": (today - timedelta(days=2)).isoformat()}])
    db.commit()
    assert "health.alert" in events(db, patient.id)
    sms = ConsoleSms()
    deliver_round(engine, settings=settings, senders=Senders(sms=sms, email=ConsoleEmail()))
    text = " ".join(m["text"] for m in sms.sent)
    assert text and "4.5" not in text and "mg" not in text and patient.id_number not in text


def test_the_round_sends_by_sms_in_the_members_language_and_records_it(db, engine, settings):
    f.accident_project(db)
    zh, en = f.member(db), f.member(db)
    notify.set_preferences(db, member_id=en.id, sms=True, email=False, email_address=None,
                           locale="en", actor=SYSTEM)
    for m in (zh, en):
        notify.tell(db, member_id=m.id, project_id=None, event="claim.reported", ref_id=1,
                    ref_text="CL000000001")
    db.commit()
    sms = ConsoleSms()
    out = deliver_round(engine, settings=settings, senders=Senders(sms=sms, email=ConsoleEmail()))
    assert (out.dispatched, out.sent) == (2, 2)
    texts = {m["to"]: m["text"] for m in sms.sent}
    assert "理赔案CL000000001" in texts[zh.phone]
    assert "We have your claim CL000000001" in texts[en.phone]
    db.rollback()
    rows = db.scalars(select(Delivery)).all()
    assert {(d.status, d.attempts, d.channel) for d in rows} == {("sent", 1, "sms")}
    assert all("****" in d.sent_to and d.carrier_id for d in rows)
    # a second round has nothing left to do
    again = deliver_round(engine, settings=settings, senders=Senders(sms=sms, email=ConsoleEmail()))
    assert (again.dispatched, again.sent) == (0, 0)


class Flaky:
    def __init__(self, failures: int, retry: bool = True):
        self.failures, self.retry, self.sent = failures, retry, []

    def send(self, phone, text):
        if self.failures:
            self.failures -= 1
            raise SmsFailed("gateway answered 503", retry=self.retry)
        self.sent.append(text)
        return "ok-1"


def _due_now(db):
    db.execute(update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.commit()


def test_a_failed_sms_is_tried_again_later_and_recorded(db, engine, settings):
    f.accident_project(db)
    m = f.member(db)
    notify.tell(db, member_id=m.id, project_id=None, event="claim.paid", ref_text="CL1",
                amount=Decimal("12.50"))
    db.commit()
    sms = Flaky(failures=1)
    senders = Senders(sms=sms, email=ConsoleEmail())
    assert deliver_round(engine, settings=settings, senders=senders).retrying == 1
    db.rollback()
    d = db.scalar(select(Delivery))
    assert (d.status, d.attempts, d.last_error) == ("pending", 1, "gateway answered 503")
    assert d.next_attempt_at > utcnow()  # not before its wait
    assert deliver_round(engine, settings=settings, senders=senders).sent == 0
    _due_now(db)
    assert deliver_round(engine, settings=settings, senders=senders).sent == 1
    db.rollback()
    db.expire_all()
    d = db.scalar(select(Delivery))
    assert (d.status, d.attempts, d.last_error) == ("sent", 2, "")


def test_a_delivery_is_given_up_after_the_last_attempt_or_a_final_refusal(db, engine, settings):
    f.accident_project(db)
    a, b = f.member(db), f.member(db)
    for m in (a, b):
        notify.tell(db, member_id=m.id, project_id=None, event="claim.reported", ref_text="CL2")
    db.commit()
    always = Flaky(failures=99)
    senders = Senders(sms=always, email=ConsoleEmail())
    for _ in range(settings.notify_max_attempts):
        deliver_round(engine, settings=settings, senders=senders)
        _due_now(db)
    db.rollback()
    assert {(d.status, d.attempts) for d in db.scalars(select(Delivery))} == {("failed", 3)}
    never = Flaky(failures=1, retry=False)
    notify.tell(db, member_id=a.id, project_id=None, event="claim.reported", ref_text="CL3")
    db.commit()
    out = deliver_round(engine, settings=settings, senders=Senders(sms=never, email=ConsoleEmail()))
    assert out.failed == 1


def test_dispatch_is_set_based_and_follows_each_members_channels(db, engine):
    f.accident_project(db)
    ms = [f.member(db) for _ in range(4)]
    notify.set_preferences(db, member_id=ms[0].id, sms=False, email=True,
                           email_address="a@example.cn", locale="zh_CN", actor=SYSTEM)
    notify.set_preferences(db, member_id=ms[1].id, sms=False, email=False, email_address=None,
                           locale="zh_CN", actor=SYSTEM)
    notify.tell_members(db, event="vote.opened", member_ids=[m.id for m in ms],
                        ref_text="议题")
    db.commit()
    assert dispatch(db) == 4
    db.commit()
    got = {(d.member_id, d.channel) for d in db.scalars(select(Delivery))}
    assert got == {(ms[0].id, "email"), (ms[2].id, "sms"), (ms[3].id, "sms")}


@pytest.mark.parametrize("bad", [
    {"email": True, "email_address": ""},
    {"email": False, "email_address": "not an address"},
    {"email": False, "email_address": None, "locale": "fr"}])
def test_bad_preferences_are_refused(db, bad):
    f.accident_project(db)
    m = f.member(db)
    from mutua.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        notify.set_preferences(db, member_id=m.id, **{"sms": True, "locale": "zh_CN", **bad},
                               actor=SYSTEM)


# --- e-mail through a real SMTP server ----------------------------------------------------

class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


def wants_email(db, claim_number: str, amount: Decimal) -> None:
    """A member who asked for e-mail in English, told of a decision on their claim."""
    f.accident_project(db)
    m = f.member(db)
    notify.set_preferences(db, member_id=m.id, sms=False, email=True,
                           email_address="li.lei@example.cn", locale="en", actor=SYSTEM)
    notify.tell(db, member_id=m.id, project_id=None, event="claim.decided",
                ref_text=claim_number, amount=amount)
    db.commit()


def test_an_email_reaches_a_real_smtp_server(db, engine, settings, smtp_server):
    port, box = smtp_server
    wants_email(db, "CL7", Decimal("880.00"))
    mail = SmtpEmail(host="127.0.0.1", port=port, sender="notices@mutua.example")
    out = deliver_round(engine, settings=settings, senders=Senders(sms=ConsoleSms(), email=mail))
    assert out.sent == 1
    [(to, content)] = box.messages
    assert to == ["li.lei@example.cn"]
    assert "Subject: Claim CL7 decided" in content and "880.00" in content
    db.rollback()
    d = db.scalar(select(Delivery))
    assert d.status == "sent" and d.sent_to == "l***@example.cn" and d.carrier_id.startswith("<")


def test_an_smtp_server_that_is_down_means_try_again(db, engine, settings):
    wants_email(db, "CL8", Decimal("1"))
    mail = SmtpEmail(host="127.0.0.1", port=9, timeout_seconds=2)
    out = deliver_round(engine, settings=settings, senders=Senders(sms=ConsoleSms(), email=mail))
    assert out.retrying == 1
