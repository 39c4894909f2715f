"""The demo's treaty and its large loss, recovered and received."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mutua.auth.security import SYSTEM
from mutua.dates import Quarter
from mutua.reinsurance import demo
from mutua.settlement import service as settlement_service
from tests.integration.settlement.conftest import CODE, build_pool


def test_the_demo_treaty_recovers_a_large_loss(db):
    build_pool(db, members=8, premium="20000.00")
    treaty = demo.file_treaty(db, code=CODE, first=Quarter.parse("2025Q1"), actor=SYSTEM)
    assert treaty == {"project": CODE, "treaty": "XL-DEMO", "retention": "10000.00",
                      "limit": "200000.00"}
    loss = demo.large_loss(db, code=CODE, q=Quarter.parse("2025Q1"), today=date(2025, 10, 20),
                           actor=SYSTEM)
    assert loss["loss"] == "100000.00" and loss["recovered"] == "90000.00"
    assert loss["received_on"] == "2025-03-08"
    s = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1",
                                         actor=SYSTEM, today=date(2025, 10, 20))
    assert s["reinsurance_recovered"] == "90000.00"
    assert Decimal(s["result"]) > Decimal(s["result_gross"])


def test_a_pool_too_small_for_the_retention_has_no_staged_loss(db):
    build_pool(db, members=3)
    demo.file_treaty(db, code=CODE, first=Quarter.parse("2025Q1"), actor=SYSTEM)
    assert demo.large_loss(db, code=CODE, q=Quarter.parse("2025Q1"),
                           today=date(2025, 10, 20), actor=SYSTEM) is None
