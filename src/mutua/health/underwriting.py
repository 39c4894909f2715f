"""Kidney lab results read for other domains: the labs a kidney product is underwritten on, and
the confirmed progression a claim is decided on.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.dates import SHANGHAI, age_on
from mutua.errors import NotFound, ValidationFailed
from mutua.health import clinical, progression, series
from mutua.health.models import KidneyResult, Observation
from mutua.health.patients import EPOCH
from mutua.health.progression import Evidence
from mutua.members.models import Member
from mutua.policies import domain as policies_domain

LAB_MAX_AGE_DAYS = 90


def _lab(db: Session, member_id: int, kind: str, on: date):
    start = datetime.combine(on - timedelta(days=LAB_MAX_AGE_DAYS), datetime.min.time(),
                             SHANGHAI)
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    return db.scalar(select(Observation).where(
        Observation.member_id == member_id, Observation.kind == kind,
        Observation.effective_at >= start.astimezone(UTC),
        Observation.effective_at < end.astimezone(UTC))
        .order_by(Observation.effective_at.desc()).limit(1))


def _a_category(acr: Observation) -> str:
    """A stored ratio's albuminuria category, read in the unit its lab reported."""
    a = series.stored_acr_index(np.array([acr.value]), np.array([acr.original_value], object),
                                np.array([acr.original_unit], object))
    return clinical.A_CATEGORIES[int(a[0])]


def kidney_labs(db: Session, *, member_id: int, on: date) -> policies_domain.KidneyLabs:
    """The applicant's GFR category (latest creatinine) and albuminuria category (latest
    ACR), each from a result no older than LAB_MAX_AGE_DAYS on ``on``."""
    member = db.get(Member, member_id)
    if member is None:
        raise NotFound("member %(member)s not found", member=member_id)
    labs = policies_domain.KidneyLabs(max_age_days=LAB_MAX_AGE_DAYS)
    cr = _lab(db, member_id, "creatinine", on)
    if cr is None:
        return labs
    tested = cr.effective_at.astimezone(SHANGHAI).date()
    egfr = round(float(clinical.egfr_cr_array(np.array([cr.value]),
                                              np.array([age_on(member.birth_date, tested)]),
                                              np.array([member.sex == "F"]))[0]), 1)
    acr = _lab(db, member_id, "acr", on)
    return policies_domain.KidneyLabs(clinical.g_category(egfr), egfr, tested,
                                      _a_category(acr) if acr is not None else None,
                                      LAB_MAX_AGE_DAYS)


def underwrite(db: Session, *, member_id: int, product, on: date) -> str:
    """The applicant's stage from their own stored labs (核保), or why the product refuses.

    The creatinine (and the ACR when ``product.underwriting['needs_acr']``) must be no
    older than 90 days on ``on``; the stage must be in ``underwriting['stages']`` (and the
    albuminuria in ``underwriting['albuminuria']`` when the product lists it): the rule is
    policies.domain.kidney_problems. Returns "G3a", or "G2/A2" when the ACR is part of the
    underwriting.
    """
    uw = dict(product.underwriting or {})
    labs = kidney_labs(db, member_id=member_id, on=on)
    problems = policies_domain.kidney_problems(uw, labs)
    if problems:
        raise ValidationFailed(problems)
    return f"{labs.g}/{labs.a}" if uw.get("needs_acr") or uw.get("albuminuria") else labs.g


def confirmed_progression(db: Session, *, member_id: int, on: date) -> Evidence:
    """Is a CKD progression confirmed by stored results up to ``on``? For the claims engine."""
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    rows = db.execute(select(KidneyResult.effective_at, KidneyResult.egfr)
                      .where(KidneyResult.member_id == member_id,
                             KidneyResult.effective_at < end.astimezone(UTC))).all()
    days = [(t.astimezone(SHANGHAI).date() - EPOCH).days for t, _ in rows]
    return progression.evidence(days, [e for _, e in rows])


def evidence_dict(e: Evidence) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(e).items()}
