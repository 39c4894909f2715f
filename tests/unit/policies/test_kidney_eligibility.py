"""Kidney underwriting as a pure rule (policies.domain.kidney_problems): what the enrolment
page offers and what enrolment refuses are the same rule.

Stages are KDIGO 2012 GFR categories (G1 >= 90, G2 60-89, G3a 45-59, G3b 30-44, G4 15-29,
G5 < 15 mL/min/1.73m2) and albuminuria categories (A1 < 3, A2 3-29, A3 >= 30 mg/mmol):
KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of CKD, ch. 1.
"""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mutua.policies.domain import KidneyLabs, kidney_problems, needs_lab_result

EARLY = {"stages": ["G1", "G2"], "needs_acr": True, "albuminuria": ["A2", "A3"]}
G4 = {"stages": ["G4"]}
ON = date(2026, 3, 1)


def test_no_labs_means_needs_a_lab_result_not_a_refusal_for_good():
    problems = kidney_problems(G4, KidneyLabs())
    assert [p.field for p in problems] == ["labs"]
    assert needs_lab_result(problems)


def test_a_stage_outside_the_product_is_refused_with_the_stage_and_the_covered_ones():
    problems = kidney_problems(G4, KidneyLabs("G3a", 50.0, ON))
    assert problems[0].field == "labs"
    assert "G3a" in problems[0].rule and "G4" in problems[0].rule
    assert not needs_lab_result(problems)


def test_the_early_product_needs_albuminuria_and_refuses_a1():
    assert needs_lab_result(kidney_problems(EARLY, KidneyLabs("G2", 70.0, ON)))
    refused = kidney_problems(EARLY, KidneyLabs("G2", 70.0, ON, "A1"))
    assert "A2/A3" in refused[0].rule
    assert kidney_problems(EARLY, KidneyLabs("G2", 70.0, ON, "A3")) == []


@given(g=st.sampled_from(["G1", "G2", "G3a", "G3b", "G4", "G5"]),
       a=st.sampled_from([None, "A1", "A2", "A3"]),
       stages=st.sets(st.sampled_from(["G1", "G2", "G3a", "G3b", "G4", "G5"]), min_size=1))
def test_accepted_exactly_when_the_stage_is_covered(g, a, stages):
    uw = {"stages": sorted(stages)}
    assert (kidney_problems(uw, KidneyLabs(g, 50.0, ON, a)) == []) == (g in stages)
