"""Logins for an imported group, created in one set-based step, first signed in by an SMS
code the member asks for (no password is chosen for them, no code made before it is asked)."""

from __future__ import annotations

from sqlalchemy import func, select

from mutua.auth.models import User
from mutua.auth.security import SYSTEM, verify_password
from mutua.members.models import Member
from mutua.messaging.sms import ConsoleSms
from mutua.notify.models import Notification
from mutua.policies import first_logins, importer
from mutua.settings import Settings
from tests import factories as f
from tests.integration.members.test_import import crowd_rows, product, to_csv  # noqa: F401


def test_an_import_with_logins_gives_every_member_one_and_tells_them_how_to_sign_in(
        db, product):  # noqa: F811
    f.member(db, login=True)  # someone with a login already is left as they are
    report = importer.import_members(db, data=to_csv(crowd_rows(12)), filename="g.csv",
                                     product_code="GRP-1", period_code="P1",
                                     actor=SYSTEM, logins=True)
    assert report.registered == 12 and report.logins == 12
    users = db.scalars(select(User).where(User.password_hash == first_logins.NO_PASSWORD)).all()
    assert len(users) == 12
    assert not verify_password(users[0].password_hash, "")  # no password opens it
    members = dict(db.execute(select(Member.id, Member.member_number)).all())
    assert {u.username for u in users} == {members[u.member_id] for u in users}
    told = db.scalars(select(Notification.member_id)
                      .where(Notification.event == "account.ready")).all()
    assert sorted(told) == sorted(u.member_id for u in users)
    # again: nobody gets a second login or a second message
    assert first_logins.open_logins(db, member_ids=[u.member_id for u in users]) == 0
    assert db.scalar(select(func.count()).select_from(Notification)
                     .where(Notification.event == "account.ready")) == 12


def test_an_imported_member_signs_in_the_first_time_with_a_code(db, engine, tmp_path):
    from mutua.members import signup

    f.accident_project(db)
    m = f.member(db)
    assert first_logins.open_logins(db) == 1
    db.commit()
    settings = Settings(database_url=engine.test_url, sms_console_file=tmp_path / "sms.log")
    sms = ConsoleSms()
    signup.request_reset(db, login=m.phone, settings=settings, sender=sms)
    code = "".join(ch for ch in sms.sent[-1]["text"] if ch.isdigit())[:6]
    user = signup.reset_password(db, login=m.member_number, code=code,
                                 password="first-password-1", settings=settings)
    assert verify_password(user.password_hash, "first-password-1")
