"""Member governance: change my vote (改投) with the receipt's secret, before voting closes."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.governance import receipts
from mutua.governance import service as governance_service
from mutua.governance.models import Ballot, Proposal
from mutua.web.qr import ballot_receipt_qr
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

SECRET = re.compile(r'id="secret">([0-9a-f]{64})<')
RECEIPT = re.compile(r'id="receipt">([0-9a-f]{64})<')


def _open_motion(db, project_id, *, allow_change=True):
    now = utcnow()
    p = governance_service.create_proposal(
        db, kind="motion", project_id=project_id, title_zh="延长理赔时限",
        title_en="Longer claim window", quorum="0.1", allow_change=allow_change,
        opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=7), actor=SYSTEM)
    governance_service.open_proposal(db, proposal_id=p.id, actor=SYSTEM)
    return p


def _voters(db, n=1):
    """A project, ``n`` members with cover in force, and an open motion that allows changes."""
    product = f.accident_project(db)
    people = []
    for _ in range(n):
        m = f.member(db, login=True)
        f.policy(db, member=m, on=shanghai_today() - timedelta(days=10))
        people.append(m)
    db.commit()
    p = _open_motion(db, product.project_id)
    db.commit()
    return p, people


def _page(p):
    return f"/me/governance/proposals/{p.id}"


def _vote(client, p, choice):
    voted = post_form(client, f"{_page(p)}/vote", {"choice": choice}, from_page=_page(p))
    assert voted.status_code == 200, voted.text[-800:]
    return SECRET.search(voted.text).group(1)


def _change(client, p, secret, old, new):
    return post_form(client, f"{_page(p)}/change",
                     {"secret": secret, "old_choice": old, "new_choice": new},
                     from_page=_page(p))


def _ballots(db, p) -> list[str]:
    db.expire_all()
    return sorted(db.scalars(select(Ballot.choice).where(Ballot.proposal_id == p.id)))


def _close(db, p):
    closed = governance_service.close_proposal(db, proposal_id=p.id, actor=SYSTEM,
                                               now=p.closes_at + timedelta(seconds=1))
    db.commit()
    return {row["option"]: row["votes"] for row in closed.result["options"]}


def _as(client, member) -> None:
    """Sign in as this member, signing out whoever was signed in."""
    client.cookies.clear()
    sign_in(client, member.member_number, f.PASSWORD)


def test_a_member_changes_their_vote_and_only_the_new_choice_counts(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    secret = _vote(client, p, "yes")

    page = client.get(_page(p))
    assert "更改我的投票" in page.text and f'action="{_page(p)}/change"' in page.text
    changed = _change(client, p, f"  {secret}\n", "yes", "no")  # pasted with blanks
    assert changed.status_code == 200, changed.text[-800:]
    assert "您的投票已更改" in changed.text and "原来的选票不再计入" in changed.text
    assert "密钥只在本页显示一次" in changed.text  # the same warning as after voting
    new_secret = SECRET.search(changed.text).group(1)
    new_receipt = RECEIPT.search(changed.text).group(1)
    assert new_secret != secret
    assert new_receipt == receipts.receipt_for(proposal_id=p.id, choice=("no",),
                                               secret=bytes.fromhex(new_secret))
    assert _ballots(db, p) == ["no"]

    # the old secret has lapsed; the new one checks as counted
    old = post_form(client, f"{_page(p)}/check", {"secret": secret, "choice": "yes"})
    assert "未找到" in old.text
    new = post_form(client, f"{_page(p)}/check", {"secret": new_secret, "choice": "no"})
    assert "已计入" in new.text
    assert _close(db, p) == {"yes": 0, "no": 1, "abstain": 0}


def test_the_receipt_page_carries_the_receipt_and_secret_as_one_qr_code(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    voted = post_form(client, f"{_page(p)}/vote", {"choice": "yes"}, from_page=_page(p))
    secret, receipt = SECRET.search(voted.text).group(1), RECEIPT.search(voted.text).group(1)
    expected = ballot_receipt_qr(proposal_id=p.id, receipt=receipt, secret=secret,
                                 title="回执与密钥")
    assert str(expected) in voted.text  # the code holds this page's receipt and secret
    assert "用手机相机扫描" in voted.text


def test_the_secret_alone_changes_a_vote_without_retyping_the_old_choice(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    secret = _vote(client, p, "yes")
    page = client.get(_page(p))
    assert 'name="old_choice"' not in page.text  # a motion has three ballots: no need to ask
    changed = post_form(client, f"{_page(p)}/change", {"secret": secret, "new_choice": "no"},
                        from_page=_page(p))
    assert changed.status_code == 200 and "您的投票已更改" in changed.text, changed.text[-800:]
    assert _ballots(db, p) == ["no"]
    again = post_form(client, f"{_page(p)}/change", {"secret": secret, "new_choice": "abstain"},
                      from_page=_page(p))
    assert again.status_code == 422 and "选票不符" in again.text  # the old secret has lapsed
    assert _ballots(db, p) == ["no"]


def test_a_wrong_or_malformed_secret_is_refused_and_the_old_ballot_still_counts(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    secret = _vote(client, p, "yes")

    wrong = _change(client, p, receipts.new_secret().hex(), "yes", "no")
    assert wrong.status_code == 422
    assert "投票凭证码：与本提案中该选择的选票不符" in wrong.text
    # the form keeps what was typed
    assert 'name="new_choice" value="no" required checked' in wrong.text

    malformed = _change(client, p, "not-a-secret", "yes", "no")
    assert malformed.status_code == 422 and "64 位十六进制" in malformed.text
    assert 'value="not-a-secret"' in malformed.text

    wrong_old_choice = _change(client, p, secret, "no", "abstain")
    assert wrong_old_choice.status_code == 422 and "选票不符" in wrong_old_choice.text

    not_an_option = _change(client, p, secret, "yes", "maybe")
    assert not_an_option.status_code == 422 and "不是本提案的选项" in not_an_option.text
    assert _ballots(db, p) == ["yes"]

    # the real secret still works after the refusals: nothing was half-done
    assert _change(client, p, secret, "yes", "no").status_code == 200
    assert _close(db, p) == {"yes": 0, "no": 1, "abstain": 0}


def test_another_members_secret_changes_neither_ballot(client, db):
    p, [me, other] = _voters(db, 2)
    _as(client, other)
    theirs = _vote(client, p, "no")
    _as(client, me)
    mine = _vote(client, p, "yes")

    # holding their secret and knowing their choice does not let me replace their ballot
    refused = _change(client, p, theirs, "no", "yes")
    assert refused.status_code == 422 and "选票不符" in refused.text
    # nor does their secret open mine
    assert _change(client, p, theirs, "yes", "abstain").status_code == 422
    assert _ballots(db, p) == ["no", "yes"]
    # and mine still opens mine
    assert _change(client, p, mine, "yes", "abstain").status_code == 200
    assert _close(db, p) == {"yes": 0, "no": 1, "abstain": 1}


def test_a_member_who_has_not_voted_sees_no_form_and_is_refused(client, db):
    p, [voter, waiting] = _voters(db, 2)
    _as(client, voter)
    secret = _vote(client, p, "yes")
    _as(client, waiting)
    page = client.get(_page(p))
    assert f'action="{_page(p)}/change"' not in page.text
    refused = post_form(client, f"{_page(p)}/change",
                        {"secret": secret, "old_choice": "yes", "new_choice": "no"},
                        from_page=_page(p))
    assert refused.status_code == 422 and "只有已就本议案投票的会员才能更改选票" in refused.text
    assert _ballots(db, p) == ["yes"]


def test_no_change_form_where_the_proposal_does_not_allow_it(client, db):
    product = f.accident_project(db)
    m = f.member(db, login=True)
    f.policy(db, member=m, on=shanghai_today() - timedelta(days=10))
    db.commit()
    p = _open_motion(db, product.project_id, allow_change=False)
    db.commit()
    _as(client, m)
    secret = _vote(client, p, "yes")
    assert f'action="{_page(p)}/change"' not in client.get(_page(p)).text
    refused = _change(client, p, secret, "yes", "no")
    assert refused.status_code == 409 and "本议案的选票不能更改" in refused.text
    assert _ballots(db, p) == ["yes"]


def test_after_the_window_ends_the_form_is_gone_and_a_change_is_refused(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    secret = _vote(client, p, "yes")
    # the window has ended but no one has closed the proposal yet
    db.get(Proposal, p.id).closes_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert f'action="{_page(p)}/change"' not in client.get(_page(p)).text
    refused = _change(client, p, secret, "yes", "no")
    assert refused.status_code == 409 and "本议案的投票已经结束" in refused.text

    assert _close(db, p) == {"yes": 1, "no": 0, "abstain": 0}
    page = client.get(_page(p))
    assert f'action="{_page(p)}/change"' not in page.text
    refused = _change(client, p, secret, "yes", "no")
    assert refused.status_code == 409 and "本议案的投票已经结束" in refused.text
    assert _ballots(db, p) == ["yes"]


def test_the_change_reads_in_english(client, db):
    p, [m] = _voters(db)
    _as(client, m)
    secret = _vote(client, p, "yes")
    post_form(client, "/language", {"locale": "en", "next": _page(p)}, from_page=_page(p))
    page = client.get(_page(p))
    assert "Change my vote" in page.text and "Secret from your receipt" in page.text
    wrong = _change(client, p, "abc", "yes", "no")
    assert wrong.status_code == 422
    assert "Receipt code: must be the 64 hex digits given when you voted" in wrong.text
    changed = _change(client, p, secret, "yes", "abstain")
    assert changed.status_code == 200
    assert "Your vote is changed" in changed.text and "earlier ballot no longer counts" in \
        changed.text and "only time the secret is shown" in changed.text
    assert _ballots(db, p) == ["abstain"]


def test_signed_out_and_staff_are_kept_out(client, db, staff_user):
    p, [m] = _voters(db)
    signed_out = post_form(client, f"{_page(p)}/change",
                           {"secret": "0" * 64, "old_choice": "yes", "new_choice": "no"},
                           from_page="/signin")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    sign_in(client, staff_user(Role.SECRETARY))
    assert client.get(_page(p)).status_code == 403
    refused = post_form(client, f"{_page(p)}/change",
                        {"secret": "0" * 64, "old_choice": "yes", "new_choice": "no"},
                        from_page="/staff")
    assert refused.status_code == 403
    assert _ballots(db, p) == []


def test_a_proposal_out_of_the_members_scope_is_not_found(client, db):
    p, _people = _voters(db)
    outsider = f.member(db, login=True)
    db.commit()
    _as(client, outsider)
    refused = post_form(client, f"{_page(p)}/change",
                        {"secret": "0" * 64, "old_choice": "yes", "new_choice": "no"},
                        from_page="/me/governance")
    assert refused.status_code == 404
