"""Refused input reads in the page's language: every rule the services write is translated.

Three properties hold: each rule shape's Chinese sentence is Chinese apart from the values it
carries (and a few technical terms kept in Latin letters); every rule a service writes as a
string literal has a translation (walked from the source, so a new rule without one fails
here); and the fields of the forms this covers have labels.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.web import i18n
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
    "sale_start", "project", "products", "origin,development,value", "open",
)
_LATIN = re.compile("|".join(rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])"
                             for t in sorted(LATIN_TERMS, key=len, reverse=True)))

# Modules whose rules only an operator at the command line reads, in English like the CLI.
CLI_ONLY = {
    "ops/backup.py": "restoring a backup is a command-line job; its refusals stay English",
    "demo/builder.py": "the demo is built by `mutua demo` on the command line",
}
# Rule-producing calls: the name, and which positional argument is the rule.
RULE_ARGUMENT = {"ValidationFailed": 1, "Problem": 1, "add": 1, "bad": 1, "refuse": 2}


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


# --- the tables themselves ----------------------------------------------------------------

@pytest.mark.parametrize("msgid", sorted(P.FIXED_RULES))
def test_each_fixed_rule_reads_in_chinese(msgid):
    text = zh_text(msgid)
    assert text != msgid, f"no Chinese for {msgid!r}"
    assert latin_left(text) == "", f"{msgid!r} -> {text!r}"


@pytest.mark.parametrize("pattern,msgid", P.RULE_SHAPES, ids=[m for _p, m in P.RULE_SHAPES])
def test_each_rule_shape_reads_in_chinese_apart_from_its_values(pattern, msgid):
    assert set(pattern.groupindex) == set(PLACEHOLDER.findall(msgid)), msgid
    text = zh_text(msgid)
    assert text != msgid, f"no Chinese for {msgid!r}"
    assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), text
    assert latin_left(text) == "", f"{msgid!r} -> {text!r}"


@pytest.mark.parametrize("key", sorted(P.FIELD_LABELS))
def test_each_field_label_has_chinese(key):
    msgid = P.FIELD_LABELS[key]
    assert zh_text(msgid) != msgid or msgid == "eGFR", f"no Chinese label for {key}"


# --- describe ---------------------------------------------------------------------------------

@pytest.mark.parametrize("problem,line", [
    (Problem("amount", "must not be negative"), "金额：不得为负数"),
    (Problem("quorum", "must be at most 100"), "不得超过 100"),
    (Problem("payload.seats", "must be between 1 and 6"), "应选名额：须在 1 至 6 之间"),
    (Problem("event_date", "must be on or after 2026-01-01"), "不得早于 2026年1月1日"),
    (Problem("product", "unknown product 'X'"), "产品：未知的产品 'X'"),
    (Problem("quarter", "must look like 2026Q3, got '2026Q9'"), "季度：格式须如 2026Q3，现为 '2026Q9'"),
    (Problem("payload.shares", "uplift, aid and services must add up to 100%, got 110%"),
     "合计须为 100%，现为 110%"),
    (Problem("days", "Input should be greater than or equal to 1"), "开放天数：不得小于 1"),
    (Problem("event_date", "Value error, must be a date"), "出险日期：须为日期"),
    (Problem("title_zh", "Field required"), "必须填写"),
])
def test_a_problem_reads_as_a_chinese_line(zh, problem, line):
    assert line in P.describe(problem)


def test_the_same_problem_reads_in_english_on_an_english_page(en):
    assert P.describe(Problem("payload.seats", "must be between 1 and 6")) == \
        "Seats to fill: must be between 1 and 6"
    assert P.describe(Problem("days", "Input should be greater than or equal to 1")) == \
        "Days open: must be at least 1"


def test_an_unknown_rule_and_field_are_shown_as_written(zh):
    assert P.rule_words("the moon is in the wrong phase") == "the moon is in the wrong phase"
    assert P.field_label("no_such_field") == "no_such_field"


def test_a_nested_path_keeps_where_it_is_and_drops_the_wrappers(zh):
    assert P.field_label("items[0].invoice_amount") == zh_text("Medical bills in total (yuan)")
    assert P.field_label("payload.seats") == "应选名额"
    assert P.field_label("payload.cells[3].coefficient") == "cells[3] 系数"
    assert P.field_label("products[0].benefits[1].pure_risk_rate").startswith(
        "products[0].benefits[1] ")


def test_describe_all_lists_each_problem_or_the_message(zh):
    exc = ValidationFailed([Problem("quorum", "must be a share between 0 and 1, e.g. 0.2"),
                            Problem("title_en", "must be 1 to 300 characters")])
    assert [line.split("：")[1] for line in P.describe_all(exc)] == [
        "须为 0 至 1 之间的比例，如 0.2", "须为 1 至 300 个字"]
    assert P.describe_all(Conflict("the voting window has already ended")) == ["投票期已经结束"]
    assert P.describe_all(Conflict("something no one foresaw")) == ["something no one foresaw"]


# --- every rule the services write ------------------------------------------------------

def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)


def _rule_nodes(tree: ast.AST):
    """The rule argument of each problem the module raises, appends or yields."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            at = RULE_ARGUMENT.get(_name(node))
            if at is not None and len(node.args) > at:
                first = node.args[0]
                if _name(node) != "add" or isinstance(first, (ast.Constant, ast.JoinedStr,
                                                               ast.Name)):
                    yield node.args[at]
            if (_name(node) == "append" and node.args and isinstance(node.args[0], ast.Tuple)
                    and len(node.args[0].elts) == 2):
                yield node.args[0].elts[1]  # problems.append(("field", "rule"))
        elif (isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple)
              and len(node.value.elts) == 2):
            yield node.value.elts[1]  # yield "field", "rule"
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
            for ret in ast.walk(node):  # id_problem(...) returns the rule it breaks
                if isinstance(ret, ast.Return) and ret.value is not None:
                    yield ret.value


