"""The reinsurance and solvency page (/staff/reinsurance), in Chinese by default."""

from __future__ import annotations

from datetime import date

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.reinsurance import service
from mutua.settlement import service as settlement_service
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import sign_in


def test_finance_sees_treaties_recoveries_and_solvency(client, db, staff_user):
    build_pool(db)
    service.file_treaty(db, actor=SYSTEM, project_code=CODE, code="XL-2025", kind="per_risk",
                        reinsurer="中国再保险", retention="30000", limit="50000", rate="0.03",
                        reinstatements=1, reinstatement_rate="0.05",
                        starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    sign_in(client, staff_user(Role.FINANCE))
    page = client.get("/staff/reinsurance", params={"quarter": "2025Q1"})
    assert page.status_code == 200, page.text
    for text in ("再保险与偿付能力", "XL-2025", "中国再保险", "险位超赔", "综合偿付能力充足率",
                 "演示用风险因子", "尚无摊回"):
        assert text in page.text, text


def test_the_page_is_closed_to_claims_handlers(client, staff_user):
    sign_in(client, staff_user(Role.CLAIMS))
    assert client.get("/staff/reinsurance").status_code in (403, 404)
