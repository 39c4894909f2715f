"""Lapse and renewal rates per project and sale period (the staff dashboard, the premiums
report): how many of a period's policies lapsed unpaid, and how many of those eligible to
renew out of it did. Two GROUP BY queries, whatever the number of policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mutua.policies import domain
from mutua.policies.models import Policy, RenewalOffer


@dataclass(frozen=True)
class PeriodRates:
    """A sale period's policies: written, lapsed unpaid; offered renewal out of it and
    what became of the offers whose cover has ended."""

    project_id: int
    period_id: int
    written: int = 0
    lapsed: int = 0
    eligible: int = 0  # offers whose cover has ended, whatever the member answered
    renewed: int = 0
    declined: int = 0
    open: int = 0  # offers still running (offered, or accepted and not yet paid)

    @property
    def lapse_rate(self) -> Decimal | None:
        """Lapsed over written: 0.05 when 5 of every 100 policies lapsed unpaid.

        >>> PeriodRates(1, 1, written=200, lapsed=10).lapse_rate
        Decimal('0.05')
        """
        return Decimal(self.lapsed) / self.written if self.written else None

    @property
    def renewal_rate(self) -> Decimal | None:
        """Renewed over eligible: 0.8 when 80 of 100 policies offered renewal renewed.

        >>> PeriodRates(1, 1, eligible=100, renewed=80).renewal_rate
        Decimal('0.8')
        """
        return Decimal(self.renewed) / self.eligible if self.eligible else None


def rates(db: Session, *, on: date, project_id: int | None = None) -> list[PeriodRates]:
    """Each project's and period's lapse and renewal figures on ``on``."""
    written = (select(Policy.project_id, Policy.period_id, func.count(),
                      func.sum(case((Policy.status == domain.LAPSED, 1), else_=0)))
               .group_by(Policy.project_id, Policy.period_id))
    ended = RenewalOffer.expires_on < on

    def count(cond):
        return func.sum(case((cond, 1), else_=0))

    offered = (select(Policy.project_id, Policy.period_id,
                      count(ended),
                      count(ended & (RenewalOffer.state == "renewed")),
                      count(RenewalOffer.state == "declined"),
                      count(RenewalOffer.state.in_(("offered", "accepted"))))
               .join(Policy, Policy.id == RenewalOffer.policy_id)
               .group_by(Policy.project_id, Policy.period_id))
    if project_id is not None:
        written = written.where(Policy.project_id == project_id)
        offered = offered.where(Policy.project_id == project_id)
    out: dict[tuple[int, int], dict] = {}
    for pid, per, n, lapsed in db.execute(written):
        out[(pid, per)] = {"written": int(n), "lapsed": int(lapsed or 0)}
    for pid, per, eligible, renewed, declined, still_open in db.execute(offered):
        out.setdefault((pid, per), {}).update(
            eligible=int(eligible or 0), renewed=int(renewed or 0),
            declined=int(declined or 0), open=int(still_open or 0))
    return [PeriodRates(pid, per, **figures) for (pid, per), figures in sorted(out.items())]
