"""Refused input reads in the page's language: every rule the services raise is translated.

Services raise each rule as a template with named values (mutua.errors); pybabel extracts the
templates from the raise sites (mutua.web.catalogs). Four properties hold: no rule is built
from pieces of English (an f-string or a +), so every rule has a template; every template a
service writes has a Chinese translation that is Chinese apart from the values it carries (and
a few technical terms kept in Latin letters) and is in the extracted catalog; each site gives
exactly the values its template names; and the fields of the forms this covers have labels.
"""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pydantic import BaseModel, Field, ValidationError, field_validator

from mutua.errors import BrokenRule, Conflict, Problem, ValidationFailed, Worded
from mutua.web import catalogs, i18n
from mutua.web import problems as P

SRC = Path(P.__file__).parents[1]  # src/mutua
TEMPLATES = Path(P.__file__).parent / "templates"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# Terms a Chinese sentence keeps in Latin letters: names of standards, formats and equations,
# and the codes a person types into a file or an API field exactly as written.
LATIN_TERMS = (
    "eGFR", "KFRE", "G3", "G5", "FHIR", "R4", "Bundle", "resourceType", "LOINC", "ISO 8601",
    "ISO 7064 MOD 11-2", "CSV", "JSON", "YAML", "PDF", "JPEG", "PNG", "JR/T 0083-2013",
    "UTF-8", "GB18030", ".xlsx", ".xls", "Excel", "ACR", "MB", "YYYY-MM-DD", "2026Q3",
    "2027Q1", "X", "F", "M", "BF", "chainladder", "bf", "accident", "ckd", "health", "min_age",
    "max_age", "age_min", "age_max", "occupation_class", "daily_amount", "max_days",
    "sale_start", "project", "products", "origin,development,value", "open", "2026Q4", ".json",
    ".csv", "MUTUA_PAYMENT_CALLBACK_SECRET",
)
_LATIN = re.compile("|".join(rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])"
                             for t in sorted(LATIN_TERMS, key=len, reverse=True)))

# Modules whose rules only an operator at the command line reads, in English like the CLI.
CLI_ONLY = {
    "ops/backup.py": "restoring a backup is a command-line job; its refusals stay English",
    "demo/builder.py": "the demo is built by `mutua demo` on the command line",
}
# Rule-producing calls: the name, and which positional argument is the rule (as pybabel's
# keywords in mutua.web.catalogs count them, from 0 here).
RULE_ARGUMENT = {"ValidationFailed": 1, "Problem": 1, "add": 1, "bad": 1, "refuse": 2,
                 "Conflict": 0, "NotFound": 0, "Forbidden": 0, "BrokenRule": 0, "Worded": 0,
                 "TooManyCodes": 0, "SmsNotSent": 0}


@pytest.fixture
def zh():
    i18n.set_locale("zh_CN")
    yield
    i18n.set_locale(i18n.DEFAULT_LOCALE)


@pytest.fixture
def en():
    i18n.set_locale("en")
    yield
    i18n.set_locale(i18n.DEFAULT_LOCALE)


def zh_text(msgid: str) -> str:
    return i18n.translations("zh_CN").gettext(msgid)


def latin_left(text: str) -> str:
    """The Latin letters of a Chinese sentence once values and kept terms are taken out."""
    return "".join(re.findall(r"[A-Za-z]+", _LATIN.sub("", PLACEHOLDER.sub("", text))))


def reads_in_chinese(msgid: str) -> str | None:
    """Why the msgid's Chinese falls short, or None."""
    text = zh_text(msgid)
    if text == msgid:
        return "no Chinese"
    if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(msgid)):
        return f"values differ: {text!r}"
    if latin_left(text):
        return f"English left: {text!r}"
    return None


# --- the tables the pages keep -----------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(P.PYDANTIC_RULES))
def test_each_pydantic_rule_reads_in_chinese(kind):
    msgid, _key = P.PYDANTIC_RULES[kind]
    assert reads_in_chinese(msgid) is None, msgid


@pytest.mark.parametrize("key", sorted(P.FIELD_LABELS))
def test_each_field_label_has_chinese(key):
    msgid = P.FIELD_LABELS[key]
    assert zh_text(msgid) != msgid or msgid == "eGFR", f"no Chinese label for {key}"


# --- describe ---------------------------------------------------------------------------------

