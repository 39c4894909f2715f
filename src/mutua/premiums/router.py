"""HTTP routes under /api/v1/premiums: dues, collection files, the reconciliation queue,
online payment and the provider's callback."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, File, Form, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.bounds import Day
from mutua.catalog import service as catalog_service
from mutua.dates import today
from mutua.deps import (
    DbSession,
    Page,
    Paging,
    PathId,
    PathText,
    ReadDbSession,
    Router,
    allow,
    in_one_trip,
    refused,
)
from mutua.errors import NotFound
from mutua.jobs import starts
from mutua.jobs.router import accepted
from mutua.jobs.schemas import JobOut
from mutua.policies import cycle_rates, dues, renewal_offers
from mutua.policies.models import Policy
from mutua.premiums import service

router = Router(prefix="/premiums", tags=["premiums"])

# Collection and reconciliation move money: finance (and administrators) only.
Finance = Annotated[Principal, Depends(allow(Role.FINANCE))]
MemberOrStaff = Annotated[Principal, Depends(allow(Role.MEMBER, Role.FINANCE,
                                                   Role.UNDERWRITER))]


class DueOut(BaseModel):
    reference: str
    policy_id: int
    amount: Decimal
    paid: Decimal
    due_on: date
    grace_end: date
    cover_start: date
    cover_end: date
    state: str
    paid_on: date | None


class FileOut(BaseModel):
    file_id: int
    lines: int
    posted: int
    queued: int
    repeated: int
    amount: Decimal
    reasons: dict[str, int]


class PaymentOut(BaseModel):
    id: int
    source: str
    transaction_id: str
    reference: str
    member_number: str
    payer: str
    amount: Decimal
    paid_on: date
    state: str
    reason: str
    matched_reference: str
    refund_id: str
    note: str
    resolved_at: datetime | None


class MatchIn(BaseModel):
    reference: str = Field(min_length=1, max_length=32)


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=500)


class CheckoutIn(BaseModel):
    project: str = Field(max_length=40)
    reference: str = Field(min_length=1, max_length=32)


class CheckoutOut(BaseModel):
    provider: str
    order_id: str
    reference: str
    amount: Decimal
    pay_url: str


class LapseIn(BaseModel):
    on: Day | None = None


class RenewalRunIn(BaseModel):
    on: Day | None = None


class AcceptIn(BaseModel):
    paid: bool = False  # the premium was paid at the counter with the acceptance
    reference: str = Field(default="", max_length=32)


class AutoRenewIn(BaseModel):
    auto_renew: bool


class RenewalOfferOut(BaseModel):
    id: int
    policy_id: int
    policy_number: str
    period_id: int
    premium: Decimal
    cover_start: date
    cover_end: date
    age_at_start: int
    coefficient: Decimal
    state: str
    offered_on: date
    expires_on: date
    by_auto_renewal: bool
    auto_renew: bool
    renewed_policy_id: int | None


class RenewalIn(BaseModel):
    product: str = Field(max_length=40)
    from_period: str = Field(max_length=20)
    to_period: str = Field(max_length=20)
    paid: bool = False
    reference: str = Field(default="", max_length=32)
    payer: str = Field(default="", max_length=100)


Underwriter = Annotated[Principal, Depends(allow(Role.UNDERWRITER))]
# The renewal run writes offers (underwriting) and premiums due (finance): either starts it.
FinanceOrUnderwriter = Annotated[Principal, Depends(allow(Role.UNDERWRITER, Role.FINANCE))]


@router.get("/members/{member_id}/dues", response_model=list[DueOut])
def member_dues(db: DbSession, actor: MemberOrStaff, member_id: PathId) -> list[DueOut]:
    """What a member owes and paid: their premiums due, newest first (members: their own)."""
    if actor.is_member and actor.member_id != member_id:
        raise NotFound("member %(member)s not found", member=member_id)
    return [DueOut.model_validate(d, from_attributes=True)
            for d in dues.of_member(db, member_id=member_id)]


@router.post("/files", status_code=202, response_model=JobOut,
             responses={422: refused("a line is bad: the whole file is refused"),
                        409: refused("the same file was taken before")})
def upload_file(request: Request, db: DbSession, actor: Finance,
                file: Annotated[UploadFile, File(description="CSV or .xlsx with columns "
                                                 "transaction_id, paid_on, amount, reference, "
                                                 "member_number, payer")],
                project: Annotated[str, Form(max_length=40)],
                source: Annotated[str, Form(max_length=20)] = "bank") -> Response:
    """Take a settlement file, as a job (202): exact payments post, the rest wait in the
    queue; the job's result is the file's report (``FileOut``). A bad line refuses the
    file now (422); the same file again is refused (409) and posts nothing."""
    data = file.file.read(request.app.state.settings.import_max_bytes + 1)
    return accepted(db, starts.collection_file(db, data=data, filename=file.filename or "",
                                               project_code=project, source=source,
                                               actor=actor))


@router.get("/queue", response_model=Page[PaymentOut])
def queue(db: DbSession, actor: Finance, paging: Paging,
          project: Annotated[str | None, Query(max_length=40)] = None,
          state: Annotated[str, Query(max_length=10,
                                      pattern="^(queued|held|matched|refunded|posted)$")]
          = "queued") -> Page[PaymentOut]:
    """Payments waiting for finance (or, by state, those already worked)."""
    rows, total = service.queue(db, project_code=project, state=state, limit=paging.limit,
                                offset=paging.offset)
    return Page(items=[PaymentOut.model_validate(r, from_attributes=True) for r in rows],
                total=total, limit=paging.limit, offset=paging.offset)


@router.post("/queue/{payment_id}/match", response_model=PaymentOut)
def match(db: DbSession, actor: Finance, payment_id: PathId, body: MatchIn) -> PaymentOut:
    """Apply a queued payment to the due (or group invoice) ``reference`` names."""
    item = service.match(db, payment_id=payment_id, reference=body.reference, actor=actor)
    return PaymentOut.model_validate(item, from_attributes=True)


@router.post("/queue/{payment_id}/refund", response_model=PaymentOut)
def refund(db: DbSession, actor: Finance, payment_id: PathId, body: NoteIn) -> PaymentOut:
    """Pay a queued payment back through the provider."""
    item = service.refund(db, payment_id=payment_id, actor=actor, note=body.note)
    return PaymentOut.model_validate(item, from_attributes=True)


@router.post("/queue/{payment_id}/hold", response_model=PaymentOut)
def hold(db: DbSession, actor: Finance, payment_id: PathId, body: NoteIn) -> PaymentOut:
    """Keep a queued payment in suspense, saying why."""
    item = service.hold(db, payment_id=payment_id, note=body.note, actor=actor)
    return PaymentOut.model_validate(item, from_attributes=True)


@router.post("/checkout", response_model=CheckoutOut)
def checkout(db: DbSession, actor: MemberOrStaff, body: CheckoutIn) -> CheckoutOut:
    """Start paying a due online; the provider's callback posts the payment."""
    c = service.checkout(db, project_code=body.project, reference=body.reference, actor=actor)
    return CheckoutOut(**c.__dict__)


