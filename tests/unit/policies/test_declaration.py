"""The health declaration (健康告知) as a pure rule: policies.domain.declaration_problems."""

from hypothesis import given
from hypothesis import strategies as st

from mutua.policies.domain import (
    clean_declaration,
    declaration_problems,
    declaration_record,
)

questions = st.lists(
    st.fixed_dictionaries({"code": st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                           "zh": st.just("问"), "en": st.just("Q?"),
                           "refuse_on": st.sampled_from(["yes", "no", None])}),
    min_size=1, max_size=10, unique_by=lambda q: q["code"])


@given(questions)
def test_an_applicant_with_none_of_the_risks_is_accepted(qs):
    answers = clean_declaration(qs)
    assert declaration_problems(qs, answers) == []
    assert [r["answer"] for r in declaration_record(qs, answers)] == [
        answers[q["code"]] for q in qs]


@given(questions, st.data())
def test_the_refusing_answer_to_any_question_refuses_naming_that_question(qs, data):
    q = data.draw(st.sampled_from([q for q in qs]))
    answers = clean_declaration(qs)
    if q["refuse_on"] is None:
        return  # asked and kept only: no answer refuses
    answers[q["code"]] = q["refuse_on"]
    assert [p.field for p in declaration_problems(qs, answers)] == [f"declaration.{q['code']}"]


@given(questions, st.data())
def test_a_missing_or_unknown_answer_is_named(qs, data):
    q = data.draw(st.sampled_from(qs))
    answers = clean_declaration(qs)
    del answers[q["code"]]
    answers["zzzzzzzzz"] = "no"  # longer than any generated code: never asked
    fields = {p.field for p in declaration_problems(qs, answers)}
    assert fields == {f"declaration.{q['code']}", "declaration.zzzzzzzzz"}
