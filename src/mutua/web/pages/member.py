"""The member portal (/me): a member's own policies, claims, statements, votes and health.

Every page reads through the domain services as the signed-in member. A record that exists
but belongs to another member answers with the forbidden page, so a typed URL shows plainly
why it does not open.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Request

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.dates import today
from mutua.deps import DbSession, PathId, Router, allow
from mutua.errors import Conflict, Forbidden
from mutua.members import service as members_service
from mutua.policies import cancellation, renewal_offers
from mutua.policies import cover as policy_cover
from mutua.policies import domain as policies_domain
from mutua.policies import service as policies_service
from mutua.settlement import service as settlement_service
from mutua.web.i18n import format_money
from mutua.web.i18n import gettext as _
from mutua.web.pages import member_statements
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me")
Member = Depends(allow(Role.MEMBER))

POLICY_STATUS = {"in_force": N_("In force"), "cancelled": N_("Cancelled"),
                 "expired": N_("Ended"), "waiting": N_("Starts soon"),
                 "unpaid": N_("Awaiting premium"), "lapsed": N_("Lapsed unpaid")}
DONE = {"enrolled": N_("You are covered. Your policy is below."),
        "claim": N_("Your claim is reported. We will tell you each step here."),
        "voted": N_("Your vote is counted. Keep your receipt."),
        "result": N_("Your result is saved."),
        "feedback": N_("Thank you. Your message has been sent."),
        "rated": N_("Thank you for rating."),
        "registered": N_("You are registered for the meeting."),
        "declined": N_("You chose not to renew. Your cover ends with this period."),
        "auto_on": N_("This policy will be renewed at the end of its period unless you "
                      "change your mind."),
        "auto_off": N_("This policy will not be renewed without your answer."),
        "not_registered": N_("You could not register: you are already registered, or the "
                             "meeting is full or over.")}


def flash(request: Request) -> str | None:
    key = request.query_params.get("done")
    return _(DONE[key]) if key in DONE else None


def own(record_member_id: int, principal: Principal) -> None:
    """Refuse a record of another member with 403 (the forbidden page)."""
    if principal.member_id != record_member_id:
        raise Forbidden("this record belongs to another member")


def policy_state(cover, on) -> str:
    if cover.status != "in_force":
        return cover.status
    if on < cover.cover_start:
        return "waiting"
    return "in_force" if on <= cover.cover_end else "expired"


def _products(db, codes) -> dict:
    return {code: catalog_service.get_product(db, code=code) for code in set(codes)}


@router.get("")
def home(request: Request, db: DbSession, principal: Principal = Member):
    on = today()
    member = members_service.get(db, member_id=principal.member_id, actor=principal)
    policies, _total = policies_service.list_for_member(db, member_id=member.id, actor=principal)
    covers = [policy_cover.cover_on(db, policy_id=p.id, on=max(on, p.cover_start))
          for p in policies]
    products = _products(db, [c.product_code for c in covers])
    rows = [{"cover": c, "product": products[c.product_code], "state": policy_state(c, on),
             "benefits": _benefit_rows(products[c.product_code], c)} for c in covers]
    return render(request, "member/home.html", member=member, rows=rows, flash=flash(request),
                  status_labels=POLICY_STATUS,
                  renewals=renewal_offers.by_policy(db, member_id=member.id))


def _benefit_rows(product, cover) -> list[dict]:
    names = {b.code: b for b in product.benefits}
    return [{"benefit": names[b.code], "cover": b} for b in cover.benefits]


def own_policy(db, policy_id: int, principal: Principal):
    """The member's own policy, or a dependant's they pay for; another member's is refused
    (403), an unknown one is 404."""
    policy = policies_service.get(db, policy_id=policy_id, actor=SYSTEM)
    if not policies_service.acts_for(db, actor=principal, member_id=policy.member_id):
        own(policy.member_id, principal)
    return policy


# States in which a member may still cancel (a policy waiting to start may be cancelled too).
CANCELLABLE = ("in_force", "waiting")


def cancelled_flash(request: Request, policy) -> str | None:
    """After a cancellation, the refund as stored on the policy (never taken from the URL)."""
    if request.query_params.get("done") != "cancelled" or policy.status != "cancelled":
        return None
    if policy.refund > 0:
        return _("Your policy is cancelled. %(amount)s will be refunded to you.",
                 amount=format_money(policy.refund))
    return _("Your policy is cancelled. No premium is left to refund.")


@router.get("/policies/{policy_id}")
def policy_page(policy_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    policy = own_policy(db, policy_id, principal)
    on = today()
    cover = policy_cover.cover_on(db, policy_id=policy.id, on=max(on, policy.cover_start))
    product = catalog_service.get_product(db, code=cover.product_code)
    names = {b.code: b for b in product.benefits}
    uplifts = [{"benefit": names[code], "uplift": u}
               for code, u in policy_cover.uplifts_of(db, policy_ids=[policy.id])[policy.id]]
    state = policy_state(cover, on)
    rises = settlement_service.policy_rises(db, policy=policy)
    for r in rises:
        r["why_not"] = member_statements.why_not_text(r["not_uplifted"]) \
            if r["not_uplifted"] else ""
    return render(request, "member/policy.html", cover=cover, product=product,
                  benefits=_benefit_rows(product, cover), uplifts=uplifts, rises=rises,
                  state=state, status_labels=POLICY_STATUS, policy=policy,
                  may_cancel=state in CANCELLABLE,
                  renewal=renewal_offers.offer_for(db, policy_id=policy.id),
                  may_auto_renew=policy.status in (policies_domain.IN_FORCE,
                                                   policies_domain.UNPAID),
                  flash=cancelled_flash(request, policy) or flash(request))


# --- cancelling one's own policy (退保) -------------------------------------------------

NOT_CANCELLABLE = N_("This policy is no longer in force, so it cannot be cancelled. "
                     "Nothing has been changed.")


def _cancel_page(request: Request, db, policy, *, status_code: int = 200, refused: bool = False):
    """The refund the member would get today, and the confirm form; or why they cannot."""
    product = catalog_service.get_product(db, code=policy_cover.cover_on(
        db, policy_id=policy.id, on=policy.cover_start).product_code)
    on = today()
    quote = None
    if not refused:
        try:
            quote = cancellation.refund_quote(policy, on=on, product=product)
        except Conflict:
            refused, status_code = True, 409
    last_cooling_day = policy.enrolled_on + timedelta(days=policies_domain.COOLING_OFF_DAYS - 1)
    return render(request, "member/policy_cancel.html", status_code=status_code, policy=policy,
                  product=product, quote=quote, started=on >= policy.cover_start,
                  last_cooling_day=last_cooling_day,
                  cooling_days=policies_domain.COOLING_OFF_DAYS,
                  refused=_(NOT_CANCELLABLE) if refused else None)


@router.get("/policies/{policy_id}/cancel")
def cancel_page(policy_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    return _cancel_page(request, db, own_policy(db, policy_id, principal))


@router.post("/policies/{policy_id}/cancel")
def cancel_policy(
    policy_id: PathId,
    request: Request,
    db: DbSession,
    # kept with the refund payment as its reference (64 characters there)
    reason: Annotated[str, Form(max_length=64)] = "",
    principal: Principal = Member,
):
    policy = own_policy(db, policy_id, principal)
    try:
        cancellation.cancel(db, policy_id=policy.id, actor=principal, reason=reason.strip())
    except Conflict:
        db.rollback()
        return _cancel_page(request, db, own_policy(db, policy_id, principal), status_code=409,
                            refused=True)
    return redirect(f"/me/policies/{policy.id}?done=cancelled")
