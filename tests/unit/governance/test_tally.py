"""The tally counts every valid ballot exactly once and no other."""

from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.governance.tally import (
    ABSTAIN,
    VoteRule,
    normalise_choice,
    tally,
    tally_grouped,
)

MOTION = VoteRule.motion(quorum=Fraction(1, 2))
SPECIAL = VoteRule.motion(quorum=Fraction(1, 2), threshold="two_thirds")


def test_simple_majority_of_votes_cast_ignores_abstentions():
    r = tally(MOTION, eligible=10, ballots=[("yes",)] * 3 + [("no",)] * 2 + [("abstain",)] * 3)
    assert (r.turnout, r.votes_cast, r.quorum_met, r.passed) == (8, 5, True, True)
    assert r.as_published()["options"] == [
        {"option": "yes", "votes": 3}, {"option": "no", "votes": 2},
        {"option": "abstain", "votes": 3}]


def test_a_tie_is_not_a_majority():
    r = tally(MOTION, eligible=4, ballots=[("yes",), ("no",)])
    assert r.quorum_met and not r.passed


def test_two_thirds_for_special_resolutions():
    assert tally(SPECIAL, eligible=3, ballots=[("yes",), ("yes",), ("no",)]).passed
    assert not tally(SPECIAL, eligible=5, ballots=[("yes",)] * 3 + [("no",)] * 2).passed


def test_quorum_is_a_share_of_eligible_members():
    # 5 of 10 meets a one-half quorum exactly; 5 of 11 does not
    assert tally(MOTION, eligible=10, ballots=[("yes",)] * 5).passed
    r = tally(MOTION, eligible=11, ballots=[("yes",)] * 5)
    assert not r.quorum_met and not r.passed


def test_all_abstain_meets_quorum_but_does_not_pass():
    r = tally(MOTION, eligible=2, ballots=[("abstain",)] * 2)
    assert r.quorum_met and not r.passed and r.votes_cast == 0


def test_nobody_eligible_never_passes():
    assert not tally(MOTION, eligible=0, ballots=[]).quorum_met


def test_invalid_ballots_are_counted_nowhere():
    r = tally(MOTION, eligible=10, ballots=[("yes",), ("maybe",), ("yes", "no"), (),
                                             ("abstain", "yes"), ("yes", "yes")])
    assert r.turnout == 1 and r.rejected == 5 and sum(r.counts.values()) == 1


def test_election_choose_two_of_four():
    rule = VoteRule.election(candidates=["c1", "c2", "c3", "c4"], seats=2, quorum=Fraction(1, 4))
    ballots = [("c1", "c2")] * 4 + [("c2", "c3")] * 3 + [("c4",)] * 2 + [("abstain",)]
    r = tally(rule, eligible=20, ballots=ballots)
    assert r.counts == {"c1": 4, "c2": 7, "c3": 3, "c4": 2, "abstain": 1}
    assert r.elected == ("c2", "c1") and r.passed and r.turnout == 10


def test_election_tie_across_the_last_seat_is_not_resolved_by_software():
    rule = VoteRule.election(candidates=["a", "b", "c"], seats=2, quorum=Fraction(0))
    r = tally(rule, eligible=5, ballots=[("a", "b"), ("a", "c"), ("a",)])
    assert r.elected == ("a",) and set(r.tie) == {"b", "c"} and not r.passed


def test_election_refuses_more_choices_than_seats():
    rule = VoteRule.election(candidates=["a", "b", "c"], seats=2, quorum=Fraction(0))
    assert normalise_choice(rule, ["a", "b", "c"]) is None
    assert normalise_choice(rule, ["b", "a"]) == ("a", "b")


def test_unknown_threshold_is_an_error():
    with pytest.raises(ValueError):
        tally(VoteRule.motion(quorum=Fraction(0), threshold="most"), eligible=1,
              ballots=[("yes",)])


# --- properties ------------------------------------------------------------------------

CANDIDATES = ["c1", "c2", "c3", "c4", "c5"]
junk = st.sampled_from(["", "x", "YES", "c9", "abstain "])
motion_ballot = st.one_of(
    st.sampled_from(["yes", "no", ABSTAIN]).map(lambda o: (o,)),
    st.lists(st.one_of(st.sampled_from(["yes", "no", ABSTAIN]), junk), max_size=3).map(tuple),
)


def _reference_count(rule, ballots):
    """A deliberately naive recount: one ballot at a time, by hand."""
    counts = {o: 0 for o in rule.options}
    valid = 0
    limit = rule.seats or 1
    for b in ballots:
        ok = (len(b) >= 1 and len(set(b)) == len(b) and all(o in rule.options for o in b)
              and (b == (ABSTAIN,) or (ABSTAIN not in b and len(b) <= limit)))
        if ok:
            valid += 1
            for o in b:
                counts[o] += 1
    return valid, counts


@given(st.lists(motion_ballot, max_size=200), st.integers(min_value=0, max_value=400))
def test_motion_counts_every_valid_ballot_once_and_no_other(ballots, extra_eligible):
    eligible = len(ballots) + extra_eligible
    r = tally(MOTION, eligible=eligible, ballots=ballots)
    valid, counts = _reference_count(MOTION, ballots)
    assert r.turnout == valid
    assert r.rejected == len(ballots) - valid
    assert r.counts == counts
    assert sum(r.counts.values()) == valid  # one option per motion ballot
    assert r.quorum_met == (eligible > 0 and 2 * valid >= eligible)


election_ballot = st.one_of(
    st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=2, unique=True).map(tuple),
    st.just((ABSTAIN,)),
    st.lists(st.one_of(st.sampled_from([*CANDIDATES, ABSTAIN]), junk), max_size=4).map(tuple),
)


@given(st.lists(election_ballot, max_size=200))
def test_election_counts_every_valid_ballot_once_and_no_other(ballots):
    rule = VoteRule.election(candidates=CANDIDATES, seats=2, quorum=Fraction(1, 3))
    r = tally(rule, eligible=max(len(ballots), 1), ballots=ballots)
    valid, counts = _reference_count(rule, ballots)
    assert (r.turnout, r.rejected, r.counts) == (valid, len(ballots) - valid, counts)
    assert len(r.elected) <= 2
    if r.passed:
        assert all(counts[e] >= counts[c] for e in r.elected for c in CANDIDATES
                   if c not in r.elected)


@given(st.lists(motion_ballot, max_size=100))
def test_grouping_and_order_do_not_change_the_result(ballots):
    one_by_one = tally(MOTION, eligible=100, ballots=ballots)
    grouped = tally_grouped(MOTION, eligible=100, grouped=Counter(ballots))
    reversed_ = tally(MOTION, eligible=100, ballots=list(reversed(ballots)))
    assert one_by_one == grouped == reversed_
