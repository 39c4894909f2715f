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
from mutua.policies import cover as policy_cover
from mutua.policies import service as policies_service
from mutua.settlement import service as settlement_service
from mutua.web import labels, pdf
from mutua.web.i18n import format_date, format_money, pick, set_locale
from mutua.web.i18n import gettext as _
from mutua.web.render import N_, render, use_locale

router = Router(prefix="/me")
Member = Depends(allow(Role.MEMBER))
PAGE = 50
# Paid claims are summed by kind first; the list itself goes ten at a time, so the page stays
# short on a phone (each claim is a card of seven lines there).
PUBLISHED_PAGE = 10


def my_projects(db, principal: Principal) -> list:
    """The projects the member has held a policy in, oldest code first."""
    policies, _total = policies_service.list_for_member(db, member_id=principal.member_id,
                                                        actor=principal, limit=500)
    codes = sorted(policy_cover.codes_of(db, policies=policies)[0].values()) if policies else []
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
        raise NotFound("no statement of %(project)s for you", project=project)
    mine = settlement_service.member_statement(db, member_id=principal.member_id, quarter=q,
                                               actor=principal)
    rows = [x for x in mine["quarters"] if x["project"] == project]
    if not rows:
        raise NotFound("%(project)s %(q)s has no statement for you", project=project, q=q)
    pool = settlement_service.project_statement(db, project_code=project, quarter=q)
    return {"project": projects[project], "quarter": q, "mine": rows[0], "pool": pool}


@router.get("/statements/{project}/{quarter}")
def statement(project: PathText, quarter: PathText, request: Request, db: DbSession,
              principal: Principal = Member):
    ctx = _statement(db, principal, project, quarter)
    return render(request, "member/statement.html", to_money=_money, **page_parts(ctx), **ctx)


def page_parts(ctx: dict) -> dict:
    """What the statement templates (member's and staff's) show beyond the stored figures."""
    return {"sections": statement_sections(ctx["pool"]),
            "uplift_sentence": uplift_sentence(ctx["pool"]),
            "why_not": [why_not_text(r) for r in ctx["mine"].get("not_uplifted", [])],
            "first_counted": ctx["pool"].get("claims_payable_first_counted", False),
            "ibnr_method": labels.IBNR_BASES.get((ctx["pool"].get("ibnr_basis") or {}).get("method")),
            "returned": [returned_text(r) for r in ctx["mine"].get("uplift_returned", [])]}


def returned_text(row: dict) -> str:
    """A cancelled policy's unused extra cover, given back to the pool."""
    return _("Policy %(policy)s was cancelled on %(day)s: the %(amount)s of surplus that "
             "bought its extra cover and was not yet used went back to the pool.",
             policy=row["policy_number"], day=format_date(_date(row["cancelled_on"])),
             amount=format_money(_money(row["returned_to_pool"])))


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


# The project statement as it reads, section by section: each line follows from those
# before it (docs/statements.md), so a member can recompute it with a calculator. A line
# is (statement key, label msgid, sign) with sign "+", "-" or "=" (a subtotal).
STATEMENT_SECTIONS = (
    (N_("What the pool earned and what its claims cost"), (
        ("earned_premium", N_("Premium earned by the pool"), "+"),
        ("uplift_premium_earned", N_("Premium earned on extra cover bought from surplus"), "+"),
        ("uplift_premium_returned", N_("Extra cover given back by cancelled policies"), "+"),
        ("claims_paid", N_("Claims paid"), "-"),
        ("claims_payable_change", N_("Change in claims approved, not yet paid"), "-"),
        ("case_reserve_change", N_("Change in reserves for claims reported, not yet decided"),
         "-"),
        ("ibnr_change", N_("Change in the reserve for claims not yet reported"), "-"),
        ("claims_incurred", N_("Claims incurred (the four lines above)"), "="),
        ("unexpired_risk_change", N_("Change in the reserve for cover still to run, where "
                                     "its premium falls short"), "-"),
        ("expenses", N_("Necessary costs"), "-"),
        ("result_gross", N_("Result before reinsurance"), "="),
        ("reinsurance_ceded", N_("Premium paid to reinsurers"), "-"),
        ("reinsurance_recovered", N_("Claims recovered from reinsurers"), "+"),
        ("result", N_("Result of the quarter, net of reinsurance"), "="))),
    (N_("Necessary costs against their cap"), (
        ("expenses_actual", N_("Costs of running the pool in the quarter"), "+"),
        ("expenses_over_cap", N_("Above the cap, borne by the operator"), "-"),
        ("expenses", N_("Charged to the pool (never above the cap)"), "="),
        ("expense_cap", N_("The cap: earned premium times the expense loading"), " "))),
    (N_("The reserve kept for bad quarters"), (
        ("reserve_before", N_("Reserve before the close"), "+"),
        ("reserve_set_aside", N_("Set aside from this quarter's result"), "+"),
        ("reserve_drawn", N_("Drawn to cover this quarter's loss"), "-"),
        ("reserve_after", N_("Reserve after the close"), "="))),
    (N_("Losses carried"), (
        ("deficit_before", N_("Deficit carried from earlier quarters"), "+"),
        ("deficit_made_good", N_("Made good from this quarter's result"), "-"),
        ("deficit_after", N_("Deficit carried forward"), "="))),
    (N_("The surplus"), (
        ("surplus", N_("Surplus of the quarter (result less deficit made good and reserve)"),
         "+"),
        ("undistributed_before", N_("Held from earlier closes, with money carried for extra "
                                    "cover"), "+"),
        ("start_up_costs_recovered", N_("Start-up costs recovered"), "-"),
        ("operating_fund_repaid", N_("Initial operating fund repaid"), "-"),
        ("distributable", N_("Surplus shared with members"), "="))),
    (N_("How the surplus was shared"), (
        ("allocations.uplift", N_("Spent on extra cover"), "+"),
        ("allocations.carried", N_("Carried to the next close for extra cover"), "+"),
        ("allocations.aid", N_("Aid to members with uncovered costs"), "+"),
        ("allocations.services", N_("Services for members"), "+"))),
)


