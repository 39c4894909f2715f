"""Refused form input, told in the reader's language.

Services name each problem in English (``Problem(field, rule)``) because the API answers in
English for programs. A page shows the same problem to a person, so the field becomes its
label on the form and the rule becomes a sentence in the reader's language::

    describe(Problem("amount", "must be positive"))   # zh_CN: "金额：必须大于零"

Field labels and rule sentences are gettext msgids (English), translated in the catalogs.
A rule no catalog knows is shown as the service wrote it, so nothing is ever hidden.
"""

from __future__ import annotations

from mutua.errors import Problem
from mutua.web.i18n import gettext as _
from mutua.web.render import N_

# The last part of a field path -> the label a person sees on the form.
FIELD_LABELS: dict[str, str] = {
    "amount": N_("Amount"),
    "memo": N_("Memo"),
    "project": N_("Project"),
    "quarter": N_("Quarter"),
}


def field_label(field: str) -> str:
    key = field.rsplit(".", 1)[-1]
    return _(FIELD_LABELS[key]) if key in FIELD_LABELS else field


def rule_words(rule: str) -> str:
    return _(rule)


def describe(problem: Problem) -> str:
    """One line for the page: the field's label and the broken rule, translated."""
    return _("%(field)s: %(rule)s", field=field_label(problem.field), rule=rule_words(problem.rule))


def describe_all(exc: Exception) -> list[str]:
    """Every problem of a refusal, or its message when it names no field."""
    problems = getattr(exc, "problems", None)
    if problems:
        return [describe(p) for p in problems]
    return [str(getattr(exc, "message", exc))]
