"""The electronic policy (电子保单): a PDF in Chinese issued once cover starts, that the
member downloads from their policy page and staff from the member's page.

It says what the policy is and what it covers as the books hold it today: number, member
and insured person, product and period, cover dates, each benefit's sum insured (uplifts
from surplus included) and waiting period, premium paid, exclusions, the declaration the
member made, the cooling-off right and how to claim.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import SYSTEM
from mutua.catalog.models import Product, Project, SalePeriod
from mutua.errors import Conflict, Worded
from mutua.members import service as members_service
from mutua.money import ZERO
from mutua.policies import cover as policy_cover
from mutua.policies import domain as policies_domain
from mutua.policies.models import Policy, PremiumPayment
from mutua.web import labels, pdf
from mutua.web.i18n import current_locale, format_date, format_money, set_locale
from mutua.web.i18n import gettext as _
from mutua.web.render import N_

NOT_ISSUED = Worded("the policy document is issued when cover starts; this policy's premium "
                    "is not paid")
ANSWERS = {"yes": N_("Yes"), "no": N_("No")}


def response(db: Session, policy: Policy) -> Response:
    """The PDF as a download (the caller has checked the reader may see the policy)."""
    if policy.status in (policies_domain.UNPAID, policies_domain.LAPSED):
        raise Conflict(NOT_ISSUED)
    was = current_locale()
    set_locale("zh_CN")  # an electronic policy is issued in Chinese, whoever reads it
    try:
        body = pdf.render_pdf(document(db, policy))
    finally:
        set_locale(was)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="policy-{policy.policy_number}.pdf"',
        "Cache-Control": "private, no-store"})


def document(db: Session, policy: Policy) -> pdf.Document:
    product = db.get(Product, policy.product_id)
    project = db.get(Project, policy.project_id)
    period = db.get(SalePeriod, policy.period_id)
    insured = members_service.get(db, member_id=policy.member_id, actor=SYSTEM)
    # a dependant's policy is held and paid for by the member who pays for them
    holder = members_service.get(db, member_id=insured.payer_id, actor=SYSTEM) \
        if insured.payer_id is not None else insured
    cover = policy_cover.cover_on(db, policy_id=policy.id,
                                  on=max(policy.cover_start, min(policy.cover_end,
                                                                 policy.enrolled_on)))
    names = {b.code: b.name_zh for b in product.benefits}
    paid = db.scalar(select(func.coalesce(func.sum(PremiumPayment.amount), 0)).where(
        PremiumPayment.policy_id == policy.id, PremiumPayment.kind == "premium")) or ZERO
    sections = [
        pdf.Section(_("Policy"), [
            (_("Policy number"), policy.policy_number),
            (_("Policyholder (member)"), f"{holder.name} {holder.member_number}"),
            (_("Insured person"), insured.name),
            (_("Product"), product.name_zh), (_("Sale period"), period.code),
            (_("Enrolled on"), format_date(policy.enrolled_on)),
            (_("Cover"), f"{format_date(policy.cover_start)} – {format_date(policy.cover_end)}"),
            (_("Premium paid"), format_money(paid))]),
        pdf.Section(_("Benefits and sums insured"), [
            (names.get(b.code, b.code), format_money(b.sum_insured)) for b in cover.benefits],
            note=_("Sums insured include any uplift from the pool's surplus so far.")),
        pdf.Section(_("Waiting periods"), [
            (names.get(b.code, b.code),
             _("%(days)s days, to %(day)s", days=b.waiting_days,
               day=format_date(policy.cover_start + timedelta(days=b.waiting_days - 1)))
             if b.waiting_days else _("None")) for b in cover.benefits],
            note=_("A claim for an event in a benefit's waiting period is not paid; a renewal "
                   "without a gap starts no new waiting period.")),
        pdf.Section(_("Main exclusions"), [
            (_(labels.EXCLUSIONS[e]) if e in labels.EXCLUSIONS else e, "")
            for e in product.exclusions] or [(_("None"), "")]),
    ]
    if policy.declaration:
        sections.append(pdf.Section(_("Health declaration"), [
            (q["zh"], _(ANSWERS.get(q["answer"], q["answer"]))) for q in policy.declaration]))
    last_cooling = policy.enrolled_on + timedelta(days=policies_domain.COOLING_OFF_DAYS - 1)
    sections.append(pdf.Section(_("Your rights and how to claim"), [], note=_(
        "Cooling-off: cancel by %(day)s for a full refund of the premium; later, the unearned "
        "premium is refunded. To claim, report it on the member portal (My claims) with the "
        "documents the claim form lists; a complete claim is decided within 30 days.",
        day=format_date(last_cooling))))
    return pdf.Document(title=_("Electronic policy"), subtitle=project.name_zh,
                        sections=sections,
                        footer=_("Issued by the mutual from its records; the policy terms of "
                                 "the product apply."))
