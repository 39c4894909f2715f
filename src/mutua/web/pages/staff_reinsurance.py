"""The reinsurance and solvency page (/staff/reinsurance): treaties with what they have
recovered, recoveries (receivable or received), and the mutual's C-ROSS solvency report
for a quarter. Filing a treaty and recording a payment are the API's and the CLI's
(docs/operations.md)."""

from __future__ import annotations

from fastapi import Query, Request

from mutua.auth.security import Principal
from mutua.dates import Quarter, today
from mutua.deps import MAX_OFFSET, DbSession, Router
from mutua.errors import ValidationFailed
from mutua.reinsurance import service
from mutua.settlement import capital
from mutua.web.pages.staff import open_to
from mutua.web.render import N_, render

router = Router(prefix="/staff/reinsurance")
PAGE = 50
KIND_LABELS = {"per_risk": N_("Per-risk excess of loss"),
               "catastrophe": N_("Catastrophe excess of loss (per event)")}


@router.get("")
def reinsurance_page(request: Request, db: DbSession,
                     principal: Principal = open_to("reinsurance"),
                     quarter: str = Query("", max_length=16),
                     offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    treaties, treaty_count = service.list_treaties(db, limit=PAGE)
    recoveries, total = service.list_recoveries(db, limit=PAGE, offset=offset)
    try:
        q = Quarter.parse(quarter) if quarter else Quarter.of(today()).previous()
    except ValidationFailed:
        q = Quarter.of(today()).previous()
    return render(request, "staff/reinsurance.html", treaties=treaties,
                  treaty_count=treaty_count, recoveries=recoveries, total=total,
                  offset=offset, page=PAGE, more=offset + PAGE < total, kinds=KIND_LABELS,
                  quarter=str(q), solvency=capital.solvency_report(db, quarter=str(q)))
