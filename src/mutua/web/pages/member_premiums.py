"""What a member owes and paid (/me/premiums): premiums due with their grace end, online
payment through the payment provider, and a receipt (电子收据) as a PDF for each payment."""

from __future__ import annotations

from fastapi import Depends, Request, Response

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.deps import DbSession, PathId, PathText, Router, allow, refusal_undone
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.members import service as members_service
from mutua.policies import dues, renewal_offers
from mutua.policies import service as policies_service
from mutua.premiums import service as premiums_service
from mutua.web import pdf
from mutua.web.i18n import format_date, format_money
from mutua.web.i18n import gettext as _
from mutua.web.problems import describe_all, message_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me/premiums")
Member = Depends(allow(Role.MEMBER))

DUE_STATES = {"open": N_("To pay"), "paid": N_("Paid"), "lapsed": N_("Lapsed unpaid"),
              "cancelled": N_("Cancelled")}
PAYMENT_KINDS = {"premium": N_("Premium paid"), "refund": N_("Premium refunded")}


def _page(request, db, principal: Principal, *, problems: list[str] | None = None,
          status_code: int = 200):
    codes = {p.id: p.code for p in catalog_service.list_projects(db)}
    owed = dues.of_member(db, member_id=principal.member_id)
    payments = policies_service.payments_of_member(db, member_id=principal.member_id,
                                                   actor=principal)
    return render(request, "member/premiums.html", status_code=status_code, dues=owed,
                  payments=payments, codes=codes, states=DUE_STATES, kinds=PAYMENT_KINDS,
                  problems=problems or [], paid=request.query_params.get("done") == "paid",
                  renewed=request.query_params.get("done") == "renewed",
                  renewals=renewal_offers.offers_of(db, member_id=principal.member_id))


@router.get("")
def premiums(request: Request, db: DbSession, principal: Principal = Member):
    return _page(request, db, principal)


@router.post("/{project}/{reference}/pay")
def pay(request: Request, db: DbSession, project: PathText, reference: PathText,
        principal: Principal = Member):
    """Pay a due online: the fake provider takes the payment and sends its signed callback,
    which is taken as any provider's (verified, once)."""
    try:
        with refusal_undone(db):
            premiums_service.pay_online(db, project_code=project, reference=reference,
                                        actor=principal)
    except (ValidationFailed, Conflict, Forbidden, NotFound) as exc:
        problems = describe_all(exc) if getattr(exc, "problems", None) else [message_words(exc)]
        return _page(request, db, principal, problems=problems, status_code=422)
    return redirect("/me/premiums?done=paid")


@router.get("/receipts/{payment_id}.pdf")
def receipt(request: Request, db: DbSession, payment_id: PathId,
            principal: Principal = Member):
    row = next((p for p in policies_service.payments_of_member(
        db, member_id=principal.member_id, actor=principal) if p.id == payment_id), None)
    if row is None:
        raise NotFound("payment %(payment_id)s not found", payment_id=payment_id)
    member = members_service.get(db, member_id=principal.member_id, actor=principal)
    project = next(p for p in catalog_service.list_projects(db) if p.id == row.project_id)
    doc = receipt_document(row, member_number=member.member_number, member_name=member.name,
                           project_name=project.name_zh)
    return Response(pdf.render_pdf(doc), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="receipt-{payment_id}.pdf"',
                             "Cache-Control": "private, no-store"})


def receipt_document(row, *, member_number: str, member_name: str,
                     project_name: str) -> pdf.Document:
    """An electronic receipt (电子收据) for one premium payment or refund."""
    title = _("Premium receipt") if row.kind == "premium" else _("Premium refund receipt")
    rows = [(_("Receipt number"), f"R{row.id:010d}"), (_("Member number"), member_number),
            (_("Name"), member_name), (_("Project"), project_name),
            (_("Policy"), row.policy_number), (_("Date"), format_date(row.paid_on)),
            (_("Amount"), format_money(abs(row.amount)))]
    return pdf.Document(title=title, subtitle=project_name,
                        sections=[pdf.Section(_(PAYMENT_KINDS.get(row.kind, row.kind)), rows)],
                        footer=_("Issued by the mutual from its books; it is not a tax "
                                 "invoice (发票)."))
