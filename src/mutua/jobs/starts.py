"""Asking for each kind of long work, as the API, the pages and the CLI all do.

Each function checks what can be checked at once (the project exists, the quarter reads as a
quarter, the file is a readable table or a valid FHIR Bundle), so bad input is refused with a
422 or 404 before anything is queued, and then queues the job in the caller's transaction
with the key that makes it one at a time and the lock that orders it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import payments
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed
from mutua.health import imports
from mutua.jobs import service
from mutua.jobs.kinds import file_key
from mutua.jobs.models import Job
from mutua.policies import importer
from mutua.premiums import service as premiums_service
from mutua.settings import get_settings


def close(db: Session, *, project_code: str, quarter: str, actor: Principal) -> Job:
    """One close per project and quarter at a time; a project's closes run in order."""
    project = catalog_service.get_project(db, code=project_code)
    q = Quarter.parse(quarter)
    if q.end >= shanghai_today():  # the close refuses it too; a request hears it at once
        raise ValidationFailed("quarter", "%(quarter)s has not ended (it ends %(end)s)", quarter=q, end=q.end)
    return service.enqueue(db, kind="settlement.close", key=f"{project.code}:{q}",
                           params={"project": project.code, "quarter": str(q)}, actor=actor,
                           project_id=project.id, lock=f"settlement:{project.code}")


def payment_batch(db: Session, *, project_code: str, actor: Principal,
                  claim_ids: list[int] | None = None, on: date | None = None) -> Job:
    """One payment batch per project at a time (two would race for the same claims); a
    batch the project's cash cannot cover is refused now, not in the job."""
    project = catalog_service.get_project(db, code=project_code)
    payments.check_can_pay(db, project=project, on=on, claim_ids=claim_ids)
    params = {"project": project.code, "claim_ids": claim_ids,
              "on": on.isoformat() if on else None}
    return service.enqueue(db, kind="claims.pay", key=project.code, params=params, actor=actor,
                           project_id=project.id, lock=f"claims-pay:{project.code}")


def member_import(db: Session, *, data: bytes, filename: str, product_code: str,
                  period_code: str, actor: Principal, all_or_nothing: bool = False,
                  settings=None, logins: bool = False) -> Job:
    """A group file: the same file into the same period is one job at a time."""

    settings = settings or get_settings()
    product = catalog_service.get_product(db, code=product_code)
    catalog_service.get_period(db, product=product, code=period_code)
    importer.check_table(data, filename=filename, settings=settings)  # unreadable: 422 now
    return service.enqueue(
        db, kind="members.import", key=f"{product.code}:{period_code}:{file_key(data)}",
        params={"product": product.code, "period": period_code,
                "all_or_nothing": all_or_nothing, "logins": logins},
        actor=actor, project_id=product.project_id, upload=(filename, data))


def lab_import(db: Session, *, data: bytes, filename: str, format: str, actor: Principal,
               whole_file: bool = False) -> Job:
    """A FHIR Bundle or a partner lab's CSV; read once here so a bad file is refused now.
    With ``whole_file`` a wrong value, unit or date anywhere refuses the whole file."""
    if format not in ("fhir", "csv"):
        raise ValidationFailed("format", "must be fhir or csv")
    if format == "fhir":
        imports.read_fhir(data)
    else:
        try:
            imports.read_csv(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ValidationFailed("file", "must be UTF-8 text") from None
    return service.enqueue(db, kind="health.import", key=f"{format}:{file_key(data)}",
                           params={"format": format, "whole_file": whole_file}, actor=actor,
                           upload=(filename, data))


def demo_build(db: Session, *, seed: int, members: int, actor: Principal) -> Job:
    if members < 1:
        raise ValidationFailed("members", "must be at least %(limit)s", limit=1)
    return service.enqueue(db, kind="demo.build", key="demo",
                           params={"seed": seed, "members": members}, actor=actor)


def collection_file(db: Session, *, data: bytes, filename: str, project_code: str,
                    source: str, actor: Principal) -> Job:
    """A bank's or platform's settlement file, read and checked now (a bad line refuses it
    at once, 422; a file already taken, 409), matched and posted by the job."""
    project = catalog_service.get_project(db, code=project_code)
    premiums_service.check_file(db, project_id=project.id, source=source, data=data,
                                filename=filename)
    return service.enqueue(db, kind="premiums.collection", key=f"{project.code}:{file_key(data)}",
                           params={"project": project.code, "source": source}, actor=actor,
                           project_id=project.id, upload=(filename, data),
                           lock=f"premiums:{project.code}")


def lapse(db: Session, *, on: date, actor: Principal) -> Job:
    """The lapse run for a day: one at a time; running it again lapses nothing more."""
    return service.enqueue(db, kind="premiums.lapse", key=on.isoformat(),
                           params={"on": on.isoformat()}, actor=actor, lock="premiums:lapse")


def renewal_run(db: Session, *, on: date, actor: Principal) -> Job:
    """The daily renewal run (offers, notices, auto-renewals, ended offers): one at a time;
    running it again the same day does nothing twice."""
    return service.enqueue(db, kind="policies.renewal_run", key=on.isoformat(),
                           params={"on": on.isoformat()}, actor=actor, lock="renewal_run")


def renewal(db: Session, *, product_code: str, from_period: str, to_period: str,
            actor: Principal, on: date, paid: bool = False, reference: str = "",
            payer: str = "") -> Job:
    """A group renewal from one period into the next: one at a time per product and period."""
    product = catalog_service.get_product(db, code=product_code)
    catalog_service.get_period(db, product=product, code=from_period)
    catalog_service.get_period(db, product=product, code=to_period)
    if len(reference) > 32:  # it becomes the renewal invoice's reference
        raise ValidationFailed("reference", "must be at most %(limit)s characters", limit=32)
    return service.enqueue(db, kind="policies.renew", key=f"{product.code}:{to_period}",
                           params={"product": product.code, "from": from_period,
                                   "to": to_period, "on": on.isoformat(), "paid": paid,
                                   "reference": reference, "payer": payer},
                           actor=actor, project_id=product.project_id,
                           lock=f"renew:{product.code}")


def privacy_purge(db: Session, *, actor: Principal) -> Job:
    """Delete or blank what is past its retention (privacy/retention.py): one run at a time;
    a second finds nothing left."""
    on = shanghai_today()
    return service.enqueue(db, kind="privacy.purge", key=on.isoformat(),
                           params={"on": on.isoformat()}, actor=actor, lock="privacy:purge")
