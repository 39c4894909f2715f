"""The staff console (/staff): each role sees only its part (admin sees all)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import Depends, Query, Request

from mutua.audit import service as audit_service
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.complaints import service as complaints_service
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, Router, allow
from mutua.health import coordination as health_coordination
from mutua.policies import service as policies_service
from mutua.settlement import service as settlement_service
from mutua.web import charts
from mutua.web.i18n import gettext as _
from mutua.web.render import SECTIONS, render

router = Router(prefix="/staff")
PAGE = 50


def open_to(key: str):
    """The dependency that admits the roles of one console section (and admin)."""
    return Depends(allow(*SECTIONS[key].roles))


@router.get("/audit")
def audit_log(
    request: Request,
    db: DbSession,
    principal: Principal = open_to("audit"),
    entity: str = Query("", max_length=40),
    entity_id: str = Query("", max_length=64),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    events = audit_service.recent(db, limit=PAGE + 1, offset=offset, entity=entity or None,
                                  entity_id=entity_id or None)
    return render(request, "staff/audit.html", events=events[:PAGE], more=len(events) > PAGE,
                  offset=offset, page=PAGE, entity=entity, entity_id=entity_id)


# --- the dashboard ----------------------------------------------------------------------

HISTORY_QUARTERS = 8


def project_figures(db, project, counts: dict, alerts: dict, open_claims: dict,
                    closes: list[dict], overdue_claims: dict | None = None,
                    overdue_alerts: dict | None = None) -> dict:
    """One project's row on the dashboard: counts now, and its last closed quarter."""
    policies, members = counts.get(project.id, (0, 0))
    last = (settlement_service.project_statement(db, project_code=project.code,
                                                 quarter=closes[-1]["quarter"])
            if closes else None)
    earned = Decimal(last["earned_premium"]) if last else None
    incurred = Decimal(last["claims_incurred"]) if last else None
    return {
        "project": project, "members": members, "policies": policies,
        "open_claims": open_claims.get(project.id, 0), "open_alerts": alerts.get(project.id, 0),
        # past their decision day (PRC Insurance Law art. 23), as the queue's overdue filter
        "overdue_claims": (overdue_claims or {}).get(project.id, 0),
        "last_quarter": last["quarter"] if last else None, "earned": earned,
        "loss_ratio": (incurred / earned) if last and earned else None,
        "reserve": Decimal(last["reserve_after"]) if last else None,
        "surplus": Decimal(last["surplus"]) if last else None,
        # open alerts nobody acknowledged in time (health.rules.ACKNOWLEDGE_WITHIN)
        "overdue_alerts": (overdue_alerts or {}).get(project.id, 0),
        "closes": closes,
        "warnings": warnings_of(last, expected_loss_ratio(project))
        + alert_warnings((overdue_alerts or {}).get(project.id, 0)),
    }


def alert_warnings(overdue: int) -> list[dict]:
    """Care alerts past their time to acknowledge are flagged with the quarter's figures.

    >>> alert_warnings(0), alert_warnings(3)
    ([], [{'kind': 'alerts', 'overdue': 3}])
    """
    return [{"kind": "alerts", "overdue": overdue}] if overdue else []


# A quarter's loss ratio this many times its products' expected loss ratio is flagged; with
# no expected ratio on file, one above 100% (claims above premium) is.
FAR_ABOVE = Decimal("1.5")


def expected_loss_ratio(project) -> Decimal | None:
    """The project's expected loss ratio: the mean of its products' (pricing assumptions)."""
    ratios = [Decimal(p.expected_loss_ratio) for p in project.products
              if p.expected_loss_ratio is not None]
    return sum(ratios) / len(ratios) if ratios else None