def _alternatives(node: ast.AST):
    if isinstance(node, ast.IfExp):
        yield from _alternatives(node.body)
        yield from _alternatives(node.orelse)
    else:
        yield node


def _sample(node: ast.JoinedStr) -> str:
    """An f-string rule with a value in each gap: {code!r} -> 'X7', anything else -> 7."""
    parts = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value))
        else:
            parts.append("'X7'" if v.conversion == ord("r") else "7")
    return "".join(parts)


def service_rules() -> list[tuple[str, int, str]]:
    """(module, line, rule) for every rule written as a literal or an f-string."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        if path.name == "cli.py" or module in CLI_ONLY or module == "web/problems.py":
            continue
        for node in _rule_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            for alt in _alternatives(node):
                if isinstance(alt, ast.Constant) and isinstance(alt.value, str):
                    found.append((module, alt.lineno, alt.value))
                elif isinstance(alt, ast.JoinedStr):
                    found.append((module, alt.lineno, _sample(alt)))
    return found


def test_the_walk_finds_the_rules_of_every_domain():
    modules = {m.split("/")[0] for m, _line, _rule in service_rules()}
    assert {"members", "catalog", "policies", "claims", "settlement", "governance", "health",
            "money.py", "dates.py", "auth", "actuarial", "web"} <= modules


def test_every_rule_a_service_writes_reads_in_chinese(zh):
    untranslated = sorted({f"{m}:{line}: {rule}" for m, line, rule in service_rules()
                           if P.rule_words(rule) == rule})
    assert untranslated == [], "\n".join(untranslated)


# --- the forms this covers name every field -----------------------------------------------

FORMS = ("staff/governance.html", "staff/pricing_proposal.html", "staff/close.html",
         "member/claim_new.html", "member/claim.html", "member/health.html")
NOT_INPUT = {"csrf_token", "has_social_insurance", "document", "document_kind"}


@pytest.mark.parametrize("template", FORMS)
def test_every_field_of_the_form_has_a_label(template):
    names = set(re.findall(r'name="(\w+)"', (TEMPLATES / template).read_text(encoding="utf-8")))
    assert names - NOT_INPUT - set(P.FIELD_LABELS) == set()