class _Form(BaseModel):
    days: int = Field(default=1, ge=1)
    title_zh: str
    event_date: str = "2026-01-01"

    @field_validator("event_date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        if not value[:4].isdigit():
            raise BrokenRule("must be a date")
        return value


def _pydantic_problem(data: dict, field: str) -> Problem:
    with pytest.raises(ValidationError) as refused:
        _Form.model_validate(data)
    error = next(e for e in refused.value.errors() if e["loc"] == (field,))
    return Problem.from_pydantic(field, error)


@pytest.mark.parametrize("problem,english,line", [
    (Problem("amount", "must not be negative"), "must not be negative", "金额：不得为负数"),
    (Problem("quorum", "must be at most %(limit)s", limit=100), "must be at most 100", "不得超过 100"),
    (Problem("payload.seats", "must be between %(low)s and %(high)s", low=1, high=6),
     "must be between 1 and 6", "应选名额：须在 1 至 6 之间"),
    (Problem("on", "must not be before the report on %(day)s", day=date(2026, 1, 1)),
     "must not be before the report on 2026-01-01", "日期：不得早于报案日 2026年1月1日"),
    (Problem("product", "unknown product %(code)s", code=repr("X")), "unknown product 'X'",
     "产品：未知的产品 'X'"),
    (Problem("quarter", "must look like 2026Q3, got %(got)s", got="'2026Q9'"),
     "must look like 2026Q3, got '2026Q9'", "季度：格式须如 2026Q3，现为 '2026Q9'"),
    (Problem("payload.shares", "uplift, aid and services must add up to 100%%, got %(total)s%%",
             total=110), "uplift, aid and services must add up to 100%, got 110%",
     "合计须为 100%，现为 110%"),
    (Problem("ends_on", Worded("must not be before starts_on")), "must not be before starts_on",
     "不得早于"),
])
def test_a_problem_keeps_its_english_and_reads_as_a_chinese_line(zh, problem, english, line):
    assert problem.rule == english  # what the API and the CLI answer
    assert line in P.describe(problem)


@pytest.mark.parametrize("data,field,english,line", [
    ({"days": 0, "title_zh": "x"}, "days", "Input should be greater than or equal to 1",
     "开放天数：不得小于 1"),
    ({"title_zh": "x", "event_date": "soon"}, "event_date", "Value error, must be a date",
     "出险日期：须为日期"),
    ({}, "title_zh", "Field required", "必须填写"),
])
def test_pydantic_refusals_read_from_their_type_and_a_validators_template(zh, data, field,
                                                                          english, line):
    problem = _pydantic_problem(data, field)
    assert problem.rule == english
    assert line in P.describe(problem)


def test_the_same_problem_reads_in_english_on_an_english_page(en):
    assert P.describe(Problem("payload.seats", "must be between %(low)s and %(high)s", low=1,
                              high=6)) == "Seats to fill: must be between 1 and 6"
    assert P.describe(_pydantic_problem({"days": 0, "title_zh": "x"}, "days")) == \
        "Days open: must be at least 1"


def test_an_unknown_rule_and_field_are_shown_as_written(zh):
    assert P.rule_words("the moon is in the wrong phase") == "the moon is in the wrong phase"
    assert P.field_label("no_such_field") == "no_such_field"
    odd = Problem.from_pydantic("x", {"type": "uuid_parsing", "msg": "Input should be a UUID"})
    assert P.problem_words(odd) == "Input should be a UUID"


def test_a_stored_record_reads_like_the_problem_it_was(zh):
    problem = Problem("payload.seats", "must be between %(low)s and %(high)s", low=1, high=6)
    again = Problem.from_record(problem.to_record())
    assert (again.rule, P.describe(again)) == (problem.rule, P.describe(problem))
    assert problem.to_dict() == {"field": "payload.seats", "rule": "must be between 1 and 6"}


def test_a_nested_path_keeps_where_it_is_and_drops_the_wrappers(zh):
    assert P.field_label("items[0].invoice_amount") == zh_text("Medical bills in total (yuan)")
    assert P.field_label("payload.seats") == "应选名额"
    assert P.field_label("payload.cells[3].coefficient") == "cells[3] 系数"
    assert P.field_label("products[0].benefits[1].pure_risk_rate").startswith(
        "products[0].benefits[1] ")


def test_describe_all_lists_each_problem_or_the_message(zh):
    exc = ValidationFailed([Problem("quorum", "must be a share between 0 and 1, e.g. 0.2"),
                            Problem("title_en", "must be 1 to %(limit)s characters", limit=300)])
    assert [line.split("：")[1] for line in P.describe_all(exc)] == [
        "须为 0 至 1 之间的比例，如 0.2", "须为 1 至 300 个字"]
    assert P.describe_all(Conflict("the voting window has already ended")) == ["投票期已经结束"]
    assert P.describe_all(Conflict("something no one foresaw")) == ["something no one foresaw"]
    refused = Conflict("proposal %(number)s is %(status)s, not open", number=7, status="closed")
    assert refused.message == "proposal 7 is closed, not open"
    assert P.describe_all(refused) == [zh_text("proposal %(number)s is %(status)s, not open")
                                       % {"number": 7, "status": zh_text("Closed")}]


# --- every rule the services raise --------------------------------------------------------

def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)


