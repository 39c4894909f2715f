"""Changing a ballot with its secret alone: every choice a proposal allows, tried in turn."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import ValidationFailed
from mutua.governance import ballots, service
from mutua.governance.models import Proposal
from mutua.governance.tally import ABSTAIN, VoteRule, count_choices, every_choice, normalise_choice


@given(candidates=st.integers(1, 9), seats=st.integers(1, 9))
def test_every_choice_is_each_valid_ballot_once_in_its_canonical_form(candidates, seats):
    rule = VoteRule.election(candidates=[f"c{n}" for n in range(candidates)],
                             seats=min(seats, candidates), quorum=Fraction(0))
    choices = list(every_choice(rule))
    assert len(choices) == len(set(choices)) == count_choices(rule)
    assert all(normalise_choice(rule, c) == c for c in choices)
    assert (ABSTAIN,) in choices


def test_a_motion_allows_three_ballots():
    assert list(every_choice(VoteRule.motion(quorum=Fraction(0)))) == [
        ("yes",), ("no",), ("abstain",)]


def _election(candidates: int, seats: int) -> Proposal:
    options = [{"code": f"m{n}", "label_zh": str(n), "label_en": str(n)}
               for n in range(candidates)] + [{"code": ABSTAIN, "label_zh": "弃权",
                                                "label_en": "Abstain"}]
    return Proposal(kind="election", options=options, seats=seats, quorum=Decimal("0.1"),
                    threshold="simple")


def test_a_large_election_asks_for_the_choice_on_the_receipt():
    """30 candidates for 5 seats allow 174,437 ballots (sum of C(30, k), k = 1..5, plus
    abstaining): too many hashes to try on each change, so the voter names the old choice."""
    large = _election(30, 5)
    assert count_choices(service.rule_of(large)) == 174_437
    assert ballots.needs_old_choice(large)
    with pytest.raises(ValidationFailed) as refused:
        ballots._old_choices(large, None)
    assert refused.value.problems[0].field == "old_choice"
    assert ballots._old_choices(large, ["m7", "m3"]) == [("m3", "m7")]
    small = _election(8, 3)  # 8 + 28 + 56 + 1 = 93 ballots
    assert not ballots.needs_old_choice(small) and len(ballots._old_choices(small, None)) == 93
