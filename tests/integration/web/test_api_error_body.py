"""Every refusal the JSON API answers carries, beside its English, the template and values a
client translates it from (``code`` and ``params`` in each problem, ``template`` and
``params`` for the message): the same templates the pages translate, so a member's app shows
a refusal in Chinese without parsing English.
"""

from __future__ import annotations

from mutua.auth.roles import Role
from mutua.errors import filled
from mutua.web.i18n import translations
from tests import factories as f
from tests.integration.platform.test_members_api import GOOD

ZH = translations("zh_CN")


def in_chinese(problem: dict) -> str:
    """What a client with the zh_CN catalog shows: the template translated, then filled."""
    return filled(ZH.gettext(problem["code"]), problem["params"])


def test_a_services_refusal_names_its_template_and_values(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.post("/api/v1/members", json=dict(GOOD, id_number="110105194912310021"),
                    headers=uw)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_failed"
    for problem in body["problems"]:
        assert filled(problem["code"], problem["params"]) == problem["rule"]
        assert ZH.gettext(problem["code"]) != problem["code"], problem  # the catalog has it
        assert in_chinese(problem) != problem["rule"]


def test_a_schema_refusal_names_pydantics_error_type(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.post("/api/v1/members", json={k: v for k, v in GOOD.items() if k != "name"},
                    headers=uw)
    assert r.status_code == 422, r.text
    assert {"field": "name", "rule": "Field required", "code": "missing",
            "params": {}} in r.json()["problems"]


def test_a_conflict_and_a_missing_record_carry_their_template(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.post("/api/v1/members", json=GOOD, headers=uw).status_code == 201
    again = client.post("/api/v1/members", json=GOOD, headers=uw)
    assert again.status_code == 409
    body = again.json()
    assert body["error"] == "conflict"
    assert filled(body["template"], body["params"]) == body["message"]

    finance = f.staff_headers(client, db, Role.FINANCE)
    missing = client.get("/api/v1/members/987654321", headers=finance)
    assert missing.status_code == 404
    body = missing.json()
    assert "987654321" in body["message"]
    assert filled(body["template"], body["params"]) == body["message"]


def test_the_guards_before_the_routes_answer_the_same_shape(client, db):
    headers = f.staff_headers(client, db, Role.SECRETARY)
    nul = client.get("/api/v1/members?q=a%00b", headers=headers)
    assert nul.status_code == 422
    assert nul.json()["problems"] == [{
        "field": "query", "rule": "must not contain NUL (U+0000) characters",
        "code": "must not contain NUL (U+0000) characters", "params": {}}]

    declared = client.post("/api/v1/governance/feedback", content=b"{}", headers={
        **headers, "Content-Type": "application/json", "Content-Length": "999999999"})
    assert declared.status_code == 413
    body = declared.json()
    assert body["error"] == "too_large"
    (problem,) = body["problems"]
    assert problem["code"] == "must be at most %(limit)s bytes"
    assert problem["rule"] == f"must be at most {problem['params']['limit']} bytes"
    assert in_chinese(problem) == f"不得超过 {problem['params']['limit']} 字节"


def test_an_id_past_64_bits_names_the_limit(client, db, app):
    finance = f.staff_headers(client, db, Role.FINANCE)
    bounded = client.get(f"/api/v1/members/{10**30}", headers=finance)  # the route's own bound
    assert bounded.status_code == 422, bounded.text
    (problem,) = bounded.json()["problems"]
    assert (problem["code"], problem["params"]) == ("less_than_equal", {"le": str(2**63 - 1)})

    @app.get("/api/v1/overflows/{n}")
    def overflows(n: int):  # a number no column holds, that no bound caught
        raise OverflowError("int too big to convert")

    r = client.get(f"/api/v1/overflows/{10**30}")
    assert r.status_code == 422, r.text
    (problem,) = r.json()["problems"]
    assert (problem["field"], problem["code"]) == ("n", "is out of range (at most %(limit)s)")
    assert problem["params"] == {"limit": str(2**63 - 1)}
    assert in_chinese(problem) == f"超出范围（至多 {2**63 - 1}）"


def test_fastapis_own_refusals_answer_the_same_shape(client, db):
    """A body FastAPI cannot parse, and a method a path does not take, are refused by the
    framework before any route runs: their answers have the shape the schema promises."""
    headers = f.staff_headers(client, db, Role.SECRETARY)
    broken = client.post("/api/v1/governance/feedback", content=b'{"text": ',
                         headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 422, broken.text  # pydantic's json_invalid
    assert broken.json()["problems"][0]["code"] == "json_invalid"

    unparsed = client.post("/api/v1/auth/token", content=b"username=a&password=\xff%",
                           headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert unparsed.status_code == 400, unparsed.text
    body = unparsed.json()
    assert body["error"] == "bad_request" and body["template"] == body["message"]

    wrong_method = client.put("/api/v1/members", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    assert wrong_method.headers["allow"]  # the methods it does take


def test_the_schema_documents_the_refusal_body_not_fastapis_default():
    from mutua.settings import Settings
    from mutua.web.app import create_app

    schema = create_app(Settings(database_url="sqlite://", secret_key="k" * 48)).openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    refusal = {"$ref": "#/components/schemas/RefusalOut"}
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    assert answer["content"]["application/json"]["schema"] == refusal, (
                        method, path, status)
