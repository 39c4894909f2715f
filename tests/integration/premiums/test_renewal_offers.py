"""Renewal offers to members (issue 18 item 3): offered before the period ends at the next
period's price, accepted (one-click, the renewed policy owed on its own due) or declined;
auto-renewal at the end; members not renewing told once before their cover ends."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.notify.models import Notification
from mutua.policies import cover as policy_cover
from mutua.policies import domain, dues
from mutua.policies import renewal_offers as offers
from mutua.policies import service as policies_service
from mutua.policies.models import Policy, PremiumDue, RenewalOffer
from tests import factories as f

from .conftest import RENEWAL_START as START
from .conftest import assert_books_balance

END = date(2026, 12, 31)  # P1's cover (from 2 January, 365 days) ends on 1 January 2027
OFFER_DAY = date(2026, 12, 10)


def as_member(m) -> Principal:
    return Principal(user_id=0, username=m.member_number, role=Role.MEMBER, member_id=m.id)


def holder(db, auto_renew=False, birth=date(1990, 5, 17), login=False):
    m = f.member(db, birth=birth, login=login)
    p = policies_service.enrol(db, member_id=m.id, product_code="TEST-ACC-1",
                               period_code="P1", actor=SYSTEM, on=START, auto_renew=auto_renew)
    return m, p


def offer_of(db, policy) -> RenewalOffer:
    return db.scalar(select(RenewalOffer).where(RenewalOffer.policy_id == policy.id))


def told(db, event):
    return sorted(db.scalars(select(Notification.member_id).where(Notification.event == event)))


def test_policies_ending_soon_are_offered_renewal_at_the_next_price_once(db, two_periods):
    m, p = holder(db)
    old, _ = holder(db, birth=date(1960, 12, 20))  # 66 at the new start: no offer
    db.commit()
    assert offers.make_offers(db, on=p.cover_end - timedelta(days=31)) == 0  # not yet
    assert offers.make_offers(db, on=OFFER_DAY) == 1
    assert offers.make_offers(db, on=OFFER_DAY) == 0  # one offer per policy
    db.commit()
    o = offer_of(db, p)
    assert (o.state, o.premium, o.cover_start) == ("offered", p.premium,
                                                   p.cover_end + timedelta(days=1))
    assert o.age_at_start == 36 and o.expires_on == p.cover_end
    assert told(db, "renewal.offered") == [m.id]


def test_accepting_writes_the_renewed_policy_owed_on_its_own_due(db, two_periods):
    m, p = holder(db)
    offers.make_offers(db, on=OFFER_DAY)
    o = offer_of(db, p)
    new = offers.accept(db, offer_id=o.id, actor=as_member(m), on=OFFER_DAY)
    db.commit()
    assert new.renewed_from_id == p.id and new.status == domain.UNPAID
    due = db.scalar(select(PremiumDue).where(PremiumDue.policy_id == new.id))
    assert due.invoice_id is None and due.member_id == m.id  # the member pays it themself
    owed = dues.find_or_404(db, project_id=p.project_id, reference=due.reference)
    dues.apply(db, owed=owed, amount=owed.amount, paid_on=OFFER_DAY, reference="WX1")
    assert offers.settle_ended(db, on=END + timedelta(days=2)) == (1, 0)
    db.commit()
    db.refresh(o)
    assert (o.state, o.renewed_policy_id) == ("renewed", new.id)
    cover = policy_cover.cover_on(db, policy_id=new.id, on=o.cover_start)
    assert {b.waiting_days for b in cover.benefits} == {0}  # continuous cover
    assert_books_balance(db)


def test_a_bad_acceptance_is_refused_and_changes_nothing(db, two_periods):
    m, p = holder(db)
    other = f.member(db)
    offers.make_offers(db, on=OFFER_DAY)
    o = offer_of(db, p)
    db.commit()
    with pytest.raises(NotFound):
        offers.accept(db, offer_id=o.id, actor=as_member(other), on=OFFER_DAY)
    with pytest.raises(ValidationFailed) as e:
        offers.accept(db, offer_id=o.id, actor=as_member(m), on=p.cover_end + timedelta(days=1))
    assert e.value.problems[0].field == "offer_id"
    db.rollback()
    assert offer_of(db, p).state == "offered"
    offers.decline(db, offer_id=o.id, actor=as_member(m), on=OFFER_DAY)
    db.commit()
    with pytest.raises(Conflict):
        offers.accept(db, offer_id=o.id, actor=as_member(m), on=OFFER_DAY)
    db.rollback()
    assert db.scalar(select(Policy.id).where(Policy.renewed_from_id == p.id)) is None


def test_two_acceptances_at_once_one_wins(db, two_periods, engine):
    from sqlalchemy.orm import Session

    m, p = holder(db)
    offers.make_offers(db, on=OFFER_DAY)
    offer_id = offer_of(db, p).id
    db.commit()
    outcomes, barrier = [], threading.Barrier(2)

    def attempt():
        with Session(engine) as s:
            try:
                barrier.wait()
                offers.accept(s, offer_id=offer_id, actor=as_member(m), on=OFFER_DAY)
                s.commit()
                outcomes.append("won")
            except Conflict:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    db.expire_all()
    assert len(db.scalars(select(Policy).where(Policy.renewed_from_id == p.id)).all()) == 1


def test_the_run_renews_auto_renewals_and_lets_the_others_end(db, two_periods):
    auto_m, auto_p = holder(db, auto_renew=True)
    declining_m, declining_p = holder(db)
    silent_m, silent_p = holder(db)
    db.commit()
    first = offers.run(db, on=OFFER_DAY, actor=SYSTEM)
    assert first.offered == 3
    offers.decline(db, offer_id=offer_of(db, declining_p).id, actor=as_member(declining_m),
                   on=OFFER_DAY)
    ending = offers.run(db, on=END - timedelta(days=5), actor=SYSTEM)
    assert ending.told_ending == 2  # the declining and the silent member, not the auto one
    assert offers.run(db, on=END - timedelta(days=4), actor=SYSTEM).told_ending == 0
    at_end = offers.run(db, on=auto_p.cover_end, actor=SYSTEM)
    assert at_end.auto_renewed == 1
    renewed = db.scalar(select(Policy).where(Policy.renewed_from_id == auto_p.id))
    assert renewed.status == domain.UNPAID  # owed by the member on a due of their own
    after = offers.run(db, on=auto_p.cover_end + timedelta(days=1), actor=SYSTEM)
    assert (after.renewed, after.expired) == (0, 1)  # the silent offer; auto's due is open
    db.commit()
    states = {p.id: offer_of(db, p).state for p in (auto_p, declining_p, silent_p)}
    assert states == {auto_p.id: "accepted", declining_p.id: "declined",
                      silent_p.id: "expired"}
    assert told(db, "cover.ending") == sorted([declining_m.id, silent_m.id])
    assert db.scalar(select(Policy.id).where(Policy.renewed_from_id == silent_p.id)) is None
    assert_books_balance(db)


def test_consent_to_auto_renewal_is_given_and_withdrawn_by_the_member(db, two_periods):
    m, p = holder(db)
    other = f.member(db)
    db.commit()
    assert offers.set_auto_renew(db, policy_id=p.id, auto_renew=True, actor=as_member(m)).auto_renew
    with pytest.raises(NotFound):
        offers.set_auto_renew(db, policy_id=p.id, auto_renew=False, actor=as_member(other))
    assert not offers.set_auto_renew(db, policy_id=p.id, auto_renew=False,
                                     actor=as_member(m)).auto_renew


def test_members_answer_their_offers_through_the_api(client, db, two_periods):
    from sqlalchemy import update

    from mutua.dates import today as shanghai_today

    m, p = holder(db, login=True)
    other = f.member(db, login=True)
    offers.make_offers(db, on=OFFER_DAY)
    o = offer_of(db, p)
    # open whatever today's date is: the API answers on the server's day
    db.execute(update(RenewalOffer).values(expires_on=shanghai_today() + timedelta(days=10)))
    db.commit()
    mine = f.member_headers(client, db, m)
    listed = client.get("/api/v1/premiums/renewal-offers/mine", headers=mine).json()
    assert [(x["id"], x["state"], x["policy_number"]) for x in listed] == [
        (o.id, "offered", p.policy_number)]
    theirs = f.member_headers(client, db, other)
    url = f"/api/v1/premiums/renewal-offers/{o.id}/accept"
    assert client.post(url, json={}, headers=theirs).status_code == 404
    bad = client.post(url, json={"paid": True}, headers=mine)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "reference"
    ok = client.post(url, json={}, headers=mine)
    assert ok.status_code == 200 and ok.json()["state"] == "accepted"
    assert client.post(url, json={}, headers=mine).status_code == 409
    assert client.post(f"/api/v1/premiums/renewal-offers/{o.id}/decline",
                       headers=mine).status_code == 409
    auto = client.put(f"/api/v1/premiums/policies/{p.id}/auto-renew",
                      json={"auto_renew": True}, headers=theirs)
    assert auto.status_code == 404


def test_underwriters_start_the_renewal_run_as_a_job(client, db, two_periods):
    from tests.jobs import result

    holder(db)
    db.commit()
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    claims = f.staff_headers(client, db, Role.CLAIMS)
    body = {"on": OFFER_DAY.isoformat()}
    assert client.post("/api/v1/premiums/renewal-run", json=body,
                       headers=claims).status_code == 403
    out = result(client, client.post("/api/v1/premiums/renewal-run", json=body, headers=uw), uw)
    assert out["offered"] == 1


def test_the_renewal_run_command(db, two_periods, engine, monkeypatch):
    import json

    from typer.testing import CliRunner

    from mutua.cli import app as cli
    from mutua.settings import get_settings

    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    holder(db)
    db.commit()
    out = CliRunner().invoke(cli, ["policies", "renewal-run", "--on", OFFER_DAY.isoformat(),
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["offered"] == 1
    get_settings.cache_clear()


def test_renewal_and_lapse_rates_per_period(client, db, two_periods):
    from mutua.policies import cycle_rates

    renewing = [holder(db, auto_renew=True)[1] for _ in range(3)]
    leaving = holder(db)[1]
    unpaid = policies_service.enrol(db, member_id=f.member(db).id, product_code="TEST-ACC-1",
                                    period_code="P1", actor=SYSTEM, on=START, paid=False)
    db.commit()
    dues.lapse_overdue(db, on=START + timedelta(days=60))
    offers.run(db, on=OFFER_DAY, actor=SYSTEM)
    offers.run(db, on=END + timedelta(days=1), actor=SYSTEM)  # auto-renewals written
    for p in renewing[:2]:  # two of the three pay their renewal
        new = db.scalar(select(Policy).where(Policy.renewed_from_id == p.id))
        owed = dues.find_or_404(db, project_id=p.project_id, reference=new.policy_number)
        dues.apply(db, owed=owed, amount=owed.amount, paid_on=END, reference="WX")
    offers.run(db, on=END + timedelta(days=3), actor=SYSTEM)
    db.commit()
    p1 = next(r for r in cycle_rates.rates(db, on=END + timedelta(days=3))
              if r.period_id == leaving.period_id)
    assert (p1.written, p1.lapsed) == (5, 1) and unpaid.id
    assert (p1.eligible, p1.renewed, p1.open) == (4, 2, 1)  # one auto-renewal still unpaid
    assert str(p1.renewal_rate) == "0.5" and str(p1.lapse_rate) == "0.2"
    fin = f.staff_headers(client, db, Role.FINANCE)
    rows = client.get("/api/v1/premiums/report", headers=fin).json()
    row = next(r for r in rows if r["period_id"] == leaving.period_id)
    assert (row["lapsed"], row["written"]) == (1, 5)  # renewals count once their cover ended
    assert {"renewal_rate", "eligible_to_renew", "lapse_rate", "owed_by_age"} <= set(row)


def test_a_year_of_cover_renews_into_the_period_on_sale_when_it_ends(db, two_periods):
    """Quarterly periods of a yearly product: a January policy renews into the period whose
    sale has started by the day after it ends, offered before that sale opens."""
    catalog_service.create_period(db, product_code="TEST-ACC-1", actor=SYSTEM, period=PeriodDef(
        code="P3", sale_start=date(2026, 12, 20), sale_end=date(2027, 3, 31),
        cover_start=date(2027, 1, 1)))
    db.commit()
    db.expire_all()
    _m, p = holder(db)
    db.commit()
    assert offers.make_offers(db, on=OFFER_DAY) == 1  # P3 is not on sale before 20 December
    o = offer_of(db, p)
    p3 = catalog_service.get_period(db, product=two_periods, code="P3")
    assert o.period_id == p3.id and o.cover_start == p.cover_end + timedelta(days=1)


def test_after_a_staff_group_renewal_the_offer_is_neither_accepted_nor_auto_renewed(db,
                                                                                 two_periods):
    from mutua.policies import renewals

    m, p = holder(db, auto_renew=True)
    offers.make_offers(db, on=OFFER_DAY)
    renewals.renew_group(db, product_code="TEST-ACC-1", from_period="P1", to_period="P2",
                         actor=SYSTEM, on=OFFER_DAY, paid=True, reference="GROUP-1")
    db.commit()
    with pytest.raises(Conflict):
        offers.accept(db, offer_id=offer_of(db, p).id, actor=as_member(m), on=OFFER_DAY)
    db.rollback()
    assert offers.renew_automatically(db, on=p.cover_end) == 0
    assert offers.settle_ended(db, on=p.cover_end + timedelta(days=1)) == (1, 0)
    assert len(db.scalars(select(Policy).where(Policy.renewed_from_id == p.id)).all()) == 1
