"""Renewal of a product's policies into its next sale period (续保), as one set-based run.

Each policy in force in the last period whose member holds none in the next becomes a new
policy linked to it (``renewed_from_id``), its cover starting the day after the old one
ends, at the product's price now (a member vote may have changed it), with the member's age
at the new start and occupation class now re-rated through the next period's coefficient
table. Cover continues without a gap, so no waiting period starts again
(``policies.policy_cover._benefit_cover``). The renewals are owed as one group invoice (or paid
at once when the premium came with them), as any bulk enrolment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import domain as catalog_domain
from mutua.catalog import service as catalog_service
from mutua.dates import age_on
from mutua.dates import today as shanghai_today
from mutua.errors import Problem, ValidationFailed
from mutua.members.models import Member
from mutua.money import ZERO
from mutua.policies import bulk_enrolment, domain, service
from mutua.policies.models import Policy


@dataclass
class RenewalResult:
    renewed: int = 0
    premium_total: Decimal = ZERO
    not_renewed: dict[int, list[Problem]] = field(default_factory=dict)  # old policy id -> why

    def to_dict(self) -> dict:
        return {"renewed": self.renewed, "premium_total": str(self.premium_total),
                "not_renewed": {str(k): [{"field": p.field, "rule": p.rule} for p in v]
                                for k, v in sorted(self.not_renewed.items())}}


def renew_group(db: Session, *, product_code: str, from_period: str, to_period: str,
                actor: Principal, on: date | None = None, paid: bool = False,
                reference: str = "", payer: str = "") -> RenewalResult:
    """Renew every policy in force in ``from_period`` into ``to_period`` in one run."""
    on = on or shanghai_today()
    product = catalog_service.get_product(db, code=product_code)
    old = catalog_service.get_period(db, product=product, code=from_period)
    new = catalog_service.get_period(db, product=product, code=to_period)
    if new.sale_start <= old.sale_start:
        raise ValidationFailed("to_period", "must come after the period renewed from")
    reference = reference or f"RENEW-{product.code}-{new.code}"[:32]
    cells = catalog_service.table_cells(db, table_id=new.coefficient_table_id)
    rules = domain.ProductRules(product.code, product.min_age, product.max_age,
                                tuple(product.allowed_classes), new.sale_start, new.sale_end)
    result, rows, from_ids = RenewalResult(), [], []
    for pid, member in renewable(db, product.id, old.id, new.id, on):
        offer = renewal_offer(rules, cells, member, last_cover_end=pid[1],
                              term_days=product.term_days, on=on)
        if offer.problems:
            result.not_renewed[pid[0]] = list(offer.problems)
            continue
        rows.append((member, offer))
        from_ids.append(pid[0])
    if not rows:
        return result
    write_renewals(db, product, new, rows, from_ids, on=on, paid=paid, reference=reference,
                   payer=payer)
    result.renewed, result.premium_total = len(rows), product.uniform_premium * len(rows)
    audit.record(db, actor=actor, action="policy.renew_group", entity="product",
                 entity_id=product.id, project_id=product.project_id,
                 detail={"from": old.code, "to": new.code, "renewed": len(rows),
                         "not_renewed": len(result.not_renewed), "paid": paid})
    return result


def renewal_offer(rules: domain.ProductRules, cells, member, *, last_cover_end: date,
                  term_days: int, on: date) -> service.Offer:
    """Cover from the day after the last ends, re-rated on age then and class now."""
    start = last_cover_end + timedelta(days=1)
    end = start + timedelta(days=term_days - 1)
    problems = domain.eligibility_problems(rules, birth_date=member.birth_date,
                                           occupation_class=member.occupation_class,
                                           cover_start=start, on=on)
    age = age_on(member.birth_date, start)
    coef = catalog_domain.coefficient_for(cells, age=age, occupation_class=member.occupation_class)
    if coef is None and not problems:
        problems.append(Problem("coefficient", "no coefficient for age %(age)s, class %(cls)s",
                                age=age, cls=member.occupation_class))
    return service.Offer(start, end, age, coef, tuple(problems))


def renewable(db: Session, product_id: int, old_period: int | None, new_period: int, on: date,
              where=None):
    """((policy id, cover end), member columns) of the policies in force on ``on`` or
    later in the old period (any other period when None) whose member holds nothing in
    the new one (and that meet ``where``, a clause on Policy), in one query."""
    later = aliased(Policy)
    holds_next = select(later.id).where(later.member_id == Policy.member_id,
                                        later.product_id == product_id,
                                        later.period_id == new_period).exists()
    stmt = (select(Policy.id, Policy.cover_end, Member.id, Member.status, Member.birth_date,
                   Member.occupation_class)
            .join(Member, Member.id == Policy.member_id)
            .where(Policy.product_id == product_id,
                   Policy.period_id == old_period if old_period is not None
                   else Policy.period_id != new_period,
                   Policy.status == domain.IN_FORCE, Policy.cover_end >= on,
                   Member.status == "active", ~holds_next)
            .order_by(Policy.id))
    if where is not None:
        stmt = stmt.where(where)
    for pid, end, mid, status, birth, cls in db.execute(stmt):
        yield (pid, end), MemberRow(mid, status, birth, cls)


@dataclass(frozen=True)
class MemberRow:
    id: int
    status: str
    birth_date: date
    occupation_class: int


def write_renewals(db: Session, product, period, rows, from_ids, *, on: date, paid: bool,
                   reference: str, payer: str = "", invoice: bool = True) -> list[int]:
    """The renewed policies of quoted rows, each linked to the one it renews: owed on one
    group invoice (a staff run), on dues of their own (members renewing themselves), or
    paid. Returns the new policy ids in the order of ``rows``."""
    return bulk_enrolment.write_batch(db, product=product, period=period, rows=rows, on=on,
                                      paid=paid, reference=reference, payer=payer,
                                      memo=f"{len(rows)} renewals into", renewed_from=from_ids,
                                      invoice=invoice)