def warnings_of(statement: dict | None, expected: Decimal | None) -> list[dict]:
    """What needs attention in a project's last closed quarter, each with its figures.

    >>> [w["kind"] for w in warnings_of({"loss_ratio": "4.66", "reserve_after": "0.00",
    ...     "reserve_minimum": "52.42", "deficit_after": "310.00"}, Decimal("0.6"))]
    ['loss_ratio', 'reserve', 'deficit']
    """
    if not statement:
        return []
    found = []
    ratio = Decimal(statement["loss_ratio"])
    if ratio > (expected * FAR_ABOVE if expected else Decimal(1)):
        found.append({"kind": "loss_ratio", "ratio": ratio, "expected": expected})
    reserve, minimum = Decimal(statement["reserve_after"]), Decimal(statement["reserve_minimum"])
    if reserve < minimum:
        found.append({"kind": "reserve", "reserve": reserve, "minimum": minimum})
    if Decimal(statement["deficit_after"]) > 0:
        found.append({"kind": "deficit", "deficit": Decimal(statement["deficit_after"])})
    return found


def history_of(db, row: dict) -> list[dict]:
    """The selected project's last closed quarters, oldest first, for the charts."""
    return [settlement_service.project_statement(db, project_code=row["project"].code,
                                                 quarter=c["quarter"])
            for c in row["closes"][-HISTORY_QUARTERS:]]


def dashboard_charts(history: list[dict]) -> list[dict]:
    if not history:
        return []
    quarters = [h["quarter"] for h in history]
    money = charts.lines_figure(
        _("Earned premium and claims incurred by quarter"), quarters,
        {_("Earned premium"): [Decimal(h["earned_premium"]) for h in history],
         _("Claims incurred"): [Decimal(h["claims_incurred"]) for h in history]}, "¥")
    ratios = charts.lines_figure(
        _("Loss ratio by quarter"), quarters,
        {_("Loss ratio"): [Decimal(h["claims_incurred"]) / Decimal(h["earned_premium"])
                           if Decimal(h["earned_premium"]) else None for h in history]},
        percent=True)
    funds = charts.bar_figure(_("Reserve after each close"), quarters,
                              [Decimal(h["reserve_after"]) for h in history], "¥")
    return [{"id": "chart-money", "json": charts.to_json(money),
             "label": _("Earned premium and claims incurred by quarter")},
            {"id": "chart-ratio", "json": charts.to_json(ratios),
             "label": _("Loss ratio by quarter")},
            {"id": "chart-reserve", "json": charts.to_json(funds),
             "label": _("Reserve after each close")}]


@router.get("")
def dashboard(request: Request, db: DbSession, principal: Principal = open_to("dashboard"),
              project: str = Query("", max_length=32)):
    projects = catalog_service.list_projects(db)
    counts = policies_service.in_force_counts(db, on=today())
    alerts = health_coordination.open_alert_counts(db)
    current = next((p for p in projects if p.code == project), projects[0] if projects else None)
    closes: dict[str, list[dict]] = {}
    for c in settlement_service.list_closes(db, limit=100_000)[0]:  # one query, all projects
        closes.setdefault(c["project"], []).append(c)
    open_claims = claims_service.open_counts(db)
    overdue = claims_service.overdue_counts(db, on=today())
    late_alerts = health_coordination.overdue_alert_counts(db)
    rows = [project_figures(db, p, counts, alerts, open_claims, closes.get(p.code, []), overdue,
                            late_alerts) for p in projects]
    selected = next((r for r in rows if current and r["project"].id == current.id), None)
    history = history_of(db, selected) if selected else []
    chart_list = dashboard_charts(history)
    from mutua.web.pages import staff_premiums  # it imports this module

    cycle = staff_premiums.cycle_rows(db)
    cycle_charts = staff_premiums.cycle_chart(cycle)
    return render(request, "staff/dashboard.html", rows=rows, selected=selected,
                  history=history, charts=chart_list,
                  uses_charts=bool(chart_list or cycle_charts),
                  alerts_outside=alerts.get(None, 0),
                  collection=staff_premiums.collection_rows(db),
                  cycle=cycle, cycle_charts=cycle_charts,
                  age_labels=staff_premiums.AGE_LABELS,
                  complaints_overdue=complaints_service.overdue_count(db, on=today()))
