"""The reserving page (/staff/actuarial): triangles, chain ladder with Mack, BF, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from mutua.actuarial import reserving, triangle
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import first_notice as claims_first_notice
from mutua.claims import payments
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn
from mutua.settlement import service as settlement_service
from mutua.web.pages.staff_actuarial import estimate
from tests import factories as f
from tests.integration.settlement.conftest import medical_claim
from tests.integration.web.conftest import sign_in

CODE = "RES-ACC"
AS_OF = date(2025, 9, 30)
PAGE = f"/staff/actuarial?project={CODE}&quarter=2025Q3"


def late_claim(db, policy_id: int, *, happened: date, reported: date, invoice: str):
    """A medical claim reported some time after the accident (decided when reported)."""
    data = ClaimIn(policy_id=policy_id, event_type="accident", event_date=happened,
                   place="深圳", description="fell", items=[{
                       "benefit_code": "medical", "invoice_amount": invoice}])
    return claims_first_notice.report(db, data=data, actor=SYSTEM, on=reported)


@pytest.fixture
def history(db):
    """Three accident quarters (2025Q1-Q3) whose claims are reported and paid late."""
    product = f.accident_project(db, code=CODE, today=date(2025, 1, 1), premium="365.00",
                                 sale_start=date(2025, 1, 1), sale_end=date(2025, 3, 31))
    people = [f.member(db) for _ in range(6)]
    policies = [f.policy(db, member=m, product_code=product.code, on=date(2025, 1, 5))
                for m in people]
    for i, (happened, reported, invoice) in enumerate([
            (date(2025, 2, 10), date(2025, 2, 11), "300"),
            (date(2025, 3, 20), date(2025, 4, 15), "900"),
            (date(2025, 3, 28), date(2025, 7, 10), "500"),
            (date(2025, 5, 10), date(2025, 5, 12), "400"),
            (date(2025, 6, 20), date(2025, 7, 5), "800"),
            (date(2025, 8, 1), date(2025, 8, 2), "700")]):
        late_claim(db, policies[i].id, happened=happened, reported=reported, invoice=invoice)
        payments.pay(db, project_code=CODE, actor=SYSTEM, on=reported + timedelta(days=10))
    db.commit()
    return product


@pytest.fixture
def actuary(client, staff_user):
    sign_in(client, staff_user(Role.ACTUARY))
    return client


def _incurred(db, project_id):
    cells = claims_service.triangle(db, project_id=project_id, basis="incurred", as_of=AS_OF)
    return triangle.from_cells(((o, k, float(v)) for o, k, v in cells), check_cumulative=False)


def test_the_actuary_reads_triangles_chain_ladder_and_bf(db, history, actuary):
    page = actuary.get(PAGE + "&loss_ratio=0.70")
    assert page.status_code == 200, page.text[:2000]
    text = page.text
    for word in ("准备金评估", "已付赔款进展三角形", "已发生赔款进展三角形", "链梯法",
                 "Bornhuetter-Ferguson", "2025Q1", "2025Q3"):
        assert word in text, word
    assert 'data-chart="chart-paid-data"' in text and "/assets/plotly.min.js" in text
    # the numbers are those of the tested cores, shown to the fen
    tri = _incurred(db, history.project_id)
    cl = reserving.chain_ladder(tri)
    premiums = settlement_service.bf_premiums(db, project_id=history.project_id,
                                              origins=tri.origins)
    bf = reserving.bornhuetter_ferguson(tri, premiums, 0.70)
    assert f"{estimate(cl.total_ibnr):,}" in _cell(text, "cl-total-ibnr")
    assert f"{estimate(bf.total_ibnr):,}" in _cell(text, "bf-total-ibnr")
    assert f"{estimate(cl.total_std_err):,}".split(".")[0] in text


def _cell(html: str, cell_id: str) -> str:
    start = html.index(f'id="{cell_id}"')
    return html[start:html.index("</td>", start)]


def test_the_default_loss_ratio_is_the_projects(db, history, actuary):
    page = actuary.get(f"/staff/actuarial?project={CODE}")
    assert page.status_code == 200
    assert 'value="0.60"' in page.text  # the project's a-priori loss ratio


def test_the_page_in_english(db, history, client, staff_user):
    from tests.integration.web.conftest import post_form

    sign_in(client, staff_user(Role.ACTUARY))
    post_form(client, "/language", {"locale": "en", "next": "/staff/actuarial"},
              from_page="/staff/actuarial")
    page = client.get(PAGE)
    assert page.status_code == 200
    for word in ("Reserving", "Paid claims triangle", "Chain ladder", "Standard error (Mack)",
                 "Development factors"):
        assert word in page.text, word


@pytest.mark.parametrize("ratio", ["0", "-0.5", "5.01", "abc", "0.655", "", "NaN", "Infinity"])
def test_a_bad_loss_ratio_is_refused_and_named(db, history, actuary, ratio):
    page = actuary.get(PAGE + f"&loss_ratio={ratio}")
    if ratio == "":  # an empty field falls back to the project's own ratio
        assert page.status_code == 200
        return
    assert page.status_code == 422
    assert "先验赔付率" in page.text
    assert "链梯法" in page.text  # the triangles and chain ladder still show


@pytest.mark.parametrize("quarter", ["2025Q5", "Q3", "2999Q1"])
def test_a_bad_valuation_quarter_is_refused(db, history, actuary, quarter):
    page = actuary.get(f"/staff/actuarial?project={CODE}&quarter={quarter}")
    assert page.status_code == 422 and "季度" in page.text


def test_the_csv_downloads_hold_each_triangle(db, history, actuary):
    page = actuary.get(PAGE)
    assert f"/staff/actuarial/triangle.csv?project={CODE}&amp;basis=paid" in page.text
    for basis in ("paid", "incurred"):
        got = actuary.get(f"/staff/actuarial/triangle.csv?project={CODE}&basis={basis}"
                          "&quarter=2025Q3")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(got.text)))
        assert rows[0] == ["origin", "development", "value"]
        want = claims_service.triangle(db, project_id=history.project_id, basis=basis,
                                       as_of=AS_OF)
        assert [(o, int(k), Decimal(v)) for o, k, v in rows[1:]] == want
    assert actuary.get("/staff/actuarial/triangle.csv?project=NOPE&basis=paid"
                       "&quarter=2025Q3").status_code == 422


def test_a_project_with_little_history_says_so(db, actuary):
    f.accident_project(db, code="NEW-ACC", today=date(2025, 1, 1),
                       sale_start=date(2025, 1, 1), sale_end=date(2025, 3, 31))
    db.commit()
    page = actuary.get("/staff/actuarial?project=NEW-ACC&quarter=2025Q3")
    assert page.status_code == 200 and 'id="too-little"' in page.text
    assert "尚无" in page.text


def test_one_accident_quarter_is_too_little_for_the_chain_ladder(db, actuary):
    product = f.accident_project(db, code="ONE-ACC", today=date(2025, 1, 1),
                                 sale_start=date(2025, 1, 1), sale_end=date(2025, 3, 31))
    m = f.member(db)
    p = f.policy(db, member=m, product_code=product.code, on=date(2025, 1, 5))
    medical_claim(db, p.id, on=date(2025, 2, 10), invoice="300")
    db.commit()
    page = actuary.get("/staff/actuarial?project=ONE-ACC&quarter=2025Q1")
    assert page.status_code == 200 and 'id="too-little"' in page.text
    assert "已付赔款进展三角形" in page.text and "cl-total-ibnr" not in page.text


@pytest.mark.parametrize("role", [Role.CLAIMS, Role.FINANCE, Role.UNDERWRITER])
def test_other_roles_may_not_open_reserving(client, staff_user, role):
    sign_in(client, staff_user(role))
    assert client.get("/staff/actuarial").status_code == 403
    assert client.get("/staff/actuarial/triangle.csv?project=X&quarter=2025Q1").status_code == 403


def test_signed_out_goes_to_sign_in(client):
    got = client.get("/staff/actuarial", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/signin")


def test_a_member_may_not_open_reserving(db, client):
    f.accident_project(db)
    m = f.member(db, login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    assert client.get("/staff/actuarial").status_code == 403


def test_the_page_agrees_with_what_the_close_booked(db, history, actuary):
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):
        settlement_service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM,
                                         today=date(2025, 10, 15))
    db.commit()
    statement = settlement_service.project_statement(db, project_code=CODE, quarter="2025Q3")
    page = actuary.get(PAGE)  # the project's own prior loss ratio, 0.60
    assert page.status_code == 200
    # The chain ladder is the same triangle on both; the close's Bornhuetter-Ferguson reads
    # the products' filed reporting pattern, while this analysis page develops the pool's own
    # triangle, so only the chain ladder must agree.
    assert f"{Decimal(statement['ibnr_chainladder']):,}" in _cell(page.text, "cl-total-ibnr")


def test_no_project_yet(actuary):
    page = actuary.get("/staff/actuarial")
    assert page.status_code == 200 and "暂无项目" in page.text