@router.post("/lapse", status_code=202, response_model=JobOut)
def lapse(db: DbSession, actor: Finance, body: LapseIn) -> Response:
    """Lapse every policy unpaid past its grace end, as a job (set-based; running it again
    lapses nothing more)."""
    return accepted(db, starts.lapse(db, on=body.on or today(), actor=actor))


@router.post("/renewals", status_code=202, response_model=JobOut)
def renew(db: DbSession, actor: Underwriter, body: RenewalIn) -> Response:
    """Renew a product's policies in force from one sale period into the next, as a job:
    new policies linked to the last, cover continuing, re-rated; owed on one group invoice
    unless ``paid``. The result lists the policies not renewed and why."""
    return accepted(db, starts.renewal(db, product_code=body.product,
                                       from_period=body.from_period, to_period=body.to_period,
                                       actor=actor, on=today(), paid=body.paid,
                                       reference=body.reference, payer=body.payer))


class PeriodReportOut(BaseModel):
    project_id: int
    period_id: int
    premiums_due: Decimal
    collected: Decimal
    collection_rate: Decimal | None
    owed_by_age: list[Decimal]  # 0-30, 31-60, 61-90, over 90 days since due
    written: int
    lapsed: int
    lapse_rate: Decimal | None
    eligible_to_renew: int
    renewed: int
    declined: int
    offers_open: int
    renewal_rate: Decimal | None


@router.get("/report", response_model=list[PeriodReportOut])
def report(db: ReadDbSession, actor: FinanceOrUnderwriter,
           project: Annotated[str | None, Query(max_length=32)] = None
           ) -> list[PeriodReportOut]:
    """Per project and sale period: collection rate and aged receivables, lapse rate
    (lapsed over written) and renewal rate (renewed over eligible to renew)."""

    project_id = catalog_service.get_project(db, code=project).id if project else None
    on = today()
    money = {(c.project_id, c.period_id): c
             for c in dues.collection(db, on=on, project_id=project_id)}
    out = []
    for r in cycle_rates.rates(db, on=on, project_id=project_id):
        c = money.get((r.project_id, r.period_id))
        out.append(PeriodReportOut(
            project_id=r.project_id, period_id=r.period_id,
            premiums_due=c.due if c else 0, collected=c.collected if c else 0,
            collection_rate=c.rate if c else None,
            owed_by_age=list(c.owed_by_age) if c else [0, 0, 0, 0], written=r.written,
            lapsed=r.lapsed, lapse_rate=r.lapse_rate, eligible_to_renew=r.eligible,
            renewed=r.renewed, declined=r.declined, offers_open=r.open,
            renewal_rate=r.renewal_rate))
    return out


