"""Adjudication rules, one test per rule; every reason code is reached here."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.claims.adjudication import (
    APPROVE,
    DENY,
    PARTLY_APPROVE,
    BenefitTerms,
    ClaimFacts,
    ItemFacts,
    PolicyTerms,
    PriorItem,
    Reason,
    adjudicate,
    check_claim,
    disability_share,
)

D = Decimal
START = date(2026, 1, 1)


def policy(**overrides) -> PolicyTerms:
    benefits = (
        BenefitTerms(benefit_id=1, code="DEATH", kind="accidental_death", sum_insured=D("100000")),
        BenefitTerms(benefit_id=2, code="DIS", kind="disability", sum_insured=D("100000"),
                     shares_sum_insured_with="DEATH"),
        BenefitTerms(benefit_id=3, code="MED", kind="accidental_medical", sum_insured=D("20000"),
                     deductible=D("100"), coinsurance_with_social=D("1.0"),
                     coinsurance_without_social=D("0.6")),
        BenefitTerms(benefit_id=4, code="SUDDEN", kind="sudden_death", sum_insured=D("50000"),
                     waiting_days=30),
        BenefitTerms(benefit_id=5, code="CASH", kind="hospital_allowance", sum_insured=D("0"),
                     daily_amount=D("50"), max_days=30),
        BenefitTerms(benefit_id=6, code="CKD", kind="ckd_progression", sum_insured=D("30000")),
    )
    fields = dict(policy_id=1, status="in_force", cover_start=START, cover_end=date(2026, 12, 31),
                  occupation_class=5, benefits=benefits, waiting_days=0,
                  exclusions=frozenset({"drunk_driving", "self_harm"}),
                  covered_classes=frozenset(range(1, 7)))
    fields.update(overrides)
    return PolicyTerms(**fields)


def claim(*items: ItemFacts, event_date=date(2026, 3, 1), event_type="accident", **kw):
    return ClaimFacts(event_date=event_date, event_type=event_type, items=items, **kw)


def only(decision):
    assert len(decision.items) == 1
    return decision.items[0]


def medical(invoice, social="0", other="0", has_social=True):
    return ItemFacts(benefit_code="MED", invoice_amount=D(invoice), social_insurance_paid=D(social),
                     other_insurance_paid=D(other), has_social_insurance=has_social)


# --- cover in force, class, exclusions -----------------------------------------------------

def test_death_in_cover_pays_sum_insured():
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DEATH")))
    assert (d.outcome, d.approved, only(d).reasons) == (APPROVE, D("100000"), (Reason.COVERED,))


@pytest.mark.parametrize("event", [date(2025, 12, 31), date(2027, 1, 1)])
def test_event_outside_cover_is_not_in_force(event):
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DEATH"), event_date=event))
    assert d.outcome == DENY and only(d).reasons == (Reason.NOT_IN_FORCE,)


def test_void_policy_is_not_in_force():
    d = adjudicate(policy(status="void"), claim(ItemFacts(benefit_code="DEATH")))
    assert only(d).reasons == (Reason.NOT_IN_FORCE,)


def test_cancelled_policy_still_covers_events_before_its_cover_ended():
    p = policy(status="cancelled", cover_end=date(2026, 6, 30))
    assert adjudicate(p, claim(ItemFacts(benefit_code="DEATH"))).outcome == APPROVE


def test_occupation_class_not_covered():
    p = policy(covered_classes=frozenset({1, 2, 3, 4}))
    d = adjudicate(p, claim(ItemFacts(benefit_code="DEATH")))
    assert only(d).reasons == (Reason.CLASS_EXCLUDED,)
    # A change of job to a covered class at the time of the event counts.
    d2 = adjudicate(p, claim(ItemFacts(benefit_code="DEATH"), occupation_class_at_event=3))
    assert d2.outcome == APPROVE


def test_listed_exclusion_denies_every_item():
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DEATH"), medical("500"),
                                   circumstances=frozenset({"drunk_driving"})))
    assert d.outcome == DENY
    assert all(i.reasons == (Reason.EXCLUSION,) for i in d.items)
    assert d.uncovered_loss == 0  # a denied item is no covered loss


def test_benefit_not_on_policy_and_wrong_event_type():
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="NOPE"),
                                   ItemFacts(benefit_code="CKD", progression_verified=True)))
    assert [i.reasons for i in d.items] == [(Reason.NO_SUCH_BENEFIT,), (Reason.EVENT_NOT_COVERED,)]


# --- waiting period ------------------------------------------------------------------------

def sudden(hours: float, on=date(2026, 3, 1)):
    began = datetime(on.year, on.month, on.day, 8, 0)
    return ItemFacts(benefit_code="SUDDEN", symptoms_began_at=began,
                     died_at=began + timedelta(hours=hours))


def test_waiting_period_applies_to_sudden_death_not_accidents():
    early = date(2026, 1, 20)
    d = adjudicate(policy(), claim(sudden(2, early), event_date=early, event_type="sudden_death"))
    assert only(d).reasons == (Reason.WAITING_PERIOD,)
    # day 31 of cover (cover_start + 30 days) is the first day the benefit answers
    first = START + timedelta(days=30)
    d = adjudicate(policy(), claim(sudden(2, first), event_date=first, event_type="sudden_death"))
    assert d.outcome == APPROVE
    # accidents are covered from the first day even with a policy-wide waiting period
    d = adjudicate(policy(waiting_days=90), claim(ItemFacts(benefit_code="DEATH"),
                                                 event_date=START))
    assert d.outcome == APPROVE


# --- sudden death ---------------------------------------------------------------------------

def test_sudden_death_within_24_hours_pays():
    d = adjudicate(policy(), claim(sudden(24), event_type="sudden_death"))
    assert (d.outcome, d.approved) == (APPROVE, D("50000"))


def test_sudden_death_after_24_hours_is_denied():
    d = adjudicate(policy(), claim(sudden(24.02), event_type="sudden_death"))
    assert d.outcome == DENY and only(d).reasons == (Reason.SUDDEN_DEATH_OVER_24H,)


# --- disability -----------------------------------------------------------------------------

@pytest.mark.parametrize("grade,share", [(1, "1.0"), (2, "0.9"), (5, "0.6"), (9, "0.2"),
                                         (10, "0.1")])
def test_disability_grade_shares(grade, share):
    # 人身保险伤残评定标准 JR/T 0083-2013: grades 1-10 pay 100% .. 10% in 10% steps.
    assert disability_share(grade) == D(share)
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DIS", disability_grade=grade)))
    assert d.approved == D("100000") * D(share)
    assert only(d).reasons == (Reason.DISABILITY_GRADE_SHARE,)


def test_disability_grade_outside_1_to_10_is_refused():
    for bad in (0, 11, None):
        problems = check_claim(policy(), claim(ItemFacts(benefit_code="DIS",
                                                         disability_grade=bad)))
        assert problems and problems[0][0] == "items[0].disability_grade"
    with pytest.raises(ValueError):
        disability_share(11)


def test_disability_paid_reduces_later_death_benefit():
    prior = [PriorItem(benefit_code="DIS", event_date=date(2026, 2, 1), approved=D("30000"),
                       disability_grade=8)]
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DEATH")), prior)
    item = only(d)
    assert item.approved == D("70000")
    assert Reason.SHARED_SUM_INSURED_REDUCED in item.reasons
    assert d.outcome == PARTLY_APPROVE


def test_disability_and_death_in_one_claim_share_one_sum():
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DIS", disability_grade=3),
                                   ItemFacts(benefit_code="DEATH")))
    assert [i.approved for i in d.items] == [D("80000"), D("20000")]
    assert d.approved == D("100000")


def test_limit_when_own_sum_insured_is_spent():
    prior = [PriorItem(benefit_code="MED", event_date=date(2026, 2, 1), approved=D("19900"),
                       invoice_amount=D("25000"))]
    d = adjudicate(policy(), claim(medical("1000")), prior)
    assert only(d).approved == D("100") and Reason.LIMIT in only(d).reasons


# --- medical --------------------------------------------------------------------------------

def test_medical_with_social_insurance_deductible_then_full_share():
    d = adjudicate(policy(), claim(medical("1000", social="400")))
    item = only(d)
    # out of pocket 600, less deductible 100, times 100% = 500
    assert item.approved == D("500") and item.reasons == (Reason.COVERED, Reason.DEDUCTIBLE)
    assert item.out_of_pocket == D("600") and d.uncovered_loss == D("100")
    assert d.outcome == APPROVE


def test_medical_without_social_insurance_pays_lower_share():
    d = adjudicate(policy(), claim(medical("1100", has_social=False)))
    item = only(d)
    assert item.approved == D("600.00")  # (1100 - 100) x 60%
    assert item.reasons == (Reason.DEDUCTIBLE, Reason.COINSURANCE)


def test_medical_below_deductible_pays_nothing():
    d = adjudicate(policy(), claim(medical("80")))
    assert d.outcome == DENY and only(d).reasons == (Reason.DEDUCTIBLE,)


def test_medical_never_above_out_of_pocket():
    # another insurer already paid most of the bill: only 300 is left to the member
    d = adjudicate(policy(), claim(medical("5000", social="1000", other="3700")))
    item = only(d)
    assert item.approved == D("300") and Reason.OUT_OF_POCKET_CAP in item.reasons


@pytest.mark.parametrize("item,field", [
    (medical("-1"), "items[0].invoice_amount"),
    (medical("100", social="200"), "items[0].invoice_amount"),
    (medical("100", social="-5"), "items[0].social_insurance_paid"),
    (ItemFacts(benefit_code="MED"), "items[0].invoice_amount"),
])
def test_bad_invoices_are_refused(item, field):
    assert field in [f for f, _ in check_claim(policy(), claim(item))]


def test_sudden_death_times_reversed_are_refused():
    problems = check_claim(policy(), claim(sudden(-1), event_type="sudden_death"))
    assert problems == [("items[0].died_at", "must not be before symptoms_began_at")]


def test_clean_claim_has_no_problems():
    assert check_claim(policy(), claim(medical("100"), ItemFacts(benefit_code="DEATH"))) == []
    assert check_claim(policy(), claim(event_type="flood"))[0][0] == "event_type"


# --- allowance, duplicates, CKD -------------------------------------------------------------

def test_hospital_allowance_up_to_day_cap():
    prior = [PriorItem(benefit_code="CASH", event_date=date(2026, 2, 1), approved=D("1250"),
                       days_paid=25, hospital_days=25)]
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="CASH", hospital_days=10)), prior)
    item = only(d)
    assert (item.approved, item.days_paid) == (D("250"), 5)
    assert item.reasons == (Reason.COVERED, Reason.ALLOWANCE_DAYS_CAP)
    assert d.uncovered_loss == D("250")  # five days unpaid


def test_duplicate_of_an_earlier_claim_is_caught():
    prior = [PriorItem(benefit_code="MED", event_date=date(2026, 3, 1), approved=D("500"),
                       invoice_amount=D("1000"))]
    d = adjudicate(policy(), claim(medical("1000", social="400")), prior)
    assert only(d).reasons == (Reason.DUPLICATE,)
    # a different invoice for the same accident is not a duplicate
    assert adjudicate(policy(), claim(medical("700")), prior).approved == D("600")
    # nor is the same claimed twice within one claim allowed
    d = adjudicate(policy(), claim(ItemFacts(benefit_code="DEATH"),
                                   ItemFacts(benefit_code="DEATH")))
    assert d.items[1].reasons == (Reason.DUPLICATE,) and d.outcome == PARTLY_APPROVE


def test_ckd_progression_needs_verification():
    ill = dict(event_type="illness")
    unverified = adjudicate(policy(), claim(ItemFacts(benefit_code="CKD"), **ill))
    assert only(unverified).reasons == (Reason.PROGRESSION_NOT_VERIFIED,)
    verified = adjudicate(policy(), claim(ItemFacts(benefit_code="CKD",
                                                    progression_verified=True), **ill))
    assert verified.approved == D("30000")


def test_every_reason_code_is_reached_by_this_module():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [r.name for r in Reason if f"Reason.{r.name}" not in source]
    assert missing == []


# --- invariants -----------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False,
                    allow_infinity=False)
share = st.decimals(min_value=D("0.1"), max_value=D("1"), places=2)


@st.composite
def medical_cases(draw):
    invoice = draw(money)
    social = draw(st.decimals(min_value=0, max_value=invoice, places=2))
    other = draw(st.decimals(min_value=0, max_value=invoice - social, places=2))
    return ItemFacts(benefit_code="MED", invoice_amount=invoice, social_insurance_paid=social,
                     other_insurance_paid=other, has_social_insurance=draw(st.booleans()))


@st.composite
def policies(draw):
    death = draw(money)
    return policy(benefits=(
        BenefitTerms(benefit_id=1, code="DEATH", kind="accidental_death", sum_insured=death),
        BenefitTerms(benefit_id=2, code="DIS", kind="disability", sum_insured=draw(money),
                     shares_sum_insured_with="DEATH"),
        BenefitTerms(benefit_id=3, code="MED", kind="accidental_medical", sum_insured=draw(money),
                     deductible=draw(st.decimals(min_value=0, max_value=1000, places=2)),
                     coinsurance_with_social=draw(share), coinsurance_without_social=draw(share)),
        BenefitTerms(benefit_id=5, code="CASH", kind="hospital_allowance",
                     sum_insured=draw(money), daily_amount=draw(money), max_days=30),
    ))


item_cases = st.one_of(
    medical_cases(),
    st.builds(ItemFacts, benefit_code=st.just("DEATH")),
    st.builds(ItemFacts, benefit_code=st.just("DIS"),
              disability_grade=st.integers(min_value=1, max_value=10)),
    st.builds(ItemFacts, benefit_code=st.just("CASH"),
              hospital_days=st.integers(min_value=1, max_value=60)),
)
priors = st.lists(st.builds(
    PriorItem, benefit_code=st.sampled_from(["DEATH", "DIS", "MED", "CASH"]),
    event_date=st.just(date(2026, 2, 1)), approved=money,
    days_paid=st.integers(min_value=0, max_value=40)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(policies(), st.lists(item_cases, min_size=1, max_size=5), priors)
def test_never_above_remaining_sum_insured_or_out_of_pocket(p, items, prior):
    d = adjudicate(p, claim(*items), prior)
    spent: dict[str, Decimal] = {b.code: D(0) for b in p.benefits}
    for pr in prior:
        spent[pr.benefit_code] += pr.approved
    for item, out in zip(items, d.items, strict=True):
        benefit = p.benefit(item.benefit_code)
        assert out.approved >= 0
        assert out.approved == out.approved.quantize(D("0.01"))
        assert out.approved <= out.remaining_before
        if benefit.sum_insured > 0:
            assert out.approved <= max(D(0), benefit.sum_insured - spent[benefit.code])
        if benefit.kind == "accidental_medical" and out.out_of_pocket is not None:
            assert out.approved <= out.out_of_pocket
            assert out.out_of_pocket == (item.invoice_amount - item.social_insurance_paid
                                         - item.other_insurance_paid)
        spent[benefit.code] += out.approved
    # death and disability together never exceed the shared death sum insured
    pool = spent["DEATH"] + spent["DIS"]
    before = sum((pr.approved for pr in prior if pr.benefit_code in ("DEATH", "DIS")), D(0))
    assert pool - before <= max(D(0), p.benefit("DEATH").sum_insured - before)
    assert d.uncovered_loss >= 0
    assert d.outcome in (APPROVE, PARTLY_APPROVE, DENY)
    assert (d.outcome == DENY) == (d.approved == 0)
