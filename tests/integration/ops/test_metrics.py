"""GET /metrics: Prometheus text with requests by route template and business gauges."""

from prometheus_client.parser import text_string_to_metric_families

from mutua.auth.roles import Role
from tests import factories as f


def samples(client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_requests_are_counted_by_route_template_not_by_path(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m)
    h = f.member_headers(client, db, m)
    for _ in range(3):
        assert client.get(f"/api/v1/policies/{p.id}", headers=h).status_code == 200
    client.get("/api/v1/policies/999999", headers=h)
    client.get("/no/such/page")
    got = samples(client)
    route = "/api/v1/policies/{policy_id}"
    key = ("mutua_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))
    assert got[key] == 3
    assert got[("mutua_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))] == 4
    assert not any("999999" in dict(labels).get("route", "") for _, labels in got)
    assert ("mutua_http_requests_total",
            (("method", "GET"), ("route", "unmatched"), ("status", "404"))) in got


def test_business_gauges(client, db):
    f.accident_project(db)
    for _ in range(3):
        f.policy(db, member=f.member(db))
    f.staff(db, Role.FINANCE)
    db.commit()
    got = samples(client)
    assert got[("mutua_members", (("status", "active"),))] == 3
    assert got[("mutua_policies", (("status", "in_force"),))] == 3


def test_metrics_hold_no_personal_data(client, db):
    m = f.member(db, login=True)
    f.member_headers(client, db, m)
    text = client.get("/metrics").text
    assert m.id_number not in text and m.phone[-8:] not in text