class RefundOut(BaseModel):
    reference: str
    refund_id: str


@router.post("/lapsed/{project}/{reference}/refund", response_model=RefundOut)
def refund_lapsed(db: DbSession, actor: Finance, project: PathText, reference: PathText
                  ) -> RefundOut:
    """Pay back, through the payment provider, what was paid on a due or group invoice
    before it lapsed (once: a second attempt is 409)."""
    refund_id = service.refund_lapsed(db, project_code=project, reference=reference,
                                      actor=actor)
    return RefundOut(reference=reference, refund_id=refund_id)


@router.post("/renewal-run", status_code=202, response_model=JobOut)
def renewal_run(db: DbSession, actor: FinanceOrUnderwriter, body: RenewalRunIn) -> Response:
    """The daily renewal run, as a job: offers to policies ending soon, notices to members
    not renewing, auto-renewals at the period end, ended offers settled (safe to re-run)."""
    return accepted(db, starts.renewal_run(db, on=body.on or today(), actor=actor))


def _offer_out(offer, policy) -> RenewalOfferOut:
    return RenewalOfferOut(
        id=offer.id, policy_id=offer.policy_id, policy_number=policy.policy_number,
        period_id=offer.period_id, premium=offer.premium, cover_start=offer.cover_start,
        cover_end=offer.cover_end, age_at_start=offer.age_at_start,
        coefficient=offer.coefficient, state=offer.state, offered_on=offer.offered_on,
        expires_on=offer.expires_on, by_auto_renewal=offer.by_auto_renewal,
        auto_renew=policy.auto_renew, renewed_policy_id=offer.renewed_policy_id)


@router.get("/renewal-offers/mine", response_model=list[RenewalOfferOut])
def my_renewal_offers(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))]
                      ) -> list[RenewalOfferOut]:
    """The signed-in member's renewal offers, newest first."""
    return [_offer_out(o, p) for o, p in renewal_offers.offers_of(db, member_id=actor.member_id)]


@router.post("/renewal-offers/{offer_id}/accept", response_model=RenewalOfferOut)
def accept_renewal(db: DbSession, actor: MemberOrStaff, offer_id: PathId, body: AcceptIn
                   ) -> RenewalOfferOut:
    """Renew: the renewed policy is written now, its premium owed on a due the member pays
    (``POST /premiums/checkout``), or paid at the counter. Twice, or at once: 409."""
    renewal_offers.accept(db, offer_id=offer_id, actor=actor, paid=body.paid,
                          reference=body.reference)
    return _offer_and_policy(db, offer_id, actor)


@router.post("/renewal-offers/{offer_id}/decline", response_model=RenewalOfferOut)
def decline_renewal(db: DbSession, actor: MemberOrStaff, offer_id: PathId) -> RenewalOfferOut:
    """Do not renew: the policy ends with its period."""
    renewal_offers.decline(db, offer_id=offer_id, actor=actor)
    return _offer_and_policy(db, offer_id, actor)


@router.put("/policies/{policy_id}/auto-renew", response_model=RenewalOfferOut | None)
def auto_renew(db: DbSession, actor: MemberOrStaff, policy_id: PathId, body: AutoRenewIn
               ) -> RenewalOfferOut | None:
    """Give or withdraw consent to auto-renewal; answers the policy's offer, if it has one."""
    policy = renewal_offers.set_auto_renew(db, policy_id=policy_id, auto_renew=body.auto_renew,
                                           actor=actor)
    offer = renewal_offers.offer_for(db, policy_id=policy.id)
    return _offer_out(offer, policy) if offer else None


def _offer_and_policy(db, offer_id: int, actor: Principal) -> RenewalOfferOut:
    db.flush()
    offer = renewal_offers.get(db, offer_id=offer_id, actor=actor)
    db.refresh(offer)
    return _offer_out(offer, db.get(Policy, offer.policy_id))


@router.post("/callbacks/{provider}")
async def provider_callback(request: Request, db: DbSession, provider: PathText,
                            x_signature: Annotated[str, Header(max_length=128)] = "") -> dict:
    """The payment provider's signed notice of a payment (no sign-in: the HMAC signature
    under the configured secret is the credential; replays and forgeries are refused)."""
    body = await request.body()  # bounded by the body guard before any route
    return await in_one_trip(db, lambda: service.receive_callback(
        db, provider_name=provider[:20], body=body, signature=x_signature,
        now=int(time.time())))
