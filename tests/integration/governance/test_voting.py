"""Proposals and ballots through the service on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.governance import ballots as governance_ballots
from mutua.governance import receipts, service
from mutua.governance.models import Ballot, Elector
from tests import factories
from tests.integration.governance.helpers import (
    AFTER,
    DURING,
    OPEN_AT,
    SECRETARY,
    TODAY,
    as_member,
    motion,
    pool,
)


def _opened(db, **kw):
    product, _, people = pool(db)
    p = motion(db, product.project_id, **kw)
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=OPEN_AT)
    return p, people


def test_electorate_is_frozen_at_opening_and_the_tally_published(db):
    p, people = _opened(db)
    assert p.eligible == 4 and p.status == "open"
    late = factories.member(db)
    factories.policy(db, member=late, product_code="GOV-1", on=TODAY)  # joins after opening
    votes = ["yes", "yes", "no"]
    got = [governance_ballots.cast_ballot(db, proposal_id=p.id, choice=[v], actor=as_member(m), now=DURING)
           for m, v in zip(people, votes, strict=False)]
    with pytest.raises(Forbidden, match="not eligible"):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(late),
                                       now=DURING)
    service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=AFTER)
    r = service.published_result(db, proposal_id=p.id, actor=as_member(people[0]))
    assert r["eligible"] == 4 and r["turnout"] == 3 and r["quorum_met"] and r["passed"]
    assert r["options"][:2] == [{"option": "yes", "votes": 2}, {"option": "no", "votes": 1}]
    listed, total = governance_ballots.receipt_list(db, proposal_id=p.id, actor=as_member(people[3]))
    assert total == 3 and {x["receipt"] for x in listed} == {g["receipt"] for g in got}
    check = governance_ballots.verify_ballot(db, proposal_id=p.id, secret=got[0]["secret"],
                                             choice=["yes"], actor=as_member(people[0]))
    assert check["counted"] is True


def test_ballots_are_stored_without_the_voter(db):
    cols = {c["name"] for c in inspect(db.get_bind()).get_columns("governance_ballots")}
    assert cols == {"proposal_id", "receipt", "choice", "project_id"}
    p, people = _opened(db)
    governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["no"], actor=as_member(people[0]),
                                   now=DURING)
    assert db.scalar(select(Elector.has_voted).where(Elector.member_id == people[0].id))
    ballot = db.scalar(select(Ballot))
    assert ballot.choice == "no" and len(ballot.receipt) == 64


def test_second_ballot_is_refused(db):
    p, people = _opened(db)
    governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(people[0]),
                                   now=DURING)
    with pytest.raises(Conflict, match="already voted"):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["no"], actor=as_member(people[0]),
                                       now=DURING)
    assert len(db.scalars(select(Ballot)).all()) == 1


def test_ballot_after_the_window_or_after_close_is_refused(db):
    p, people = _opened(db)
    with pytest.raises(Conflict, match="closed"):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(people[0]),
                                       now=AFTER)
    service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=AFTER)
    with pytest.raises(Conflict, match="closed"):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(people[1]),
                                       now=DURING)


def test_unknown_option_is_refused_and_nothing_is_stored(db):
    p, people = _opened(db)
    with pytest.raises(ValidationFailed) as err:
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["maybe"], actor=as_member(people[0]),
                                       now=DURING)
    assert err.value.problems[0].field == "choice"
    assert not db.scalar(select(Elector.has_voted).where(Elector.member_id == people[0].id))
    assert db.scalars(select(Ballot)).all() == []


def test_closing_early_is_refused_and_failed_quorum_does_not_pass(db):
    p, people = _opened(db, quorum="0.75")
    governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(people[0]),
                                   now=DURING)
    with pytest.raises(Conflict, match="runs until"):
        service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=DURING)
    service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=AFTER)
    assert p.result["quorum_met"] is False and p.passed is False


def test_results_are_not_shown_while_voting_is_open(db):
    p, people = _opened(db)
    with pytest.raises(Conflict, match="published when voting closes"):
        service.published_result(db, proposal_id=p.id, actor=SECRETARY)


def test_ballot_change_keeps_one_ballot_and_needs_the_secret(db):
    p, people = _opened(db, allow_change=True)
    me = as_member(people[0])
    first = governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["no"], actor=me, now=DURING)
    with pytest.raises(ValidationFailed, match="does not match"):
        governance_ballots.change_ballot(db, proposal_id=p.id, secret=receipts.new_secret().hex(),
                                         old_choice=["no"], new_choice=["yes"], actor=me, now=DURING)
    second = governance_ballots.change_ballot(db, proposal_id=p.id, secret=first["secret"],
                                              old_choice=["no"], new_choice=["yes"], actor=me, now=DURING)
    rows = db.execute(select(Ballot.receipt, Ballot.choice)).all()
    assert rows == [(second["receipt"], "yes")]
    with pytest.raises(Forbidden):  # a member who has not voted cannot replace anything
        governance_ballots.change_ballot(db, proposal_id=p.id, secret=second["secret"],
                                         old_choice=["yes"], new_choice=["no"],
                                         actor=as_member(people[1]), now=DURING)


def test_the_secret_alone_finds_the_ballot_to_replace(db):
    p, people = _opened(db, allow_change=True)
    me = as_member(people[0])
    first = governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["abstain"], actor=me, now=DURING)
    other = governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["no"], actor=as_member(people[1]),
                                           now=DURING)
    with pytest.raises(ValidationFailed, match="does not match"):  # someone else's secret
        governance_ballots.change_ballot(db, proposal_id=p.id, secret=other["secret"], new_choice=["yes"],
                                         actor=me, now=DURING)
    second = governance_ballots.change_ballot(db, proposal_id=p.id, secret=first["secret"],
                                              new_choice=["yes"], actor=me, now=DURING)
    assert sorted(db.execute(select(Ballot.receipt, Ballot.choice)).all()) == sorted(
        [(second["receipt"], "yes"), (other["receipt"], "no")])


def test_change_is_refused_where_the_proposal_does_not_allow_it(db):
    p, people = _opened(db)
    me = as_member(people[0])
    first = governance_ballots.cast_ballot(db, proposal_id=p.id, choice=["no"], actor=me, now=DURING)
    with pytest.raises(Conflict, match="cannot be changed"):
        governance_ballots.change_ballot(db, proposal_id=p.id, secret=first["secret"], old_choice=["no"],
                                         new_choice=["yes"], actor=me, now=DURING)


def test_a_member_cannot_read_another_members_participation(db):
    p, people = _opened(db)
    items, total = service.participation(db, member_id=people[0].id, actor=as_member(people[0]))
    assert total == 1 and items[0] == {"proposal_id": p.id, "has_voted": False}
    with pytest.raises(Forbidden):
        service.participation(db, member_id=people[1].id, actor=as_member(people[0]))


def test_bad_proposals_are_refused(db):
    product, _, _ = pool(db)
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="vote", quorum="1.5", threshold="most",
               title_en="")
    fields = {p.field for p in err.value.problems}
    assert {"kind", "quorum", "threshold", "title_en"} <= fields
    with pytest.raises(ValidationFailed, match="after opens_at"):
        motion(db, product.project_id, closes_at=OPEN_AT)


def test_election_choose_two_of_three_elects_representatives(db):
    product, _, people = pool(db, members=5)
    cands = [m.id for m in people[:3]]
    p = service.create_proposal(
        db, kind="election", project_id=product.project_id, title_zh="会员代表选举",
        title_en="Representatives", quorum="0.4", opens_at=OPEN_AT,
        closes_at=OPEN_AT.replace(day=30), payload={"seats": 2, "candidates": cands},
        actor=SECRETARY, today=TODAY)
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=OPEN_AT)
    codes = [o["code"] for o in p.options]
    choices = [[codes[0], codes[1]], [codes[0]], [codes[2], codes[0]], [codes[1]], ["abstain"]]
    for m, c in zip(people, choices, strict=True):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=c, actor=as_member(m), now=DURING)
    with pytest.raises(ValidationFailed):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=codes[:3], actor=as_member(people[0]),
                                       now=DURING)
    service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=AFTER)
    assert p.passed and p.enactment_status == "enacted"
    assert p.enactment["elected"] == [cands[0], cands[1]]


def test_opening_before_the_window_is_refused(db):
    product, _, _ = pool(db)
    p = motion(db, product.project_id)
    with pytest.raises(Conflict, match="voting opens at"):
        service.open_proposal(db, proposal_id=p.id, actor=SECRETARY,
                              now=OPEN_AT.replace(day=OPEN_AT.day - 1))


def test_election_candidates_must_belong_to_the_scope(db):
    product, _, people = pool(db)
    outsider = factories.member(db)
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="election",
               payload={"seats": 1, "candidates": [people[0].id, outsider.id]})
    assert err.value.problems[0].field == "payload.candidates"
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="election",
               payload={"seats": 3, "candidates": [people[0].id, people[1].id]})
    assert err.value.problems[0].field == "payload.seats"


def test_members_see_a_proposal_only_once_voting_opens(db):
    from mutua.errors import NotFound

    product, _, people = pool(db)
    p = motion(db, product.project_id)
    me = as_member(people[0])
    assert service.list_proposals(db, actor=me)[1] == 0
    with pytest.raises(NotFound):
        service.visible_proposal(db, proposal_id=p.id, actor=me)
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=OPEN_AT)
    assert service.list_proposals(db, actor=me)[1] == 1
