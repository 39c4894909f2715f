"""What other domains read (paid, case reserve, triangles, claimants) and the CLI."""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from datetime import timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from mutua.auth.security import SYSTEM
from mutua.claims import service
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.cli import app
from mutua.dates import Quarter
from mutua.settings import get_settings
from tests import factories as f

from .conftest import TODAY, assert_books_balance

T0 = TODAY - timedelta(days=300)
D = Decimal


def day(n: int):
    return T0 + timedelta(days=n)


def file(db, policy_id, event_day, items, *, on_day, event_type="accident"):
    data = ClaimIn(policy_id=policy_id, event_type=event_type, event_date=day(event_day),
                   items=items)
    return service.report(db, data=data, actor=SYSTEM, on=day(on_day))


@pytest.fixture
def history(db):
    """Three claims on a policy enrolled 300 days ago, moved along on past dates."""
    product = f.accident_project(db, today=T0)
    m = f.member(db, name="王五")
    p = f.policy(db, member=m, on=T0)
    f.overdraft(db, project_id=product.project_id)  # one member's premium pays no disability
    a = file(db, p.id, 10, [{"benefit_code": "medical", "invoice_amount": "1000",
                             "social_insurance_paid": "400", "has_social_insurance": True}],
             on_day=12)  # auto-decided: 450
    b = file(db, p.id, 20, [{"benefit_code": "disability", "disability_grade": 10}], on_day=25)
    c = file(db, p.id, 30, [{"benefit_code": "death"}], on_day=31)  # stays open
    service.pay(db, project_code="TEST-ACC", actor=SYSTEM, on=day(100))
    service.decide(db, claim_id=b.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER), on=day(200))
    service.pay(db, project_code="TEST-ACC", actor=SYSTEM, on=day(210))
    db.commit()
    return types.SimpleNamespace(project_id=product.project_id, member=m, a=a, b=b, c=c)


def reference(moves, as_of):
    """Cumulative cells computed the plain way, to check the module against."""
    last = Quarter.of(as_of)
    index = lambda q: q.year * 4 + q.q  # noqa: E731
    origins = sorted({Quarter.of(e) for e, _, _ in moves})
    out = {}
    for o in origins:
        for k in range(index(last) - index(o) + 1):
            out[(str(o), k)] = sum((amt for e, m, amt in moves if Quarter.of(e) == o
                                    and index(Quarter.of(m)) - index(o) <= k), D(0))
    return out


def test_paid_reserve_and_claimants_figures(db, history):
    pid = history.project_id
    assert service.paid_in(db, project_id=pid, start=day(100), end=day(100)) == D("450")
    assert service.paid_in(db, project_id=pid, start=day(0), end=TODAY) == D("10450")
    assert service.case_reserve_at(db, project_id=pid, as_of=day(24)) == 0
    assert service.case_reserve_at(db, project_id=pid, as_of=day(25)) == D("10000")
    assert service.case_reserve_at(db, project_id=pid, as_of=day(31)) == D("110000")
    assert service.case_reserve_at(db, project_id=pid, as_of=TODAY) == D("100000")
    # aid follows the quarter of approval: medical approved on day 12 (600 out of pocket,
    # 450 covered), disability approved on day 200 and covered in full
    assert service.claimants_approved_in(db, project_id=pid, start=day(1),
                                         end=day(99)) == [(history.member.id, D("150.00"))]
    assert service.claimants_approved_in(db, project_id=pid, start=day(101), end=day(220)) == [
        (history.member.id, D("0.00"))]
    assert_books_balance(db)


def test_triangles_are_cumulative_and_match_a_plain_count(db, history):
    pid = history.project_id
    paid = service.triangle(db, project_id=pid, basis="paid", as_of=TODAY)
    want = reference([(day(10), day(100), D("450")), (day(20), day(210), D("10000"))], TODAY)
    origins = {o for o, _ in want}
    assert {(o, k): v for o, k, v in paid if o in origins} == want
    assert paid[0][1] == 0  # development 0 is the accident quarter itself
    by_origin: dict[str, list] = {}
    for o, k, v in paid:
        by_origin.setdefault(o, []).append((k, v))
    for cells in by_origin.values():
        values = [v for _, v in sorted(cells)]
        assert values == sorted(values)  # paid never falls along development

    incurred = service.triangle(db, project_id=pid, basis="incurred", as_of=TODAY)
    want = reference([
        (day(10), day(12), D("450")),  # approved on report (reserve set and released)
        (day(20), day(25), D("10000")),  # reserve set ...
        (day(20), day(200), D("-10000")), (day(20), day(200), D("10000")),  # ... to approved
        (day(30), day(31), D("100000")),  # open death claim's reserve
    ], TODAY)
    assert {(o, k): v for o, k, v in incurred if o in origins} == want
    latest = {}
    for o, _k, v in incurred:
        latest[o] = v
    assert sum(latest.values()) == D("110450")
    with pytest.raises(Exception) as err:
        service.triangle(db, project_id=pid, basis="ultimate", as_of=TODAY)
    assert "basis" in str(err.value)


