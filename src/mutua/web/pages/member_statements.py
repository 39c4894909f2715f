"""Quarterly statements and the project's published accounts for members.

/me/statements: each closed quarter of the member's projects, what the pool earned, paid
and returned, and what came to the member (uplift per policy, aid); a PDF of each.
/me/accounts: the project's closed quarters and its anonymised paid claims (理赔公示).
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import Depends, Query, Request
from starlette.responses import Response

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.dates import Quarter
from mutua.deps import MAX_OFFSET, DbSession, PathText, Router, allow
from mutua.errors import NotFound
from mutua.policies import service as policies_service
from mutua.settlement import service as settlement_service
from mutua.web import labels, pdf
from mutua.web.i18n import format_date, format_money, pick, set_locale
from mutua.web.i18n import gettext as _
from mutua.web.render import N_, render, use_locale

router = Router(prefix="/me")
Member = Depends(allow(Role.MEMBER))
PAGE = 50


def my_projects(db, principal: Principal) -> list:
    """The projects the member has held a policy in, oldest code first."""
    policies, _total = policies_service.list_for_member(db, member_id=principal.member_id,
                                                        actor=principal, limit=500)
    codes = sorted(policies_service.codes_of(db, policies=policies)[0].values()) if policies else []
    return [catalog_service.get_project(db, code=c) for c in codes]


def _money(text: str | None) -> Decimal:
    return Decimal(text or "0")


@router.get("/statements")
def statements(request: Request, db: DbSession, principal: Principal = Member):
    mine = settlement_service.member_statement(db, member_id=principal.member_id,
                                               actor=principal)
    quarters = list(reversed(mine["quarters"]))
    names = {p.code: p for p in my_projects(db, principal)}
    return render(request, "member/statements.html", quarters=quarters, projects=names,
                  to_money=_money)


def _statement(db, principal: Principal, project: str, quarter: str) -> dict:
    q = str(Quarter.parse(quarter))
    projects = {p.code: p for p in my_projects(db, principal)}
    if project not in projects:
        raise NotFound(f"no statement of {project} for you")
    mine = settlement_service.member_statement(db, member_id=principal.member_id, quarter=q,
                                               actor=principal)
    rows = [x for x in mine["quarters"] if x["project"] == project]
    if not rows:
        raise NotFound(f"{project} {q} has no statement for you")
    pool = settlement_service.project_statement(db, project_code=project, quarter=q)
    return {"project": projects[project], "quarter": q, "mine": rows[0], "pool": pool}


@router.get("/statements/{project}/{quarter}")
def statement(project: PathText, quarter: PathText, request: Request, db: DbSession,
              principal: Principal = Member):
    ctx = _statement(db, principal, project, quarter)
    return render(request, "member/statement.html", to_money=_money, **ctx)


@router.get("/statements/{project}/{quarter}/pdf")
def statement_pdf(project: PathText, quarter: PathText, request: Request, db: DbSession,
                  principal: Principal = Member):
    ctx = _statement(db, principal, project, quarter)
    locale = use_locale(request)
    doc = statement_document(ctx, member_number=principal.username, locale=locale)
    body = pdf.render_pdf(doc)
    filename = f"statement-{project}-{ctx['quarter']}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


POOL_LINES = (
    ("earned_premium", N_("Premium earned by the pool")),
    ("claims_paid", N_("Claims paid")),
    ("claims_incurred", N_("Claims incurred (paid, reserved and not yet reported)")),
    ("expenses", N_("Necessary costs")),
    ("result", N_("Result of the quarter")),
    ("reserve_after", N_("Reserve kept for bad quarters")),
    ("surplus", N_("Surplus")),
    ("distributable", N_("Surplus shared with members")),
)


def statement_document(ctx: dict, *, member_number: str, locale: str) -> pdf.Document:
    """The statement as a PDF document, in the reader's language."""
    set_locale(locale)
    pool, mine, project = ctx["pool"], ctx["mine"], ctx["project"]
    alloc = pool.get("allocations", {})
    pool_rows = [(_(label), format_money(_money(pool.get(key)))) for key, label in POOL_LINES]
    share_rows = [(_("Returned as extra cover"), format_money(_money(alloc.get("uplift")))),
                  (_("Aid to members with uncovered costs"), format_money(_money(alloc.get("aid")))),
                  (_("Services for members"), format_money(_money(alloc.get("services"))))]
    my_rows = [(_("Your premium earned in the quarter"), format_money(_money(mine["contribution"]))),
               (_("Your surplus share, spent on extra cover"), format_money(_money(mine["uplift"]))),
               (_("Aid paid to you"), format_money(_money(mine["aid"])))]
    for p in mine["uplift_policies"]:
        for b in p["benefits"]:
            my_rows.append((_("Policy %(number)s, %(benefit)s: sum insured added",
                              number=p["policy_number"], benefit=b["benefit"]),
                            format_money(_money(b["sum_insured_added"]))))
    period = pool.get("period", {})
    return pdf.Document(
        title=_("Quarterly statement %(quarter)s", quarter=ctx["quarter"]),
        subtitle=f"{pick(project.name_zh, project.name_en)} · {_('Member number')} "
                 f"{member_number} · {format_date(_date(period.get('start')))} – "
                 f"{format_date(_date(period.get('end')))}",
        sections=[pdf.Section(_("What the pool earned, paid and kept"), pool_rows),
                  pdf.Section(_("How the surplus was shared"), share_rows),
                  pdf.Section(_("What came to you"), my_rows,
                              note=_("Extra cover takes effect from %(day)s.",
                                     day=format_date(_date(pool.get("uplift_effective_from")))))],
        footer=_("A mutual is owned by its members: every policyholder has one vote."))


def _date(text):
    from datetime import date

    return date.fromisoformat(text) if text else None


@router.get("/accounts")
def accounts(request: Request, db: DbSession, principal: Principal = Member,
             project: str = Query("", max_length=32), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    projects = my_projects(db, principal)
    if not projects:
        return render(request, "member/accounts.html", projects=[], current=None, closes=[],
                      claims=[], offset=0, page=PAGE, more=False,
                      event_labels=labels.EVENT_TYPES)
    current = next((p for p in projects if p.code == project), projects[0])
    closes, _n = settlement_service.list_closes(db, project_code=current.code, limit=40)
    paid, total = claims_service.published(db, project_code=current.code, limit=PAGE,
                                           offset=offset)
    return render(request, "member/accounts.html", projects=projects, current=current,
                  closes=list(reversed(closes)), claims=paid, offset=offset, page=PAGE,
                  more=offset + PAGE < total, total=total, event_labels=labels.EVENT_TYPES,
                  to_money=_money)
