"""Reserve movement reports tie to the ledger; the auditors' export holds the quarter."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from datetime import date
from decimal import Decimal

from mutua.auth.security import SYSTEM
from mutua.claims import first_notice, workflow
from mutua.claims.schemas import ClaimIn
from mutua.ledger import service as ledger_service
from mutua.settlement import export, movements, service
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool

D = Decimal


def closed_pool(db):
    pool = build_pool(db, members=6, claims=2)
    open_claim = first_notice.report(db, data=ClaimIn(
        policy_id=pool.policies[3].id, event_type="accident", event_date=date(2025, 3, 20),
        place="深圳", description="fall, disability assessment pending",
        items=[{"benefit_code": "disability", "disability_grade": 8}]), actor=SYSTEM,
        on=date(2025, 3, 20))
    workflow.set_reserve(db, claim_id=open_claim.id, amount="650.00", actor=SYSTEM,
                         reason="invoices still coming", on=date(2025, 3, 21))
    service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                          today=AFTER_Q1)
    db.commit()
    return pool


def test_each_line_rolls_forward_and_equals_its_ledger_account(db):
    pool = closed_pool(db)
    report = movements.movement_report(db, project_code=CODE, quarter="2025Q1")
    assert [x["line"] for x in report["lines"]] == [s.name for s in movements.RESERVE_LINES]
    for line in report["lines"]:
        assert line["balanced"], line
        total = D(line["opening"]) + sum(D(m["amount"]) for m in line["movements"])
        assert total == D(line["closing"])
        books = -ledger_service.balance_of(db, project_id=pool.project_id,
                                           account=line["account"], as_of=date(2025, 3, 31))
        assert D(line["closing"]) == books, line["line"]
        if line["source"] is not None:
            assert line["ties"], line
    by = {x["line"]: x for x in report["lines"]}
    assert by["case_reserve"]["closing"] == "650.00"
    assert D(by["unearned_premium"]["closing"]) > 0
    statement = service.project_statement(db, project_code=CODE, quarter="2025Q1")
    assert by["ibnr"]["closing"] == statement["ibnr"]
    assert by["claims_payable"]["closing"] == statement["claims_payable"]
    # the premium deficiency test's reserve is in the books as the close recorded it
    assert by["unexpired_risk"]["source"] is not None and by["unexpired_risk"]["ties"]
    # the next quarter opens where this one closed
    nxt = movements.movement_report(db, project_code=CODE, quarter="2025Q2")
    assert [x["opening"] for x in nxt["lines"]] == [x["closing"] for x in report["lines"]]


def test_the_export_is_a_zip_of_the_quarter_with_its_dictionary(db):
    closed_pool(db)
    buf = io.BytesIO()
    counts = export.write(db, buf, project_code=CODE, quarter="2025Q1", actor=SYSTEM)
    zf = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks(buf))))
    assert set(zf.namelist()) == {"data_dictionary.csv", "ledger.csv", "policies.csv",
                                  "claims.csv", "reserves.csv"}

    def read(name):
        return list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")))

    ledger = read("ledger.csv")
    assert len(ledger) == counts["ledger.csv"] > 0
    by_entry = defaultdict(D)
    for r in ledger:
        by_entry[r["entry_id"]] += D(r["amount"])
    assert set(by_entry.values()) == {D(0)}  # every entry balances in the export too
    assert len(read("policies.csv")) == 6 and "member_number" in read("policies.csv")[0]
    assert len(read("claims.csv")) == 3
    closing = {r["line"]: r for r in read("reserves.csv") if r["row"] == "closing"}
    assert closing["case_reserve"]["amount"] == "650.00"
    assert closing["case_reserve"]["ties"] == "True"
    documented = {(r["file"], r["column"]) for r in read("data_dictionary.csv")}
    for name in ("ledger.csv", "policies.csv", "claims.csv", "reserves.csv"):
        header = zf.open(name).readline().decode().strip().split(",")
        assert all((name, c) in documented for c in header)
