"""Claim documents: invoices, medical records, death certificates, kept as files.

The bytes are written under ``settings.upload_dir/claims/<project>/<claim>/`` named by their
SHA-256, so a retried upload never makes a second copy; the database keeps only what the
file is. Only PDF, JPEG and PNG are accepted, checked by their first bytes as well as by
the declared type, and nothing larger than ``settings.upload_max_bytes``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.claims.models import ClaimDocument
from mutua.claims.workflow import load_claim
from mutua.errors import NotFound, Problem, ValidationFailed
from mutua.settings import Settings, get_settings

KINDS = ("invoice", "medical_record", "discharge_summary", "id_card", "death_certificate",
         "disability_assessment", "police_report", "bank_card", "other")
# content type -> (file signature, extension)
ALLOWED = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
}


def check_upload(*, filename: str, content_type: str, data: bytes, kind: str,
                 max_bytes: int) -> list[Problem]:
    """Problems with an upload, before anything is written."""
    problems = []
    if kind not in KINDS:
        problems.append(Problem("kind", "must be one of %(choices)s", choices=", ".join(KINDS)))
    if not data:
        problems.append(Problem("file", "is empty"))
    elif len(data) > max_bytes:
        problems.append(Problem("file", "is larger than the %(limit)s bytes allowed", limit=max_bytes))
    signature = ALLOWED.get((content_type or "").split(";")[0].strip().lower())
    if signature is None:
        problems.append(Problem("file", "type must be PDF, JPEG or PNG"))
    elif data and not data.startswith(signature[0]):
        problems.append(Problem("file", "content is not a %(type)s file", type=content_type))
    if not filename or len(filename) > 200 or "/" in filename or "\\" in filename:
        problems.append(Problem("filename", "must be a plain file name of at most 200 characters"))
    return problems


def add(db: Session, *, claim_id: int, actor: Principal, filename: str, content_type: str,
        data: bytes, kind: str = "other", settings: Settings | None = None) -> ClaimDocument:
    settings = settings or get_settings()
    claim = load_claim(db, claim_id, actor)
    content_type = (content_type or "").split(";")[0].strip().lower()
    problems = check_upload(filename=filename, content_type=content_type, data=data, kind=kind,
                            max_bytes=settings.upload_max_bytes)
    if problems:
        raise ValidationFailed(problems)
    digest = hashlib.sha256(data).hexdigest()
    relative = Path("claims") / str(claim.project_id) / str(claim.id) / (
        digest + ALLOWED[content_type][1])
    target = Path(settings.upload_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic: a reader never sees half a file
    doc = ClaimDocument(claim_id=claim.id, project_id=claim.project_id, kind=kind,
                        filename=filename, content_type=content_type, size_bytes=len(data),
                        sha256=digest, stored_path=str(relative), uploaded_by=actor.user_id)
    db.add(doc)
    db.flush()
    audit.record(db, actor=actor, action="claim.document", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id,
                 detail={"document_id": doc.id, "kind": kind, "size_bytes": len(data)})
    from mutua.claims import handling  # imports this module's KINDS

    handling.documents_arrived(db, claim=claim, actor=actor)
    return doc


def list_for(db: Session, *, claim_id: int, actor: Principal) -> list[ClaimDocument]:
    load_claim(db, claim_id, actor)
    return of_claim(db, claim_id=claim_id)


def of_claim(db: Session, *, claim_id: int) -> list[ClaimDocument]:
    return list(db.scalars(select(ClaimDocument).where(ClaimDocument.claim_id == claim_id)
                           .order_by(ClaimDocument.id)))


def read(db: Session, *, claim_id: int, document_id: int, actor: Principal,
         settings: Settings | None = None) -> tuple[ClaimDocument, bytes]:
    settings = settings or get_settings()
    load_claim(db, claim_id, actor)
    doc = db.get(ClaimDocument, document_id)
    if doc is None or doc.claim_id != claim_id:
        raise NotFound("document %(document_id)s not found", document_id=document_id)
    # medical records and invoices are health data: every read is audited
    audit.record(db, actor=actor, action="claim.document_read", entity="claim",
                 entity_id=claim_id, project_id=doc.project_id,
                 detail={"document_id": doc.id, "kind": doc.kind})
    return doc, (Path(settings.upload_dir) / doc.stored_path).read_bytes()
