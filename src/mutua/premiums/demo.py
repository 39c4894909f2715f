"""The premium cycle in the demo mutual: a platform's group invoice left unpaid past its
grace end (its riders' policies lapse), members who enrolled in the last days and owe their
premium, and a bank's collection file that pays most of them and leaves a few exceptions
(a part payment, an overpayment, a second payment, an unknown reference) in the queue;
and renewals (premiums.demo_renewals): the last renewal's offers and those going out now.

A few hundred policies at most, on top of the paid enrolments, so `mutua demo` stays as
fast as it was.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.errors import DomainError
from mutua.members.models import Member
from mutua.policies import bulk_enrolment, dues
from mutua.policies import service as policies_service
from mutua.policies.models import Policy
from mutua.premiums import demo_renewals, service

MAX_UNPAID = 300  # members who owe, at most
PER_MEMBERS = 200  # one owing member per this many in the demo
LATE_INVOICE = "DEMO-PLATFORM-INV-1"


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal) -> dict:
    offer = _open_accident_period(db, today)
    if offer is None:
        return {"unpaid": 0}
    product, period = offer
    count = max(8, min(MAX_UNPAID, _members(db) // PER_MEMBERS))
    free = _members_without(db, product.id, period.id, limit=count * 3)
    rng.shuffle(free)
    late_day = max(period.sale_start, today - timedelta(days=product.grace_days + 10))
    group = bulk_enrolment.enrol_many(
      db, product_code=product.code, period_code=period.code, actor=actor, on=late_day,
        enrolments=[bulk_enrolment.Enrolment(m, n) for n, m in enumerate(free[:count // 2])],
      paid=False, reference=LATE_INVOICE, payer="示例外卖平台")

    renewals = demo_renewals.build(db, rng=rng, today=today, actor=actor)
    lapsed = sum(dues.lapse_overdue(db, on=today).values())
    owing = _enrol_unpaid(db, product.code, period.code, free[count // 2:count],
                          on=max(period.sale_start, today - timedelta(days=5)), actor=actor)
    report = service.import_file(db, project_code=_project_code(db, product.project_id),
                                 source="bank", data=_collection_file(owing, today),
                                 filename=f"bank-{today.isoformat()}.csv", actor=actor)
    return {"group_invoice": LATE_INVOICE, "group_policies": group.enrolled, "lapsed": lapsed,
            "owing": len(owing), "collection": report.to_dict(), "renewals": renewals}


def _open_accident_period(db: Session, today: date):
    """The accident product on sale today that most members may buy (every occupation
    class, the widest ages), with its open period."""
    offers = [(p, s) for p, s in catalog_service.open_for_sale(db, on=today)
              if p.line == "accident"]
    return max(offers, default=None,
               key=lambda o: (len(o[0].allowed_classes), o[0].max_age - o[0].min_age))


def _members(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Member)) or 0


def _members_without(db: Session, product_id: int, period_id: int, *, limit: int) -> list[int]:
    held = select(Policy.member_id).where(Policy.product_id == product_id,
                                          Policy.period_id == period_id)
    return list(db.scalars(select(Member.id).where(Member.status == "active",
                                                   Member.id.not_in(held))
                           .order_by(Member.id).limit(limit)))


def _enrol_unpaid(db: Session, product: str, period: str, member_ids: list[int], *,
                  on: date, actor: Principal) -> list[tuple[str, str, str]]:
    """(policy number, member number, premium) of the members who enrolled and owe."""
    out = []
    for member_id in member_ids:
        try:
            p = policies_service.enrol(db, member_id=member_id, product_code=product,
                                       period_code=period, actor=actor, on=on, paid=False)
        except DomainError:
            continue  # not eligible for this product (age, occupation): someone else owes
        number = db.scalar(select(Member.member_number).where(Member.id == member_id))
        out.append((p.policy_number, number, str(p.premium)))
    return out


def _collection_file(owing: list[tuple[str, str, str]], today: date) -> bytes:
    """A bank's file: most dues paid exactly; a part, an overpayment, a second payment of a
    paid due, and a payment nobody owes wait for finance."""
    lines = ["transaction_id,paid_on,amount,reference,member_number,payer"]
    day = (today - timedelta(days=1)).isoformat()
    paid = owing[: max(1, len(owing) * 2 // 3)]
    for n, (policy, member, premium) in enumerate(paid):
        lines.append(f"BANK-{today:%Y%m%d}-{n:05d},{day},{premium},{policy},{member},")
    rest = owing[len(paid):]
    n = len(paid)
    if len(rest) >= 2:
        lines.append(f"BANK-{today:%Y%m%d}-{n:05d},{day},10.00,{rest[0][0]},{rest[0][1]},")
        lines.append(f"BANK-{today:%Y%m%d}-{n + 1:05d},{day},999.00,{rest[1][0]},{rest[1][1]},")
    if paid:
        policy, member, premium = paid[0]
        lines.append(f"BANK-{today:%Y%m%d}-{n + 2:05d},{day},{premium},{policy},{member},")
    lines.append(f"BANK-{today:%Y%m%d}-{n + 3:05d},{day},80.00,P9999999999,,未知付款人")
    return ("\n".join(lines) + "\n").encode()


def _project_code(db: Session, project_id: int) -> str:
    return next(p.code for p in catalog_service.list_projects(db) if p.id == project_id)
