"""Members sign themselves up, prove their phone with a code, and reset a forgotten password.

Sign-up takes two requests and keeps nothing between them but the code's row: the first
checks every registration rule (the same ``members.service.validate`` staff registration
uses) and that the ID number is not registered, then sends a code to the phone; the second
carries the same details with the code and a password, checks them all again, uses the code,
and registers the member with their login in one transaction. A wrong, expired or reused
code, a duplicate ID number or a weak password stores nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth import phone_codes, sessions
from mutua.auth.models import User
from mutua.auth.security import SYSTEM
from mutua.errors import Conflict, ValidationFailed
from mutua.members import accounts
from mutua.members import service as members_service
from mutua.members.models import Member
from mutua.members.schemas import MemberIn

# What the SMS says ({code} and {minutes} are filled in); in Chinese, as members read it.
SIGNUP_TEXT = "【互助社】您的注册验证码是{code}，{minutes}分钟内有效。请勿告诉他人。"
RESET_TEXT = "【互助社】您正在重设密码，验证码{code}，{minutes}分钟内有效。如非本人操作请忽略。"
SIGNIN_TEXT = "【互助社】您正在登录，验证码{code}，{minutes}分钟内有效。如非本人操作请忽略。"
DUPLICATE_ID = "a member with this ID number is already registered"


class AlreadyMember(Conflict):
    """The ID number is registered already (409); names the field like a refused input."""

    def to_dict(self) -> dict:
        return {**super().to_dict(),
                "problems": [{"field": "id_number", "rule": "is already registered"}]}


def check_details(db: Session, data: MemberIn) -> members_service.ValidMember:
    """Every registration rule, and that the person is not a member already."""
    valid = members_service.validate(data)
    if db.scalar(select(Member.id).where(Member.id_number == valid.id_number)) is not None:
        raise AlreadyMember(DUPLICATE_ID)
    return valid


def request_code(db: Session, *, data: MemberIn, settings, sender,
                 client: str | None = None) -> str:
    """Check the details and send a sign-up code to the phone; the phone in E.164."""
    valid = check_details(db, data)
    phone_codes.send(db, phone=valid.phone, purpose="signup", text=SIGNUP_TEXT,
                     settings=settings, sender=sender, client=client)
    return valid.phone


def sign_up(db: Session, *, data: MemberIn, code: str, settings) -> Member:
    """Register the member and their login once the code proves the phone.

    ``data.password`` is required here; the new login's name is the member number, and the
    member signs in with it or their phone.
    """
    valid = check_details(db, data)
    accounts.check_new_password(data.password or "")
    phone_codes.use(db, phone=valid.phone, purpose="signup", code=code, settings=settings)
    member = members_service.register(db, data=data, actor=SYSTEM)
    audit.record(db, actor=SYSTEM, action="member.signup", entity="member", entity_id=member.id)
    return member


def login_of(db: Session, member: Member) -> User:
    return db.scalar(select(User).where(User.member_id == member.id))


def request_reset(db: Session, *, login: str, settings, sender,
                  client: str | None = None) -> None:
    """Send a reset code to the phone of the member account ``login`` names.

    An unknown login is answered the same way as a known one (nothing is sent), so the
    form does not tell which logins exist; the sending limits still count the address.
    """
    _send_to_account(db, login=login, purpose="reset", text=RESET_TEXT, settings=settings,
                     sender=sender, client=client)


def request_signin_code(db: Session, *, login: str, settings, sender,
                        client: str | None = None) -> None:
    """Send a sign-in code to the phone of the member account ``login`` names (answered
    alike for an unknown login, as a reset is)."""
    _send_to_account(db, login=login, purpose="signin", text=SIGNIN_TEXT, settings=settings,
                     sender=sender, client=client)


def sign_in_with_code(db: Session, *, login: str, code: str, settings) -> User:
    """The member account ``login`` names, once the code sent to its phone is given."""
    user = accounts.find_login(db, login)
    phone = _code_phone(db, user)
    phone_codes.use(db, phone=phone, purpose="signin", code=code, settings=settings)
    audit.record(db, actor=accounts.principal_of(user), action="auth.signin_code",
                 entity="user", entity_id=user.id)
    return user


def _send_to_account(db: Session, *, login: str, purpose: str, text: str, settings, sender,
                     client: str | None) -> None:
    phone = _member_phone(db, accounts.find_login(db, login))
    if phone is None:
        phone_codes.refuse_if_flooded_from(db, client=client, settings=settings)
        return
    phone_codes.send(db, phone=phone, purpose=purpose, text=text, settings=settings,
                     sender=sender, client=client)


def reset_password(db: Session, *, login: str, code: str, password: str, settings) -> User:
    """A new password for the account ``login`` names, proved by the code sent to its phone.
    Every session and token of the account ends."""
    user = accounts.find_login(db, login)
    phone = _code_phone(db, user)
    accounts.check_new_password(password)
    phone_codes.use(db, phone=phone, purpose="reset", code=code, settings=settings)
    accounts.set_password(db, username=user.username, password=password, actor=SYSTEM)
    sessions.end_all(db, user_id=user.id)
    return user


def _code_phone(db: Session, user: User | None) -> str:
    """The phone a code for this account went to; an account with none (unknown, closed,
    staff) is refused as if no code was sent, which is true."""
    phone = _member_phone(db, user)
    if phone is None:
        raise ValidationFailed("sms_code", "no code was sent to this phone; ask for a code")
    return phone


def _member_phone(db: Session, user: User | None) -> str | None:
    if user is None or not user.active or user.member_id is None:
        return None
    return db.scalar(select(Member.phone).where(Member.id == user.member_id))
