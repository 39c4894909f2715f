"""Refused form input, told in the reader's language.

Services raise each rule as a template with named values (mutua.errors): the API answers
the English, the template filled in; a page translates the template, which is a gettext
msgid extracted from the raise sites, and fills in the same values in the reader's words::

    describe(Problem("amount", "must not be negative"))                 # "金额：不得为负数"
    describe(Problem("quorum", "must be at most %(limit)s", limit=100))  # "…：不得超过 100"

The field becomes its label on the form (mutua.web.field_labels). Pydantic's own refusals
("Field required", "Input should be greater than or equal to 1") are translated from
pydantic's error type and context through ``PYDANTIC_RULES``, and a validator's own rule
(an ``errors.BrokenRule``) carries its template like any other. A rule no catalog knows is shown
as written, so nothing is ever hidden.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from mutua.errors import Problem
from mutua.web.field_labels import FIELD_LABELS
from mutua.web.i18n import format_date, format_datetime
from mutua.web.i18n import gettext as _
from mutua.web.render import N_

__all__ = ["FIELD_LABELS", "describe", "describe_all", "field_label", "message_words",
           "problem_words", "rule_words", "words"]

# Pydantic's error type -> the rule as a page says it, and which value of the error's
# context fills the rule's %(limit)s or %(choices)s.
PYDANTIC_RULES: dict[str, tuple[str, str | None]] = {
    "missing": (N_("Field required"), None),
    "int_parsing": (N_("Input should be a valid integer, unable to parse string as an integer"),
                    None),
    "int_type": (N_("Input should be a valid integer"), None),
    "int_from_float": (N_("Input should be a valid integer, got a number with a fractional "
                          "part"), None),
    "float_parsing": (N_("Input should be a valid number, unable to parse string as a number"),
                      None),
    "float_type": (N_("Input should be a valid number"), None),
    "decimal_parsing": (N_("Input should be a valid decimal"), None),
    "decimal_type": (N_("Input should be a valid decimal"), None),
    "finite_number": (N_("Input should be a finite number"), None),
    "bool_parsing": (N_("Input should be a valid boolean, unable to interpret input"), None),
    "bool_type": (N_("Input should be a valid boolean"), None),
    "string_type": (N_("Input should be a valid string"), None),
    "list_type": (N_("Input should be a valid list"), None),
    "dict_type": (N_("Input should be a valid dictionary"), None),
    "extra_forbidden": (N_("Extra inputs are not permitted"), None),
    "greater_than_equal": (N_("must be at least %(limit)s"), "ge"),
    "less_than_equal": (N_("must be at most %(limit)s"), "le"),
    "greater_than": (N_("must be greater than %(limit)s"), "gt"),
    "less_than": (N_("must be less than %(limit)s"), "lt"),
    "string_too_long": (N_("must be at most %(limit)s characters"), "max_length"),
    "string_too_short": (N_("must be at least %(limit)s characters"), "min_length"),
    "too_short": (N_("needs at least %(limit)s entries"), "min_length"),
    "decimal_max_places": (N_("must have at most %(limit)s decimal places"), "decimal_places"),
    "decimal_max_digits": (N_("must have at most %(limit)s digits"), "max_digits"),
    "literal_error": (N_("must be one of %(choices)s"), "expected"),
    "enum": (N_("must be one of %(choices)s"), "expected"),
    "string_pattern_mismatch": (N_("is not in the expected form"), None),
}
# An empty text where one is required reads as "must not be empty", not as a count.
_EMPTY = N_("String should have at least 1 character")
# Pydantic's many kinds of a bad date or time ("date_parsing", "datetime_from_date_parsing").
_DATE_RULES = (("datetime", N_("must be a date and time")), ("date", N_("must be a date")))
# Parts of a field path that only wrap the form's own fields: "payload.seats", "items[0].x".
_WRAPPERS = ("payload", "body", "query", "form")


def _bare(part: str) -> str:
    """A path part without its index: "benefits[1]" -> "benefits"."""
    return part.split("[", 1)[0] if part.endswith("]") else part


def _wrapper(part: str) -> bool:
    return part in _WRAPPERS or (_bare(part) == "items" and part != "items")


def field_label(field: str) -> str:
    """The label of a field on its form; a nested path keeps where it is.

    In English: ``"payload.seats"`` -> ``"Seats to fill"`` (the payload only wraps the form);
    ``"products[0].benefits[1].pure_risk_rate"`` -> ``"products[0].benefits[1] Pure risk
    rate"``; a field with no label is shown as given.
    """
    parts = field.split(".")
    key = _bare(parts[-1])
    if key not in FIELD_LABELS:
        return field
    label = _(FIELD_LABELS[key])
    where = [p for p in parts[:-1] if not _wrapper(p)]
    return f"{'.'.join(where)} {label}" if where else label


def words(template: str, params: dict | None = None, *, english: str | None = None) -> str:
    """A rule or message in the reader's language, from its template and values.

    In Chinese: ``words("must not be negative")`` -> ``"不得为负数"``;
    ``words("must be at most %(limit)s", {"limit": 100})`` -> ``"不得超过 100"``. A pydantic
    error type is read through ``PYDANTIC_RULES``; one no table knows is shown as
    ``english``, pydantic's own message.
    """
    params = dict(params or {})
    if template.isidentifier():  # pydantic's error type: templates are sentences
        template, params = _pydantic_rule(template, params, english)
    if not params:
        return _(template)
    return _(template, **{name: _value_words(name, value) for name, value in params.items()})


def _pydantic_rule(kind: str, context: dict, english: str | None) -> tuple[str, dict]:
    if kind in ("value_error", "assertion_error"):  # a plain ValueError: its text is its msgid
        return str(context.get("error", english or kind)), {}
    if kind == "string_too_short" and context.get("min_length") == 1:
        return _EMPTY, {}
    if kind in PYDANTIC_RULES:
        msgid, key = PYDANTIC_RULES[kind]
        if key is None:
            return msgid, {}
        value = context.get(key, "")
        return msgid, {"choices" if key == "expected" else "limit": value}
    for prefix, msgid in _DATE_RULES:
        if kind.startswith(prefix):
            return msgid, {}
    return (english or kind).replace("%", "%%"), {}


def problem_words(problem: Problem) -> str:
    """The rule a problem breaks, in the reader's language."""
    return words(problem.code, problem.params, english=problem.rule)