def _rule_nodes(tree: ast.AST):
    """(call or None, rule node, how it is passed) for each rule a module raises, appends or
    yields; how is "argument" for a call pybabel reads, else "text" (a rule passed around as
    text, which must be a Worded to be extracted)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            at = RULE_ARGUMENT.get(_name(node))
            if at is not None and len(node.args) > at:
                first = node.args[0]
                if _name(node) != "add" or isinstance(first, (ast.Constant, ast.JoinedStr,
                                                               ast.Name)):
                    yield node, node.args[at], "argument"
            if (_name(node) == "append" and node.args and isinstance(node.args[0], ast.Tuple)
                    and len(node.args[0].elts) == 2 and _is_field(node.args[0].elts[0])):
                yield None, node.args[0].elts[1], "text"  # problems.append(("field", "rule"))
        elif (isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple)
              and len(node.value.elts) == 2 and _is_field(node.value.elts[0])):
            yield None, node.value.elts[1], "text"  # yield "field", "rule"
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
            for ret in ast.walk(node):  # id_problem(...) returns the rule it breaks
                if isinstance(ret, ast.Return) and ret.value is not None:
                    yield None, ret.value, "text"


def _is_field(node: ast.AST) -> bool:
    return isinstance(node, (ast.Constant, ast.JoinedStr, ast.Name)) and \
        not (isinstance(node, ast.Constant) and not isinstance(node.value, str))


def _alternatives(node: ast.AST):
    if isinstance(node, ast.IfExp):
        yield from _alternatives(node.body)
        yield from _alternatives(node.orelse)
    else:
        yield node


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        if path.name == "cli.py" or module in CLI_ONLY or module.startswith("migrations/"):
            continue
        yield module, ast.parse(path.read_text(encoding="utf-8"))


def rule_sites() -> list[tuple[str, int, ast.Call | None, ast.AST, str]]:
    """(module, line, call, rule node, how) for every rule the services raise."""
    return [(module, alt.lineno, call, alt, how) for module, tree in _modules()
            for call, node, how in _rule_nodes(tree) for alt in _alternatives(node)]


def service_rules() -> list[tuple[str, int, str]]:
    """(module, line, template) for every rule template written at a raise site."""
    return [(m, line, node.value) for m, line, _call, node, _how in rule_sites()
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_the_walk_finds_the_rules_of_every_domain():
    modules = {m.split("/")[0] for m, _line, _rule in service_rules()}
    assert {"members", "catalog", "policies", "claims", "settlement", "governance", "health",
            "money.py", "dates.py", "auth", "actuarial", "web"} <= modules


def test_no_rule_is_built_from_pieces_of_english():
    """An f-string or a + makes a rule no catalog can hold: write the template and give
    the values as keywords (``ValidationFailed("x", "must be at most %(limit)s", limit=5)``);
    a rule passed around as text is a ``Worded`` (pybabel extracts it, a page translates it)."""
    built = sorted(f"{m}:{line}: {ast.unparse(node)[:80]}" for m, line, _c, node, how
                   in rule_sites()
                   if isinstance(node, (ast.JoinedStr, ast.BinOp))
                   or (how == "text" and isinstance(node, ast.Constant)
                       and isinstance(node.value, str)))
    assert built == [], "\n".join(built)


def test_each_site_gives_the_values_its_template_names():
    wrong = []
    for m, line, call, node, _how in rule_sites():
        if call is None or not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if any(k.arg is None for k in call.keywords):  # **values: checked where they are made
            continue
        given = {k.arg for k in call.keywords} - {"field", "field_name"}
        if given and set(PLACEHOLDER.findall(node.value)) != given:
            wrong.append(f"{m}:{line}: {node.value!r} given {sorted(given)}")
    assert wrong == [], "\n".join(wrong)


def test_every_rule_a_service_writes_reads_in_chinese():
    untranslated = sorted({f"{m}:{line}: {rule} ({why})" for m, line, rule in service_rules()
                           if (why := reads_in_chinese(rule))})
    assert untranslated == [], "\n".join(untranslated)


def test_every_rule_a_service_writes_is_extracted_into_the_catalog():
    with catalogs.POT.open("rb") as fh:
        extracted = {m.id for m in read_po(fh) if m.id}
    missing = sorted({f"{m}:{line}: {rule}" for m, line, rule in service_rules()
                      if rule not in extracted})
    assert missing == [], "\n".join(missing)


# --- the forms this covers name every field -----------------------------------------------

FORMS = ("staff/governance.html", "staff/pricing_proposal.html", "staff/close.html",
         "member/claim_new.html", "member/claim.html", "member/health.html")
NOT_INPUT = {"csrf_token", "has_social_insurance", "document", "document_kind"}


@pytest.mark.parametrize("template", FORMS)
def test_every_field_of_the_form_has_a_label(template):
    names = set(re.findall(r'name="(\w+)"', (TEMPLATES / template).read_text(encoding="utf-8")))
    assert names - NOT_INPUT - set(P.FIELD_LABELS) == set()