@pytest.fixture
def cli(engine, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["claims", *args])
    get_settings.cache_clear()


def test_cli_pay_triangle_list_show_published(cli, db, history):
    f_claim = file(db, history.c.policy_id, 40, [{"benefit_code": "hospital",
                                                   "hospital_days": 3}], on_day=41)
    db.commit()
    assert f_claim.status == "decided"
    r = cli("pay", "--project", "TEST-ACC", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["claims"] == 1 and json.loads(r.stdout)["total"] == "150.00"
    again = json.loads(cli("pay", "--project", "TEST-ACC", "--json").stdout)
    assert (again["claims"], again["batch_key"]) == (0, None)

    r = cli("triangle", "--project", "TEST-ACC", "--basis", "paid", "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["origin", "development", "value"]
    assert all(len(row) == 3 and int(row[1]) >= 0 for row in rows[1:])

    listed = json.loads(cli("list", "--status", "open", "--json").stdout)
    assert [c["id"] for c in listed["items"]] == [history.c.id]
    shown = json.loads(cli("show", str(history.b.id), "--json").stdout)
    assert shown["items"][0]["reasons"] == ["DISABILITY_GRADE_SHARE"]
    pub = json.loads(cli("published", "--project", "TEST-ACC", "--json").stdout)
    assert pub["total"] == 3 and {i["name"] for i in pub["items"]} == {"王*"}

    item_id = shown["items"][0]["id"]
    refused = cli("decide", str(history.c.id), "--approve", f"{item_id}=5")
    assert refused.exit_code != 0  # not an item of that claim, and no reason given
    death_item = json.loads(cli("show", str(history.c.id), "--json").stdout)["items"][0]["id"]
    refused = cli("decide", str(history.c.id), "--approve", f"{death_item}=50000")
    assert refused.exit_code != 0 and "reason" in str(refused.exception)
    refused = cli("decide", str(history.c.id), "--approve", f"{death_item}=50000", "--reason",
                  "settled with the family at half")
    assert refused.exit_code != 0 and "documents_reason" in str(refused.exception)
    ok = cli("decide", str(history.c.id), "--approve", f"{death_item}=50000", "--reason",
             "settled with the family at half", "--documents-reason",
             "death certificate seen at the service desk", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["outcome"] == "partly_approve"
    assert cli("decide", str(history.c.id)).exit_code != 0  # decided once only


# --- CKD progression goes through the health service ------------------------------------------

@pytest.fixture
def ckd_policy(db):
    defn = f.accident_definition(code="TEST-CKD", sale_start=TODAY - timedelta(days=60),
                                 sale_end=TODAY + timedelta(days=30))
    defn["products"][0]["benefits"].append(
        {"code": "ckd_prog", "kind": "ckd_progression", "name_zh": "肾病进展",
         "name_en": "CKD progression", "base_sum_insured": "20000", "pure_risk_rate": "0.001"})
    from mutua.catalog import service as catalog_service

    catalog_service.load_definition(db, defn=catalog_service.check_definition(defn), actor=SYSTEM)
    m = f.member(db)
    p = f.policy(db, member=m, product_code="TEST-CKD-1", on=TODAY - timedelta(days=50))
    db.commit()
    return p


def progression_claim(db, policy):
    data = ClaimIn(policy_id=policy.id, event_type="illness",
                   event_date=TODAY - timedelta(days=3), items=[{"benefit_code": "ckd_prog"}])
    return service.to_out(db, service.report(db, data=data, actor=SYSTEM))


def test_ckd_progression_unconfirmed_is_denied(db, ckd_policy):
    out = progression_claim(db, ckd_policy)  # no kidney results stored: not confirmed
    assert out.items[0].engine_reasons == ["PROGRESSION_NOT_VERIFIED"]


def test_ckd_progression_without_the_health_check_is_denied(db, ckd_policy, monkeypatch):
    fake = types.ModuleType("mutua.health.underwriting")  # a health service with no check
    import mutua.health

    monkeypatch.setitem(sys.modules, "mutua.health.underwriting", fake)
    monkeypatch.setattr(mutua.health, "underwriting", fake, raising=False)
    out = progression_claim(db, ckd_policy)
    assert out.items[0].engine_reasons == ["PROGRESSION_NOT_VERIFIED"]


def test_ckd_progression_confirmed_pays(db, ckd_policy, monkeypatch):
    from mutua.health import underwriting as health_underwriting

    evidence = types.SimpleNamespace(confirmed=True, reason="G3a to G3b, eGFR fell 30%")
    monkeypatch.setattr(health_underwriting, "confirmed_progression",
                             lambda db, *, member_id, on: evidence)
    out = progression_claim(db, ckd_policy)
    assert out.items[0].engine_reasons == ["COVERED"]
    assert out.items[0].engine_amount == D("20000.00")
