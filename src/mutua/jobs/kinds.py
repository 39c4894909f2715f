"""The kinds of long work that run as jobs, each calling its domain's service.

A kind says who may start and read it, what its work is, and whether a run killed half way may
simply run again: work that is one transaction (a close, a payment batch, an import, a lab
ingest) left nothing behind when it was killed, and each of those is keyed so a second run
cannot double anything; the demo build commits in steps and must start afresh instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mutua import wiring  # noqa: F401  (joins the domains' hooks before any use case runs)
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims import service as claims_service
from mutua.errors import Forbidden, Problem, ValidationFailed
from mutua.health import imports
from mutua.health import service as health_service
from mutua.policies import dues, importer, renewal_offers, renewals
from mutua.premiums import service as premiums_service
from mutua.privacy import retention
from mutua.settlement import service as settlement_service

# progress(done, total, stage): rows (or steps) done of total, and what they are
Progress = Callable[..., None]


@dataclass
class Work:
    """What a kind's function is given: the job's parameters, who asked, its file, progress."""

    job_id: int
    params: dict
    actor: Principal
    progress: Progress
    engine: Engine
    load_input: Callable[[], tuple[str, bytes]] = field(repr=False)


@dataclass(frozen=True)
class Kind:
    name: str
    roles: frozenset[Role]  # who may start and read it (admin always may)
    run: Callable[[Session, Work], dict]
    rerun_after_crash: bool = True  # its work is one transaction, keyed: safe to run again

    def allows(self, actor: Principal) -> bool:
        return actor.role is Role.ADMIN or actor.role in self.roles

    def check(self, actor: Principal) -> None:
        if not self.allows(actor):
            raise Forbidden("role %(role)s may not run or read %(kind)s jobs",
                            role=actor.role.value, kind=self.name)


def file_key(data: bytes) -> str:
    """A short fingerprint of an uploaded file: the same file twice is one job at a time."""
    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------- the work of each kind

def _close(db: Session, work: Work) -> dict:
    p = work.params
    return settlement_service.close_quarter(db, project_code=p["project"], quarter=p["quarter"],
                                            actor=work.actor, progress=work.progress)


def _pay(db: Session, work: Work) -> dict:
    p = work.params
    work.progress(0, 1, "paying")
    on = date.fromisoformat(p["on"]) if p.get("on") else None
    batch = claims_service.pay(db, project_code=p["project"], actor=work.actor, on=on,
                               claim_ids=p.get("claim_ids"))
    work.progress(1, 1, "paying")
    # The batch as the API tells it, with the items refused above their ceiling.
    return claims_service.batch_out(batch).model_dump(mode="json")


def _import_members(db: Session, work: Work) -> dict:
    p = work.params
    filename, data = work.load_input()
    work.progress(0, None, "reading")
    report = importer.import_members(db, data=data, filename=filename,
                                     product_code=p["product"], period_code=p["period"],
                                     actor=work.actor, all_or_nothing=p.get("all_or_nothing", False),
                                     progress=work.progress, logins=p.get("logins", False))
    return report.to_dict()


# Refusals that mean a file's numbers are wrong; with ``whole_file`` any of them refuses the
# whole file (a half-right file leaves none of its results behind). Other refusals (a code
# not tracked, an unknown patient, a result already on file) skip that record only.
WRONG_NUMBERS = ("value", "unit", "effective")


def record_place(source: str, record: int) -> str:
    """Where a record sits: a CSV line number (the header is line 1) or a Bundle entry."""
    return f"line {record}" if source == "csv" else f"entry[{record}]"


def _import_lab_results(db: Session, work: Work) -> dict:
    p = work.params
    _filename, data = work.load_input()
    raw = (imports.read_fhir(data) if p["format"] == "fhir"
           else imports.read_csv(data.decode("utf-8-sig")))
    work.progress(0, len(raw), "checking")
    outcome = health_service.import_records(db, actor=work.actor, raw=raw, source=p["format"])
    wrong = [r for r in outcome.rejected if r["field"] in WRONG_NUMBERS]
    if p.get("whole_file") and wrong:
        raise ValidationFailed([Problem(f"{record_place(p['format'], r['record'])}.{r['field']}",
                                        r["reason"]) for r in wrong])
    work.progress(len(raw), len(raw), "storing")
    return outcome.to_dict()


def _build_demo(db: Session, work: Work) -> dict:
    from mutua.demo import builder  # it reaches the job queue, which imports this module

    p = work.params
    url = work.engine.url.render_as_string(hide_password=False)
    return builder.build(seed=p["seed"], members=p["members"], fresh=False, url=url,
                         report=work.progress)


def _collect_premiums(db: Session, work: Work) -> dict:
    p = work.params
    filename, data = work.load_input()
    work.progress(0, None, "matching")
    return premiums_service.import_file(db, project_code=p["project"], source=p["source"],
                                        data=data, filename=filename,
                                        actor=work.actor).to_dict()


def _lapse(db: Session, work: Work) -> dict:
    on = date.fromisoformat(work.params["on"])
    lapsed = dues.lapse_overdue(db, on=on)
    return {"lapsed": sum(lapsed.values()), "by_project": {str(k): v for k, v in lapsed.items()},
            "reminded": dues.remind_unpaid(db, on=on)}


def _renew(db: Session, work: Work) -> dict:
    p = work.params
    return renewals.renew_group(db, product_code=p["product"], from_period=p["from"],
                                to_period=p["to"], actor=work.actor,
                                on=date.fromisoformat(p["on"]), paid=p.get("paid", False),
                                reference=p.get("reference", ""),
                                payer=p.get("payer", "")).to_dict()


def _purge(db: Session, work: Work) -> dict:
    return retention.purge(db, actor=work.actor, progress=work.progress)


def _renewal_run(db: Session, work: Work) -> dict:
    return renewal_offers.run(db, on=date.fromisoformat(work.params["on"]),
                              actor=work.actor).to_dict()


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("settlement.close", frozenset({Role.FINANCE}), _close),
    Kind("claims.pay", frozenset({Role.CLAIMS}), _pay),
    Kind("members.import", frozenset({Role.UNDERWRITER}), _import_members),
    Kind("health.import", frozenset({Role.CARE}), _import_lab_results),
    Kind("demo.build", frozenset(), _build_demo, rerun_after_crash=False),
    Kind("premiums.collection", frozenset({Role.FINANCE}), _collect_premiums),
    Kind("premiums.lapse", frozenset({Role.FINANCE}), _lapse),
    Kind("policies.renew", frozenset({Role.UNDERWRITER}), _renew),
    Kind("privacy.purge", frozenset(), _purge),
    Kind("policies.renewal_run", frozenset({Role.UNDERWRITER, Role.FINANCE}), _renewal_run),
)}


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise ValidationFailed("kind", "must be one of %(choices)s", choices=", ".join(sorted(KINDS)))
    return kind


def readable_kinds(actor: Principal) -> list[str]:
    return [k.name for k in KINDS.values() if k.allows(actor)]


def as_json(value: Any) -> Any:
    """A result made safe for a JSON column (Decimals and dates become text)."""
    import json

    return json.loads(json.dumps(value, default=str))
