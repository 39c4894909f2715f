"""Buying cover as a member (/me/enrol): the products the member may buy, a confirmation
step with the terms and the health declaration, payment through the payment provider, and
the electronic policy (电子保单) once cover starts.

    /me/enrol                          what is on sale: for you, needs a lab result, not for you
    /me/enrol/{product}/{period}       the terms for this member, the declaration; confirm
    /me/policies/{id}/pay              pay the premium online; cover starts on payment
    /me/policies/{id}/document.pdf     the electronic policy, in Chinese

Confirming writes an unpaid policy with its premium due (policies.dues); confirming again
(a refresh, a second tap) finds that policy and goes on to pay it, so one policy is made.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Response

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog.models import Product, Project
from mutua.dates import today
from mutua.deps import DbSession, PathId, PathText, Router, allow, refusal_undone
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.members import dependants
from mutua.members import service as members_service
from mutua.policies import domain as policies_domain
from mutua.policies import dues, offers
from mutua.policies import service as policies_service
from mutua.policies.models import Policy
from mutua.premiums import service as premiums_service
from mutua.web import labels, policy_document
from mutua.web.i18n import format_date
from mutua.web.i18n import gettext as _
from mutua.web.pages.staff_members import occupation_groups
from mutua.web.problems import describe_all, problem_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me")
Member = Depends(allow(Role.MEMBER))

# Eligibility in plain words, by the field of the rule that refused (msgids).
REFUSALS = {
    "period": N_("This product is not on sale today. It is sold from %(start)s to %(end)s."),
    "age": N_("On the first day of cover you would be %(age)s; this product covers ages "
              "%(min)s to %(max)s."),
    "occupation_class": N_("Your occupation is in risk class %(cls)s; this product covers "
                           "classes %(classes)s."),
    "coefficient": N_("The sum-insured table has no row for your age and occupation class."),
}
ALREADY_HELD = N_("You already hold this product for this sale period.")


def explain(problem: Problem, *, product, period, member, offer) -> str:
    """One refusal as a sentence the member can act on."""
    template = REFUSALS.get(problem.field)
    if template is None:
        return problem_words(problem)
    return _(template, start=format_date(period.sale_start), end=format_date(period.sale_end),
             age=offer.age if offer else "", min=product.min_age, max=product.max_age,
             cls=member.occupation_class,
             classes="、".join(str(c) for c in product.allowed_classes))


def _row(o: offers.MemberOffer, member) -> dict:
    reasons = [explain(p, product=o.product, period=o.period, member=member, offer=o.offer)
               for p in o.problems]
    if o.held:
        reasons.append(_(ALREADY_HELD))
    return {"product": o.product, "period": o.period, "offer": o.offer, "reasons": reasons,
            "needs_labs": o.needs_lab_result and not o.held,
            "sums": _sums(o.product, o.offer)}


def _sums(product, offer) -> list[dict]:
    """Each benefit's sum insured for this member (base x their coefficient) and its
    waiting period (the benefit's own, else the product's)."""
    coef = offer.coefficient if offer.coefficient is not None else 1
    return [{"benefit": b,
             "sum_insured": policies_domain.scaled_sum_insured(b.base_sum_insured, coef),
             "daily": policies_domain.scaled_sum_insured(b.daily_amount, coef)
             if b.daily_amount is not None else None,
             "waiting_days": b.waiting_days if b.waiting_days is not None
             else product.waiting_days} for b in product.benefits]


Insured = Annotated[int | None, Query(ge=1, le=2**62)]


def insured_person(db, principal: Principal, insured: int | None):
    """Who the cover is for: the member, or a dependant they pay for (another's: 404)."""
    if insured is None or insured == principal.member_id:
        return members_service.get(db, member_id=principal.member_id, actor=principal)
    return dependants.get(db, payer_id=principal.member_id, dependant_id=insured)


@router.get("/enrol")
def enrol_page(request: Request, db: DbSession, insured: Insured = None,
               principal: Principal = Member):
    member = insured_person(db, principal, insured)
    rows = [_row(o, member) for o in offers.for_member(db, member=member, actor=principal)]
    return render(request, "member/enrol.html", eligible=[r for r in rows if not r["reasons"]],
                  needs_labs=[r for r in rows if r["needs_labs"]],
                  not_for_you=[r for r in rows if r["reasons"] and not r["needs_labs"]],
                  insured=member if member.id != principal.member_id else None,
                  family=dependants.of_payer(db, payer_id=principal.member_id))


def _offer(db, principal: Principal, member, product_code: str, period_code: str):
    found = next((o for o in offers.for_member(db, member=member, actor=principal)
                  if o.product.code == product_code and o.period.code == period_code), None)
    if found is None:
        raise NotFound("%(product_code)s is not on sale in period %(period_code)s",
                       product_code=product_code, period_code=period_code)
    return found


def _confirm_page(request: Request, db, principal: Principal, product_code: str,
                  period_code: str, *, insured: int | None = None,
                  answers: dict[str, str] | None = None,
                  problems: list[Problem] | None = None, status_code: int = 200):
    member = insured_person(db, principal, insured)
    found = _offer(db, principal, member, product_code, period_code)
    row = _row(found, member)
    on = today()
    questions = (found.product.underwriting or {}).get("declaration") or []
    by_field = {p.field: problem_words(p) for p in problems or []}
    return render(
        request, "member/enrol_confirm.html", status_code=status_code, o=row,
        questions=[{**q, "answer": (answers or {}).get(q["code"], ""),
                    "problem": by_field.pop(f"declaration.{q['code']}", None)}
                   for q in questions],
        exclusions=[_(labels.EXCLUSIONS[e]) if e in labels.EXCLUSIONS else e
                    for e in found.product.exclusions],
        cooling_days=policies_domain.COOLING_OFF_DAYS,
        last_cooling_day=on + timedelta(days=policies_domain.COOLING_OFF_DAYS - 1),
        pay_by=policies_domain.grace_end(on, found.product.grace_days),
        terms_problem=by_field.pop("accept_terms", None),
        insured=member if member.id != principal.member_id else None,
        problems=list(by_field.values()))


@router.get("/enrol/{product_code}/{period_code}")
def confirm_page(product_code: PathText, period_code: PathText, request: Request,
                 db: DbSession, insured: Insured = None, principal: Principal = Member):
    return _confirm_page(request, db, principal, product_code, period_code, insured=insured)


async def declared(request: Request) -> dict[str, str]:
    """The declaration's answers from the form (fields ``declare.<question code>``, among
    its first 40 fields, each cut to 8 characters); the rule
    (policies.domain.declaration_problems) refuses unknown codes and answers."""
    form = await request.form()
    return {k.removeprefix("declare."): str(v)[:8] for k, v in list(form.items())[:40]
            if k.startswith("declare.")}


@router.post("/enrol/{product_code}/{period_code}")
def confirm(
    product_code: PathText,
    period_code: PathText,
    request: Request,
    db: DbSession,
    answers: Annotated[dict[str, str], Depends(declared)],
    accept_terms: Annotated[str, Form(max_length=8)] = "",
    auto_renew: Annotated[str, Form(max_length=8)] = "",
    insured_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
    principal: Principal = Member,
):
    insured = insured_person(db, principal, insured_id)  # another's dependant: 404
    try:
        with refusal_undone(db):
            policy, _new = offers.confirm(db, member_id=insured.id,
                                          product_code=product_code, period_code=period_code,
                                          declaration=answers, accepted_terms=accept_terms == "yes",
                                          auto_renew=auto_renew == "yes", actor=principal)
    except (ValidationFailed, Conflict) as exc:
        problems = getattr(exc, "problems", None) or [Problem("policy", _(ALREADY_HELD))]
        return _confirm_page(request, db, principal, product_code, period_code,
                             insured=insured_id, answers=answers, problems=list(problems),
                             status_code=exc.status_code)
    return redirect(f"/me/policies/{policy.id}/pay")


# --- paying the premium: cover starts on payment --------------------------------------

def own_policy(db, policy_id: int, principal: Principal) -> Policy:
    """The member's own policy; another member's is not found (404), as the API says."""
    return policies_service.get(db, policy_id=policy_id, actor=principal)


def _pay_page(request: Request, db, principal: Principal, policy: Policy, *,
              problems: list[str] | None = None, status_code: int = 200):
    owed = dues.find(db, project_id=policy.project_id, reference=policy.policy_number)
    product = db.get(Product, policy.product_id)
    return render(request, "member/enrol_pay.html", status_code=status_code, policy=policy,
                  owed=owed, product=product, problems=problems or [])


@router.get("/policies/{policy_id}/pay")
def pay_page(policy_id: PathId, request: Request, db: DbSession,
             principal: Principal = Member):
    policy = own_policy(db, policy_id, principal)
    if policy.status != policies_domain.UNPAID:
        return redirect(f"/me/policies/{policy.id}")
    return _pay_page(request, db, principal, policy)


@router.post("/policies/{policy_id}/pay")
def pay(policy_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    """Pay through the payment provider (the fake one in the demo); its signed callback
    is taken as any provider's, and the paid due starts the cover."""
    policy = own_policy(db, policy_id, principal)
    if policy.status != policies_domain.UNPAID:
        return redirect(f"/me/policies/{policy.id}")
    project = db.get(Project, policy.project_id)
    try:
        with refusal_undone(db):
            premiums_service.pay_online(db, project_code=project.code,
                                        reference=policy.policy_number, actor=principal)
    except (ValidationFailed, Conflict, Forbidden, NotFound) as exc:
        return _pay_page(request, db, principal, own_policy(db, policy_id, principal),
                         problems=describe_all(exc), status_code=exc.status_code)
    db.refresh(policy)
    if policy.status == policies_domain.UNPAID:
        # taken but not matched to the due (paid after its pay-by date): finance sees it in
        # the reconciliation queue; My premiums shows where it stands
        return redirect("/me/premiums")
    return redirect(f"/me/policies/{policy.id}?done=enrolled")


@router.get("/policies/{policy_id}/document.pdf")
def document(policy_id: PathId, request: Request, db: DbSession,
             principal: Principal = Member) -> Response:
    policy = own_policy(db, policy_id, principal)
    return policy_document.response(db, policy)


# --- family: dependants the member pays cover for ---------------------------------------

RELATION_LABELS = {"child": N_("Child"), "parent": N_("Parent"), "spouse": N_("Spouse")}


def _family_page(request: Request, db, principal: Principal, *, form: dict | None = None,
                 problems: list[str] | None = None, status_code: int = 200):
    family = dependants.of_payer(db, payer_id=principal.member_id)
    # read as the system: these are the payer's own dependants, found by payer just above
    held = {d.id: policies_service.list_for_member(db, member_id=d.id, actor=SYSTEM)[0]
            for d in family}
    return render(request, "member/family.html", status_code=status_code, family=family,
                  policies=held, relations=RELATION_LABELS, groups=occupation_groups(),
                  form=form or {}, problems=problems or [], today=today(),
                  max_dependants=dependants.MAX_DEPENDANTS)


@router.get("/family")
def family_page(request: Request, db: DbSession, principal: Principal = Member):
    return _family_page(request, db, principal)


@router.post("/family")
def add_dependant(
    request: Request,
    db: DbSession,
    name: Annotated[str, Form(max_length=60)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    relation: Annotated[str, Form(max_length=8)] = "",
    occupation_code: Annotated[str, Form(max_length=12)] = "",
    principal: Principal = Member,
):
    form = {"name": name, "id_number": id_number, "relation": relation,
            "occupation_code": occupation_code}
    try:
        with refusal_undone(db):
            dependants.add(db, payer_id=principal.member_id, name=name, id_number=id_number,
                           relation=relation, occupation_code=occupation_code, actor=principal)
    except (ValidationFailed, Conflict) as exc:
        return _family_page(request, db, principal, form=form, problems=describe_all(exc),
                            status_code=exc.status_code)
    return redirect("/me/family?done=added")
