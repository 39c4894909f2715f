"""The claim form's pieces, shared by the member's page (/me/claims/new) and the handler's
page that reports on a member's behalf (/staff/claims/new).

The form's text fields become the claims service's request (:func:`claim_in`); documents are
checked all together before anything is stored (:func:`report_with_documents`,
:func:`attach_documents`), so a refused form leaves no claim row, no ledger entry and no
file behind: the claims service writes a document's bytes to disk as soon as it accepts it,
and a database rollback cannot take a file back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Form, UploadFile
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import documents as claim_documents
from mutua.claims import service as claims_service
from mutua.claims.models import Claim, ClaimDocument
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.deps import refusal_undone
from mutua.errors import Problem, ValidationFailed
from mutua.money import parse_yuan
from mutua.policies import cover as policy_cover
from mutua.policies import service as policies_service
from mutua.settings import Settings
from mutua.web.problems import Described, describe_all

# The form's text fields, in the order claim_in takes them.
FIELDS = ("cover", "event_type", "event_date", "place", "description", "invoice_amount",
          "social_insurance_paid", "has_social_insurance", "hospital_days", "disability_grade",
          "claimed_amount", "duplicate_reason")


def form_fields(
    cover: Annotated[str, Form(max_length=80)] = "",
    event_type: Annotated[str, Form(max_length=16)] = "",
    event_date: Annotated[str, Form(max_length=10)] = "",
    place: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=20000)] = "",
    invoice_amount: Annotated[str, Form(max_length=20)] = "",
    social_insurance_paid: Annotated[str, Form(max_length=20)] = "",
    has_social_insurance: Annotated[bool, Form()] = False,
    hospital_days: Annotated[str, Form(max_length=4)] = "",
    disability_grade: Annotated[str, Form(max_length=2)] = "",
    claimed_amount: Annotated[str, Form(max_length=20)] = "",
    duplicate_reason: Annotated[str, Form(max_length=5000)] = "",
) -> dict:
    """The form's text fields as posted (a dependency both report routes declare)."""
    return dict(cover=cover, event_type=event_type, event_date=event_date, place=place,
                description=description, invoice_amount=invoice_amount,
                social_insurance_paid=social_insurance_paid,
                has_social_insurance=has_social_insurance, hospital_days=hospital_days,
                disability_grade=disability_grade, claimed_amount=claimed_amount,
                duplicate_reason=duplicate_reason)


@dataclass(frozen=True)
class Upload:
    """One file as the browser sent it, read up to one byte over the size limit."""

    filename: str
    content_type: str
    data: bytes


def covers(db: Session, *, member_id: int, actor: Principal) -> list[dict]:
    """Each of the member's policies' benefits, as the form's (policy, benefit) choices.

    A choice's value is "<policy id>|<benefit code>", e.g. "42|medical".
    """
    policies, _total = policies_service.list_for_member(db, member_id=member_id, actor=actor)
    out = []
    for p in policies:
        code = policy_cover.cover_on(db, policy_id=p.id, on=p.cover_start).product_code
        product = catalog_service.get_product(db, code=code)
        for b in product.benefits:
            out.append({"value": f"{p.id}|{b.code}", "policy": p, "product": product,
                        "benefit": b})
    return out


def money_field(text: str, field: str) -> Decimal | None:
    """An amount typed in yuan ("1,234.50", "¥80"); blank is None; negative is refused."""
    value = parse_yuan(text, field=field)
    if value is None:
        return None
    if value < 0:
        raise ValidationFailed(field, "must not be negative")
    return value


def whole_number(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed(field, "must be a whole number")
    return int(text)


# What the claims service stores at most; the form's own bound (form_fields) is looser so
# that an over-long text is reported with every other problem of the form, not alone.
TEXT_LIMITS = {"place": 200, "description": 2000, "duplicate_reason": 500}


def _checked(found: list[Problem], check, *args):
    """``check(*args)``, or None with its problems added to ``found``."""
    try:
        return check(*args)
    except ValidationFailed as exc:
        found.extend(exc.problems)
        return None


def _cover(cover: str) -> tuple[int, str]:
    try:
        policy_id, benefit_code = cover.split("|", 1)
        return int(policy_id), benefit_code
    except ValueError:
        raise ValidationFailed("cover", "choose a policy and benefit") from None


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, "must be a date, e.g. 2026-01-01") from None


