"""A member's answer to a renewal offer (续保) and their consent to auto-renewal.

The offer itself shows on /me, on the policy's page and on /me/premiums (the macro in
member/_renewal.html). Accepting writes the renewed policy at once, its premium owed on a
due the member pays on /me/premiums like any other; declining lets the policy end with
its period. A refusal (an offer decided meanwhile, expired, or not theirs) is shown with
its reason and changes nothing.
"""

from __future__ import annotations

from fastapi import Depends, Form, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, PathId, Router, allow, refusal_undone
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.policies import renewal_offers
from mutua.web.problems import describe_all, message_words
from mutua.web.render import redirect, render

router = Router(prefix="/me/renewals")
Member = Depends(allow(Role.MEMBER))


def _refused(request: Request, exc: Exception, policy_id: int | None):
    status = 422 if isinstance(exc, ValidationFailed) else 404 if isinstance(
        exc, NotFound) else 409
    problems = describe_all(exc) if getattr(exc, "problems", None) else [message_words(exc)]
    return render(request, "member/renewal_refused.html", status_code=status,
                  problems=problems, policy_id=policy_id)


@router.post("/{offer_id}/accept")
def accept(offer_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    try:
        with refusal_undone(db):
            renewal_offers.accept(db, offer_id=offer_id, actor=principal)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _refused(request, exc, _policy_of(db, offer_id, principal))
    return redirect("/me/premiums?done=renewed")


@router.post("/{offer_id}/decline")
def decline(offer_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    try:
        with refusal_undone(db):
            offer = renewal_offers.decline(db, offer_id=offer_id, actor=principal)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _refused(request, exc, _policy_of(db, offer_id, principal))
    return redirect(f"/me/policies/{offer.policy_id}?done=declined")


@router.post("/auto/{policy_id}")
def auto_renew(policy_id: PathId, request: Request, db: DbSession,
               auto_renew: bool = Form(False), principal: Principal = Member):
    try:
        with refusal_undone(db):
            renewal_offers.set_auto_renew(db, policy_id=policy_id, auto_renew=auto_renew,
                                          actor=principal)
    except (Conflict, NotFound) as exc:
        return _refused(request, exc, None)
    return redirect(f"/me/policies/{policy_id}?done={'auto_on' if auto_renew else 'auto_off'}")


def _policy_of(db, offer_id: int, principal: Principal) -> int | None:
    try:
        return renewal_offers.get(db, offer_id=offer_id, actor=principal).policy_id
    except NotFound:
        return None