def statement_value(pool: dict, key: str) -> Decimal:
    """A line of a stored statement; closes stored before a line existed booked none of it
    (and set aside what their net reserve contribution was, when positive). A line signed
    " " is shown for reference and takes no part in the sums."""
    if key.startswith("allocations."):
        return _money((pool.get("allocations") or {}).get(key.split(".", 1)[1]))
    if key == "result_gross" and key not in pool:  # closed before reinsurance existed
        return _money(pool.get("result"))
    if key == "expenses_actual" and key not in pool:  # closed before costs had categories
        return _money(pool.get("expenses"))
    if key == "reserve_set_aside" and key not in pool:
        return max(_money(pool.get("reserve_contribution")), Decimal(0))
    return _money(pool.get(key))


def statement_sections(pool: dict) -> list[tuple[str, list[tuple[str, Decimal, str]]]]:
    """The statement's sections with their lines, translated, for the page and the PDF."""
    return [(_(heading), [(_(label), statement_value(pool, key), sign)
                          for key, label, sign in lines])
            for heading, lines in STATEMENT_SECTIONS]


def uplift_sentence(pool: dict) -> str:
    """What the close did to members' cover, in one sentence."""
    if pool.get("uplift_rate_percent") is None:
        return ""
    if _money(pool.get("uplift_rate")) == 0:
        return _("No cover was raised from this quarter's surplus.")
    return _("Every eligible policy's sum insured rose by %(rate)s%% from %(day)s.",
             rate=pool["uplift_rate_percent"],
             day=format_date(_date(pool.get("uplift_effective_from"))))


def statement_document(ctx: dict, *, member_number: str, locale: str) -> pdf.Document:
    """The statement as a PDF document, in the reader's language."""
    set_locale(locale)
    pool, mine, project = ctx["pool"], ctx["mine"], ctx["project"]
    sections = [pdf.Section(heading, [(f"{'= ' if sign == '=' else ''}{label}",
                                       format_money(value)) for label, value, sign in lines])
                for heading, lines in statement_sections(pool)]
    sections[-1].note = uplift_sentence(pool)
    my_rows = [(_("Premium you paid for this cover"), format_money(_money(mine.get("paid")))),
               (_("Your premium earned in the quarter"), format_money(_money(mine["contribution"]))),
               (_("Your surplus share, spent on extra cover"), format_money(_money(mine["uplift"]))),
               (_("Aid paid to you"), format_money(_money(mine["aid"])))]
    for p in mine["uplift_policies"]:
        for b in p["benefits"]:
            my_rows.append((_("Policy %(number)s, %(benefit)s: sum insured added",
                              number=p["policy_number"], benefit=b["benefit"]),
                            format_money(_money(b["sum_insured_added"]))))
    notes = [why_not_text(r) for r in mine.get("not_uplifted", [])]
    period = pool.get("period", {})
    return pdf.Document(
        title=_("Quarterly statement %(quarter)s", quarter=ctx["quarter"]),
        subtitle=f"{pick(project.name_zh, project.name_en)} · {_('Member number')} "
                 f"{member_number} · {format_date(_date(period.get('start')))} – "
                 f"{format_date(_date(period.get('end')))}",
        sections=[*sections,
                  pdf.Section(_("What came to you"), my_rows,
                              note=" ".join([_("Extra cover takes effect from %(day)s.",
                                               day=format_date(_date(
                                                   pool.get("uplift_effective_from")))),
                                             *notes]))],
        footer=_("A mutual is owned by its members: every policyholder has one vote."))


def why_not_text(row: dict) -> str:
    """Why a policy's cover did not rise, as a sentence (allocation.why_not_uplifted)."""
    number = row["policy_number"]
    if row["reason"] == "too_few_days":
        return _("Policy %(number)s had %(days)s days of cover left when the rise took "
                 "effect; cover rises with at least %(min)s days left.", number=number,
                 days=row["days_left"], min=row["min_uplift_days"])
    if row["reason"] == "cancelled":
        return _("Policy %(number)s was cancelled (cover ended %(day)s) before the rise took "
                 "effect.", number=number, day=format_date(_date(row["cover_end"])))
    if row["reason"] == "ended":
        return _("Policy %(number)s was not in force when the rise took effect (cover ended "
                 "%(day)s).", number=number, day=format_date(_date(row["cover_end"])))
    if row["reason"] == "nothing_to_raise":
        return _("Policy %(number)s pays daily amounts, which an uplift does not raise.",
                 number=number)
    return _("Policy %(number)s: no cover was raised from this quarter's surplus.",
             number=number)


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
    paid, total = claims_service.published(db, project_code=current.code,
                                           limit=PUBLISHED_PAGE, offset=offset)
    return render(request, "member/accounts.html", projects=projects, current=current,
                  closes=list(reversed(closes)), claims=paid, offset=offset,
                  page=PUBLISHED_PAGE, more=offset + PUBLISHED_PAGE < total, total=total,
                  by_kind=claims_service.published_totals(db, project_code=current.code),
                  event_labels=labels.EVENT_TYPES, to_money=_money)