def claim_in(*, cover: str, event_type: str, event_date: str, place: str, description: str,
             invoice_amount: str, social_insurance_paid: str, has_social_insurance: bool,
             hospital_days: str, disability_grade: str, claimed_amount: str,
             duplicate_reason: str = "") -> ClaimIn:
    """The form's fields as the claims service's request. Every bad field is found before
    ValidationFailed is raised, so the form shows all its problems at once."""
    found: list[Problem] = []
    chosen = _checked(found, _cover, cover)
    day = _checked(found, _day, event_date, "event_date")
    texts = {"place": place, "description": description, "duplicate_reason": duplicate_reason}
    for name, limit in TEXT_LIMITS.items():
        if len(texts[name]) > limit:
            found.append(Problem(name, "must be at most %(limit)s characters", limit=limit))
    amounts = {name: _checked(found, money_field, text, name) for name, text in (
        ("claimed_amount", claimed_amount), ("invoice_amount", invoice_amount),
        ("social_insurance_paid", social_insurance_paid))}
    counts = {name: _checked(found, whole_number, text, name) for name, text in (
        ("hospital_days", hospital_days), ("disability_grade", disability_grade))}
    if found:
        raise ValidationFailed(found)
    item = ItemIn(benefit_code=chosen[1], has_social_insurance=has_social_insurance,
                  claimed_amount=amounts["claimed_amount"],
                  invoice_amount=amounts["invoice_amount"],
                  social_insurance_paid=amounts["social_insurance_paid"] or Decimal(0),
                  **counts)
    return ClaimIn(policy_id=chosen[0], event_type=event_type, event_date=day, place=place,
                   description=description, items=[item],
                   duplicate_reason=duplicate_reason.strip() or None)


def read_uploads(files: list[UploadFile] | None, settings: Settings) -> list[Upload]:
    """The files chosen on the form (a file input left empty sends one without a name)."""
    return [Upload(u.filename, u.content_type or "", u.file.read(settings.upload_max_bytes + 1))
            for u in files or [] if u.filename]


def upload_problems(uploads: list[Upload], *, kind: str, settings: Settings) -> list[Problem]:
    """Every problem of every file, by the claims service's own check, before any is stored."""
    problems: list[Problem] = []
    for u in uploads:
        for p in claim_documents.check_upload(
                filename=u.filename, content_type=(u.content_type or "").split(";")[0].strip()
                .lower(), data=u.data, kind=kind, max_bytes=settings.upload_max_bytes):
            if p not in problems:
                problems.append(p)
    return problems


def _store(db: Session, *, claim_id: int, uploads: list[Upload], kind: str, actor: Principal,
           settings: Settings) -> list[ClaimDocument]:
    return [claims_service.add_document(db, claim_id=claim_id, actor=actor, filename=u.filename,
                                        content_type=u.content_type, data=u.data, kind=kind,
                                        settings=settings)
            for u in uploads]


def report_with_documents(db: Session, *, form: dict, uploads: list[Upload], kind: str,
                          actor: Principal, settings: Settings,
                          allowed: set[str] | None = None) -> Claim:
    """Report the claim the form describes, with its documents (报案).

    ``allowed`` limits the policy and benefit to the choices the form offered (a handler
    files for the member shown on the page, never on another member's policy). All the
    form's problems and all the files' problems are raised together; nothing is stored.
    A second report of an event already reported raises the claims service's
    DuplicateReport (409), which names the existing claim for the page to link to.
    """
    problems = upload_problems(uploads, kind=kind, settings=settings)
    data = None
    try:
        if allowed is not None and form.get("cover") not in allowed:
            raise ValidationFailed("cover", "choose a policy and benefit")
        data = claim_in(**{k: form[k] for k in FIELDS})
    except ValidationFailed as exc:
        problems = exc.problems + problems
    if problems:
        raise ValidationFailed(problems)
    claim = claims_service.report(db, data=data, actor=actor, settings=settings)
    _store(db, claim_id=claim.id, uploads=uploads, kind=kind, actor=actor, settings=settings)
    return claim


def attach_documents(db: Session, *, claim_id: int, uploads: list[Upload], kind: str,
                     actor: Principal, settings: Settings) -> list[ClaimDocument]:
    """Add further documents to a claim; none is stored unless every one passes."""
    if not uploads:
        raise ValidationFailed("file", "is empty")
    claims_service.load_claim(db, claim_id, actor)  # NotFound before any file is looked at
    problems = upload_problems(uploads, kind=kind, settings=settings)
    if problems:
        raise ValidationFailed(problems)
    return _store(db, claim_id=claim_id, uploads=uploads, kind=kind, actor=actor,
                  settings=settings)


def documents_refused(db: Session, *, claim_id: int, files: list[UploadFile] | None, kind: str,
                      actor: Principal, settings: Settings) -> Described | None:
    """The form's further documents attached to the claim (None), or the refusal's lines for
    the page to show again, with nothing stored (the member's page and the handler's)."""
    try:
        with refusal_undone(db):
            attach_documents(db, claim_id=claim_id, uploads=read_uploads(files, settings),
                             kind=kind, actor=actor, settings=settings)
    except ValidationFailed as exc:
        return describe_all(exc)
    return None