def message_words(refusal) -> str:
    """A refusal's message (a DomainError, or a job's stored record of one) in the reader's
    language."""
    if isinstance(refusal, dict):
        return words(refusal.get("template", refusal.get("message", "")),
                     refusal.get("params"))
    return words(getattr(refusal, "template", str(refusal)), getattr(refusal, "params", None))


def rule_words(rule) -> str:
    """A rule given as text (a fixed rule: its own msgid), or as anything carrying its
    ``template`` and ``params`` (a ``mutua.errors.Worded`` reason), in the reader's language."""
    template = getattr(rule, "template", None)
    if template is not None:
        return words(template, rule.params)
    return _(rule) if rule else rule


def reason_words(holder: dict) -> str:
    """A stored reason (a close gate's, the reserving basis's) in the reader's language, from
    the template and values kept beside it (errors.worded_record); a reason stored before
    they were kept is shown as a fixed rule."""
    return words(holder.get("reason_code") or holder.get("reason", ""),
                 holder.get("reason_params"))


# Stored codes a rule can carry, shown in the reader's words (mutua.web.labels tables).
_VALUE_TABLES = {"status": ("PROPOSAL_STATUS", "CLAIM_STATUS", "PROJECT_STATUS")}


def _value_words(name: str, value) -> str:
    """A value carried by a rule, as the page shows such values: a date or time in the
    reader's language (``2026-01-31T16:00:00+00:00`` -> "2026年2月1日 00:00:00" in Chinese),
    a status code in words; anything else as an f-string would show it."""
    from mutua.web import labels  # labels imports render, which imports this module

    if isinstance(value, datetime):
        return format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return format_date(value)
    value = format(value, "")
    if name == "documents":  # document kinds, as the claim's checklist names them
        return _(", ").join(_(labels.DOCUMENT_KINDS.get(k, k)) for k in value.split(", "))
    for table in _VALUE_TABLES.get(name, ()):
        msgid = getattr(labels, table, {}).get(value)
        if msgid:
            return _(msgid)
    if len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" in value or " " in value:
            return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        return format_date(moment.date())
    return value


def describe(problem: Problem, label: str | None = None) -> str:
    """One line for the page: the field's label (``label``: as its form shows it) and the
    broken rule, translated."""
    return _("%(field)s: %(rule)s", field=label or field_label(problem.field),
             rule=problem_words(problem))


class Described(list):
    """Lines for the page, one per problem, that remember the problems they describe: a
    page rendering them after a refused POST also gets each one beside its field
    (mutua.web.refill)."""

    def __init__(self, lines, problems=()):
        super().__init__(lines)
        self.problems = list(problems)

    def __add__(self, other):
        return Described([*self, *other], [*self.problems, *getattr(other, "problems", [])])

    def __radd__(self, other):
        return Described([*other, *self], self.problems)


def describe_all(exc: Exception, *, lead: str | None = None) -> Described:
    """Every problem of a refusal, or its message when it names no field; ``lead`` first."""
    problems = getattr(exc, "problems", None)
    first = [lead] if lead else []
    if problems:
        return Described([*first, *(describe(p) for p in problems)], problems)
    return Described([*first, message_words(exc)])
