"""Collection and reconciliation: payments from settlement files and provider callbacks are
matched to premiums due; exact ones post, the rest wait in the queue finance works.

Money in: Dr cash / Cr premium receivable for a payment that paid its due; Dr cash /
Cr premium suspense for one queued. Finance then matches a queued payment to a due
(Dr suspense / Cr receivable), refunds it through the provider (Dr suspense / Cr cash)
or holds it with a note. The same file twice is refused whole (its hash); a transaction
already taken (from another file or a callback) is counted and skipped, never posted twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import copy_rows, page_total, unique_or_conflict
from mutua.errors import Conflict, NotFound, Problem, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.members import service as members_service
from mutua.money import ZERO, to_fen
from mutua.payments import domain, provider
from mutua.policies import domain as policy_rules
from mutua.policies import dues, importer
from mutua.premiums.models import CallbackNonce, CollectedPayment, CollectionFile

POSTED, QUEUED, MATCHED, REFUNDED, HELD = "posted", "queued", "matched", "refunded", "held"
UNKNOWN = "unknown"


@dataclass
class FileReport:
    file_id: int
    lines: int = 0
    posted: int = 0
    queued: int = 0
    repeated: int = 0
    amount: Decimal = ZERO
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"file_id": self.file_id, "lines": self.lines, "posted": self.posted,
                "queued": self.queued, "repeated": self.repeated, "amount": str(self.amount),
                "reasons": self.reasons}


def classify(line: domain.Line, found: tuple[dues.Owed, str] | None,
             outstanding: Decimal) -> str:
    """How a payment meets what its reference names: exact, partial, over, duplicate, late,
    or unknown (no such due, or paid by another member than the due's)."""
    if found is None:
        return UNKNOWN
    owed, member_number = found
    if member_number and line.member_number != member_number:
        return UNKNOWN
    return policy_rules.payment_verdict(due_state=owed.state if outstanding else dues.PAID,
                                        owed=outstanding, amount=line.amount,
                                        paid_on=line.paid_on, grace_end=owed.grace_end)


def import_file(db: Session, *, project_code: str, source: str, data: bytes, filename: str,
                actor: Principal) -> FileReport:
    """Take a bank's or a platform's settlement file (CSV or .xlsx) in one transaction."""
    project = catalog_service.get_project(db, code=project_code)
    lines = check_file(db, project_id=project.id, source=source, data=data, filename=filename)
    sha = hashlib.sha256(data).hexdigest()
    cfile = CollectionFile(project_id=project.id, sha256=sha, source=source,
                           filename=filename[:200], lines=len(lines), posted=0, queued=0,
                           repeated=0, amount=ZERO, uploaded_by=actor.user_id or None)
    db.add(cfile)
    with unique_or_conflict("this file was already uploaded; nothing in it was posted again"):
        db.flush()
    report = _take(db, project_id=project.id, source=source, lines=lines, file_id=cfile.id)
    cfile.posted, cfile.queued, cfile.repeated = report.posted, report.queued, report.repeated
    cfile.amount = report.amount
    audit.record(db, actor=actor, action="premiums.file", entity="collection_file",
                 entity_id=cfile.id, project_id=project.id, detail=report.to_dict())
    return report


def check_file(db: Session, *, project_id: int, source: str, data: bytes,
               filename: str) -> list[domain.Line]:
    """The file's lines, or the whole file refused: a bad source or line (422), or a file
    already taken in this project (409)."""
    if source not in domain.SOURCES:
        raise ValidationFailed("source", "must be one of %(choices)s", choices=", ".join(domain.SOURCES))
    earlier = db.scalar(select(CollectionFile.id).where(
        CollectionFile.project_id == project_id,
        CollectionFile.sha256 == hashlib.sha256(data).hexdigest()))
    if earlier is not None:
        raise Conflict("this file was already uploaded as collection file %(earlier)s; "
                       "nothing in it was posted again", earlier=earlier)
    return _read_lines(data, filename)


def _read_lines(data: bytes, filename: str) -> list[domain.Line]:
    table = importer.read_table(data, filename=filename, check_header=domain.check_header,
                                columns=domain.COLUMNS)
    lines, problems = [], []
    for number, cells in table.rows:
        line, bad = domain.read_line(number, dict(zip(domain.COLUMNS, cells, strict=True)))
        problems += [p.at(f"rows[{number}].{p.field}") for p in bad]
        if line is not None:
            lines.append(line)
    if problems:  # a settlement file is taken whole or not at all
        raise ValidationFailed(problems[:1000])
    return lines


def _take(db: Session, *, project_id: int, source: str, lines: list[domain.Line],
          file_id: int | None) -> FileReport:
    """Match, store and post payments: exact ones pay their dues, the rest are queued."""
    report = FileReport(file_id or 0, lines=len(lines))
    taken = _taken(db, project_id, source, [ln.transaction_id for ln in lines])
    found = dues.owed_for(db, project_id=project_id,
                          references=sorted({ln.reference for ln in lines}))
    outstanding = {ref: (o.outstanding if o.state == dues.OPEN else ZERO)
                   for ref, (o, _n) in found.items()}
    rows, exact_dues, exact_invoices = [], defaultdict(list), []
    for ln in lines:
        if ln.transaction_id in taken:
            report.repeated += 1
            continue
        taken.add(ln.transaction_id)
        verdict = classify(ln, found.get(ln.reference), outstanding.get(ln.reference, ZERO))
        if verdict == policy_rules.EXACT:
            outstanding[ln.reference] = ZERO
            owed = found[ln.reference][0]
            if owed.invoice_id is not None:
                exact_invoices.append((owed, ln))
            else:
                exact_dues[ln.paid_on].append(owed.due_id)
        report.reasons[verdict] = report.reasons.get(verdict, 0) + 1
        rows.append((ln, verdict))
        report.amount += ln.amount
    _store(db, project_id, source, file_id, rows)
    ref = f"file {file_id}" if file_id else f"{source} callback"
    for paid_on, ids in sorted(exact_dues.items()):
        dues.settle(db, project_id=project_id, due_ids=ids, paid_on=paid_on, reference=ref)
    for owed, ln in exact_invoices:
        dues.apply(db, owed=owed, amount=ln.amount, paid_on=ln.paid_on, reference=ref)
    report.posted = sum(1 for _ln, v in rows if v == policy_rules.EXACT)
    report.queued = len(rows) - report.posted
    _to_suspense(db, project_id, [ln for ln, v in rows if v != policy_rules.EXACT], ref)
    return report


def _taken(db: Session, project_id: int, source: str, ids: list[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(ids), 5000):
        out.update(db.scalars(select(CollectedPayment.transaction_id).where(
            CollectedPayment.project_id == project_id, CollectedPayment.source == source,
            CollectedPayment.transaction_id.in_(ids[start:start + 5000]))))
    return out


def _store(db: Session, project_id: int, source: str, file_id: int | None, rows) -> None:
    now = utcnow()
    copy_rows(db, "collected_payments", [
        "line_no", "transaction_id", "reference", "member_number", "payer", "amount", "paid_on",
        "state", "reason"],
        ((ln.line_no, ln.transaction_id, ln.reference, ln.member_number, ln.payer,
          to_fen(ln.amount), ln.paid_on, POSTED if v == policy_rules.EXACT else QUEUED,
          "" if v == policy_rules.EXACT else v) for ln, v in rows),
        same={"project_id": project_id, "file_id": file_id, "source": source,
              "matched_reference": "", "refund_id": "", "note": "", "created_at": now})


def _to_suspense(db: Session, project_id: int, queued: list[domain.Line], ref: str) -> None:
    total = sum((ln.amount for ln in queued), ZERO)
    if not total:
        return
    ledger_service.open_books(db, project_id=project_id)  # books opened before the account
    ledger_service.post(db, L.JournalEntry.of(
        project_id=project_id, entry_date=max(ln.paid_on for ln in queued),
        kind="premium_suspense", memo=f"{len(queued)} payments to reconcile", reference=ref,
        postings=L.transfer(L.CASH, L.PREMIUM_SUSPENSE, total)))


# --- the reconciliation queue -------------------------------------------------------------

def queue(db: Session, *, project_code: str | None = None, state: str = QUEUED,
          limit: int = 50, offset: int = 0) -> tuple[list[CollectedPayment], int]:
    where = [CollectedPayment.state == state]
    if project_code:
        where.append(CollectedPayment.project_id
                     == catalog_service.get_project(db, code=project_code).id)
    rows = list(db.scalars(select(CollectedPayment).where(*where)
                           .order_by(CollectedPayment.id).limit(limit).offset(offset)))
    return rows, page_total(db, rows, limit=limit, offset=offset,
                            count=select(func.count()).select_from(CollectedPayment).where(*where))


def _open_item(db: Session, payment_id: int) -> CollectedPayment:
    item = db.get(CollectedPayment, payment_id, with_for_update=True)
    if item is None:
        raise NotFound("payment %(payment_id)s not found", payment_id=payment_id)
    if item.state not in (QUEUED, HELD):
        raise Conflict("payment %(payment_id)s is %(state)s, not waiting in the queue",
                       payment_id=payment_id, state=item.state)
    return item


def _resolve(db: Session, item: CollectedPayment, state: str, actor: Principal, **detail) -> None:
    item.state, item.resolved_by, item.resolved_at = state, actor.user_id or None, utcnow()
    audit.record(db, actor=actor, action=f"premiums.{state}", entity="collected_payment",
                 entity_id=item.id, project_id=item.project_id,
                 detail={"amount": str(item.amount), **detail})


def match(db: Session, *, payment_id: int, reference: str, actor: Principal,
          on: date | None = None) -> CollectedPayment:
    """Apply a queued payment to the due (or invoice) finance chose: a part adds to what is
    paid, the last part starts cover; more than is owed is refused (refund the payment)."""
    item = _open_item(db, payment_id)
    owed = dues.find(db, project_id=item.project_id, reference=reference.strip())
    if owed is None:
        raise ValidationFailed("reference", "names no premium due or invoice in this project")
    dues.apply(db, owed=owed, amount=item.amount, paid_on=item.paid_on,
               reference=f"payment {item.id}", from_account=L.PREMIUM_SUSPENSE)
    item.matched_reference = owed.reference
    _resolve(db, item, MATCHED, actor, reference=owed.reference)
    return item


def refund(db: Session, *, payment_id: int, actor: Principal, note: str = "",
           on: date | None = None) -> CollectedPayment:
    """Send a queued payment back through the provider it came by (the fake for files)."""
    item = _open_item(db, payment_id)
    item.refund_id = provider.get("fake").refund(project_id=item.project_id,
                                                 reference=item.reference, amount=item.amount)
    item.note = note.strip()[:500]
    ledger_service.post(db, L.JournalEntry.of(
        project_id=item.project_id, entry_date=on or shanghai_today(), kind="premium_refund",
        memo=f"unmatched payment {item.transaction_id} refunded", reference=item.refund_id,
        postings=L.transfer(L.PREMIUM_SUSPENSE, L.CASH, item.amount)))
    _resolve(db, item, REFUNDED, actor, refund_id=item.refund_id)
    return item


def refund_lapsed(db: Session, *, project_code: str, reference: str, actor: Principal,
                  on: date | None = None) -> str:
    """Finance pays back a part payment left in refunds payable when its due or group
    invoice lapsed (policies.dues.refund_lapsed); returns the provider's refund id."""
    project = catalog_service.get_project(db, code=project_code)
    refund_id = dues.refund_lapsed(db, project_id=project.id, reference=reference,
                                   on=on or shanghai_today())
    audit.record(db, actor=actor, action="premiums.refund_lapsed", entity="premium_due",
                 entity_id=reference, project_id=project.id, detail={"refund_id": refund_id})
    return refund_id


def hold(db: Session, *, payment_id: int, note: str, actor: Principal) -> CollectedPayment:
    """Keep a payment in suspense while finance asks the payer (the note says why)."""
    note = note.strip()
    if not 1 <= len(note) <= 500:
        raise ValidationFailed("note", "must be 1 to %(limit)s characters", limit=500)
    item = _open_item(db, payment_id)
    item.note = note
    _resolve(db, item, HELD, actor, note=note)
    return item


# --- online payment: checkout and the provider's callback --------------------------------

def checkout(db: Session, *, project_code: str, reference: str, actor: Principal,
             provider_name: str = "fake") -> provider.Checkout:
    """Start an online payment of a due; a member may pay only their own."""
    project = catalog_service.get_project(db, code=project_code)
    found = dues.owed_for(db, project_id=project.id, references=[reference]).get(reference)
    if found is None or (actor.is_member and found[0].member_id != actor.member_id):
        raise NotFound("no premium due with reference %(reference)s", reference=reference)
    owed = found[0]
    if owed.state != dues.OPEN:
        raise Conflict("premium %(reference)s is %(state)s, not open", reference=reference, state=owed.state)
    return provider.get(provider_name).checkout(project_code=project.code, reference=reference,
                                                amount=owed.outstanding)


def receive_callback(db: Session, *, provider_name: str, body: bytes, signature: str,
                     now: int) -> dict:
    """A provider says a payment was made: verify, refuse replays, take it once.

    The signature is checked first (a forgery learns nothing), then the timestamp window
    and the nonce (a replay is refused even when correctly signed); a transaction already
    taken answers as before without posting again (the provider may retry).
    """
    provider.get(provider_name)
    domain.check_signature(provider.callback_secret(), body, signature)
    msg = _callback_message(body)
    domain.check_fresh(msg["timestamp"], now)
    project = catalog_service.get_project(db, code=msg["project"])
    db.add(CallbackNonce(project_id=project.id, provider=provider_name, nonce=msg["nonce"]))
    with unique_or_conflict("callback replayed: its nonce was already used"):
        db.flush()
    line, problems = domain.read_line(0, msg)
    if problems:
        raise ValidationFailed(problems)
    existing = db.scalar(select(CollectedPayment).where(
        CollectedPayment.project_id == project.id, CollectedPayment.source == provider_name,
        CollectedPayment.transaction_id == line.transaction_id))
    if existing is not None:
        return {"transaction_id": line.transaction_id, "state": existing.state, "repeat": True}
    report = _take(db, project_id=project.id, source=provider_name, lines=[line], file_id=None)
    state = POSTED if report.posted else QUEUED
    return {"transaction_id": line.transaction_id, "state": state, "repeat": False}


def _callback_message(body: bytes) -> dict:
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("body", "must be a JSON object") from None
    if not isinstance(msg, dict):
        raise ValidationFailed("body", "must be a JSON object")
    problems = [Problem(k, "must be 1 to %(limit)s characters", limit=64) for k in ("project", "nonce")
                if not isinstance(msg.get(k), str) or not 1 <= len(msg[k]) <= 64]
    if not isinstance(msg.get("timestamp"), int):
        problems.append(Problem("timestamp", "is required and must be an integer"))
    if problems:
        raise ValidationFailed(problems)
    return msg


def pay_online(db: Session, *, project_code: str, reference: str, actor: Principal) -> dict:
    """A member pays a due through the fake provider: checkout, then the provider's signed
    callback taken as any provider's would be (so the demo shows the whole path)."""
    order = checkout(db, project_code=project_code, reference=reference, actor=actor)
    member = members_service.get(db, member_id=actor.member_id, actor=actor)
    body, signature = provider.FakeProvider.callback(
        provider.callback_secret(), project_code=project_code, reference=reference,
        amount=order.amount, paid_on=shanghai_today().isoformat(),
        member_number=member.member_number, transaction_id=order.order_id)
    return receive_callback(db, provider_name=order.provider, body=body, signature=signature,
                            now=int(time.time()))
