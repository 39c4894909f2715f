"""Decisions that take effect (决议生效): payload checks and enactment of passed proposals.

Each kind with a payload is checked when the proposal is made (so members never vote
on something that could not happen) and enacted when it passes, through the owning
domain's service, with an audit record:

- ``pricing``: a new coefficient table for a product's next period, never a period
  already on sale (``catalog.service.create_coefficient_table`` + ``set_period_table``);
- ``allocation``: a new allocation policy for a project's next close, never a quarter
  already closed (``settlement.service.adopt_allocation_policy``);
- ``election``: the elected candidates become member representatives.

If, by the time the vote closes, the target is no longer open to change (the period
went on sale during the vote, the quarter was closed), the proposal is closed with its
result and the enactment is recorded as refused with the reason; nothing else changes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.domain import Cell
from mutua.catalog.models import CoefficientTable, Product, SalePeriod
from mutua.dates import Quarter
from mutua.errors import Conflict, DomainError, ValidationFailed
from mutua.governance.models import Proposal, Representative
from mutua.governance.payloads import (
    check_allocation_shares,
    check_coefficient_cells,
    check_quarter,
)
from mutua.governance.tally import Result
from mutua.members.models import Member
from mutua.policies import membership
from mutua.settlement import service as settlement_service


def validate_payload(db: Session, *, kind: str, project_id: int | None, payload: dict,
                     today: date) -> dict:
    """The payload in canonical (JSON-ready) form, or ValidationFailed naming the problem."""
    if not isinstance(payload, dict):
        raise ValidationFailed("payload", "must be an object")
    if kind == "pricing":
        return _pricing_payload(db, project_id, payload, today)
    if kind == "allocation":
        return _allocation_payload(payload, today)
    if kind == "election":
        return _election_payload(db, project_id, payload)
    if payload:
        raise ValidationFailed("payload", "a motion carries no payload")
    return {}


def _int(payload: dict, key: str) -> int:
    try:
        return int(payload[key])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed(f"payload.{key}", "is required and must be an integer") from None


def _pricing_payload(db: Session, project_id: int | None, payload: dict, today: date) -> dict:
    product = db.get(Product, _int(payload, "product_id"))
    if product is None or product.project_id != project_id:
        raise ValidationFailed("payload.product_id", "must be a product of the proposal's project")
    period = db.get(SalePeriod, _int(payload, "period_id"))
    if period is None or period.product_id != product.id:
        raise ValidationFailed("payload.period_id", "must be a sale period of that product")
    if period.sale_start <= today:
        raise ValidationFailed("payload.period_id",
                               "period %(period)s is already on sale; choose a later period",
                               period=period.code)
    current = current_cells(db, product_id=product.id, before=period.sale_start)
    cells = check_coefficient_cells(payload.get("cells") or [], grid=current)
    out = {k: v for k, v in payload.items() if k not in ("cells",)}
    # each cell carries the coefficient in force today, so members see both side by side
    out.update(product_id=product.id, period_id=period.id, period_code=period.code,
               cells=[{**c, "coefficient": str(c["coefficient"]),
                       "current": str(current[(c["age_min"], c["age_max"],
                                               c["occupation_class"])])} for c in cells])
    return out


def current_table_id(db: Session, *, product_id: int, before: date | None = None) -> int | None:
    """The table of the product's latest period starting before ``before`` (else its newest)."""
    stmt = select(SalePeriod.coefficient_table_id).where(SalePeriod.product_id == product_id)
    if before is not None:
        stmt = stmt.where(SalePeriod.sale_start < before)
    table_id = db.scalar(stmt.order_by(SalePeriod.sale_start.desc()).limit(1))
    return table_id or db.scalar(select(CoefficientTable.id)
                                 .where(CoefficientTable.product_id == product_id)
                                 .order_by(CoefficientTable.version.desc()).limit(1))


def current_cells(db: Session, *, product_id: int, before: date | None = None
                  ) -> dict[tuple[int, int, int], Decimal]:
    """The (age band, class) cells a new table must fill, with the coefficients in force."""
    table_id = current_table_id(db, product_id=product_id, before=before)
    if table_id is None:
        raise ValidationFailed("payload.product_id", "the product has no coefficient table yet")
    return {(c.age_min, c.age_max, c.occupation_class): c.coefficient
            for c in catalog_service.table_cells(db, table_id=table_id)}


def _allocation_payload(payload: dict, today: date) -> dict:
    uplift, aid, services = check_allocation_shares(
        uplift=payload.get("uplift"), aid=payload.get("aid"), services=payload.get("services"))
    quarter = check_quarter(payload.get("effective_from"))
    if Quarter.parse(quarter) < Quarter.of(today):
        raise ValidationFailed("payload.effective_from",
                               "%(quarter)s has already ended; choose the current quarter or "
                               "later", quarter=quarter)
    return {"uplift": str(uplift), "aid": str(aid), "services": str(services),
            "effective_from": quarter}


def _election_payload(db: Session, project_id: int | None, payload: dict) -> dict:
    seats = _int(payload, "seats")
    raw = payload.get("candidates")
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("payload.candidates", "must list the candidates' member ids")
    try:
        candidates = [int(c) for c in raw]
    except (TypeError, ValueError):
        raise ValidationFailed("payload.candidates", "must be member ids") from None
    if len(set(candidates)) != len(candidates):
        raise ValidationFailed("payload.candidates", "names a candidate twice")
    if not 1 <= seats <= len(candidates):
        raise ValidationFailed("payload.seats", "must be between 1 and the number of candidates")
    found = db.scalar(select(func.count()).select_from(Member)
                      .where(Member.id.in_(candidates))) or 0
    if found != len(candidates):
        raise ValidationFailed("payload.candidates", "every candidate must be a member")
    if project_id is not None:
        inside = membership.members_among(db, project_id=project_id, member_ids=candidates)
        if len(inside) != len(candidates):
            raise ValidationFailed("payload.candidates",
                                   "every candidate must be a member of the project")
    return {"seats": seats, "candidates": candidates}


def candidate_names(db: Session, *, member_ids: list[int]) -> dict[int, str]:
    rows = db.execute(select(Member.id, Member.name, Member.member_number)
                      .where(Member.id.in_(member_ids))).all()
    return {i: f"{name} ({number})" for i, name, number in rows}


# --- enactment --------------------------------------------------------------------------


def enact(db: Session, *, proposal: Proposal, result: Result, actor: Principal,
          today: date) -> None:
    """Make a passed proposal take effect, or record why it could not."""
    try:
        validate_payload(db, kind=proposal.kind, project_id=proposal.project_id,
                         payload=_input_of(proposal), today=today)
        if proposal.kind == "pricing":
            done = _enact_pricing(db, proposal, actor, today)
        elif proposal.kind == "allocation":
            done = _enact_allocation(db, proposal, actor)
        elif proposal.kind == "election":
            done = _enact_election(db, proposal, result, today)
        else:
            return
    except DomainError as exc:
        proposal.enactment_status = "refused"
        proposal.enactment = {"reason": exc.message}
        audit.record(db, actor=actor, action="proposal.enactment_refused", entity="proposal",
                     entity_id=proposal.id, project_id=proposal.project_id,
                     detail={"kind": proposal.kind, "reason": exc.message[:200]})
        return
    proposal.enactment_status = "enacted"
    proposal.enactment = done
    audit.record(db, actor=actor, action="proposal.enact", entity="proposal",
                 entity_id=proposal.id, project_id=proposal.project_id,
                 detail={"kind": proposal.kind, **done})


def _input_of(proposal: Proposal) -> dict:
    """The payload as first given (the stored one also carries display-only fields)."""
    p = dict(proposal.payload)
    if proposal.kind == "pricing":
        return {"product_id": p["product_id"], "period_id": p["period_id"], "cells": p["cells"]}
    if proposal.kind == "allocation":
        return {k: p[k] for k in ("uplift", "aid", "services", "effective_from")}
    return p


def _enact_pricing(db: Session, proposal: Proposal, actor: Principal, today: date) -> dict:
    p = proposal.payload
    cells = [Cell(c["age_min"], c["age_max"], c["occupation_class"], Decimal(c["coefficient"]))
             for c in p["cells"]]
    table = catalog_service.create_coefficient_table(
        db, product_id=p["product_id"], cells=cells, source=f"proposal:{proposal.id}",
        actor=actor)
    catalog_service.set_period_table(db, period_id=p["period_id"], table_id=table.id,
                                     actor=actor, on=today)
    return {"coefficient_table_id": table.id, "period_id": p["period_id"],
            "version": table.version}


def _enact_allocation(db: Session, proposal: Proposal, actor: Principal) -> dict:
    """The one call into settlement: adopt the shares for the project's next close."""
    p = proposal.payload
    if not hasattr(settlement_service, "adopt_allocation_policy"):
        raise Conflict("the settlement service cannot adopt allocation policies yet")
    policy = settlement_service.adopt_allocation_policy(
        db, project_id=proposal.project_id, uplift=Decimal(p["uplift"]), aid=Decimal(p["aid"]),
        services=Decimal(p["services"]), effective_from=p["effective_from"],
        source=f"proposal:{proposal.id}", actor=actor)
    return {"allocation_policy_id": getattr(policy, "id", None),
            "effective_from": p["effective_from"]}


def _enact_election(db: Session, proposal: Proposal, result: Result, today: date) -> dict:
    by_code = {o["code"]: o.get("member_id") for o in proposal.options}
    rows = [{"proposal_id": proposal.id, "project_id": proposal.project_id,
             "member_id": by_code[code], "votes": result.counts[code], "elected_on": today}
            for code in result.elected]
    if rows:
        db.execute(insert(Representative), rows)
    return {"elected": [r["member_id"] for r in rows]}
