"""A refused form shown again: what was typed back in its fields, each problem beside its field.

Every page form posts to its own path. When the service refuses the input, the page the form
came from is rendered again and then *refilled*: the form whose ``action`` is the refused
path gets the posted values back and, just before each field a problem names, a line saying
what is wrong with that value (``aria-invalid`` and ``aria-describedby`` point screen readers
to it). Unless the page lists the problems itself, all of them are also listed at the top of
the form, so a problem naming no field of the form is never lost. One mechanism serves every form, so
a new form gets it without code of its own.

    refill('<form action="/x"><input name="quorum"></form>', Refused(
        action="/x", values=[("quorum", "abc")],
        problems=[Problem("quorum", "must be a number")]))
    # -> '<form action="/x"><p class="field-error" id="quorum-error">须为数字</p>
    #     <input name="quorum" value="abc" aria-invalid="true" aria-describedby="quorum-error"></form>'

Passwords, files and the CSRF token are never written back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape, unescape

from mutua.errors import Problem

# A form and the tags inside it. Pages never nest forms, so a form ends at its first </form>.
_FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S | re.I)
_CONTROL = re.compile(
    r"<(?P<tag>input|textarea|select)\b(?P<attrs>[^>]*)>"
    r"(?:(?P<inner>.*?)</(?P=tag)>)?", re.S | re.I)
_ATTR = re.compile(r'\s(?P<name>[\w:-]+)(?:="(?P<value>[^"]*)")?')
_OPTION = re.compile(r"<option\b(?P<attrs>[^>]*)>", re.I)
_SELECTED = re.compile(r"\sselected(?:=\"[^\"]*\")?", re.I)
_CHECKED = re.compile(r"\schecked(?:=\"[^\"]*\")?", re.I)
_VALUE = re.compile(r'\svalue="[^"]*"', re.I)
_DETAILS_OPEN = re.compile(r"<details\b(?P<attrs>[^>]*)>", re.I)

NEVER_REFILLED = frozenset({"password", "file", "hidden", "submit", "button", "image", "reset"})
# Fields a service names that the form asks for under another name.
FORM_NAMES: dict[str, str] = {
    "policy_id": "cover",
    "benefit_code": "cover",
    "effective": "taken_on",
    "effective_at": "taken_on",
    "opens_at": "days",
    "closes_at": "days",
    "candidate_ids": "candidates",
    "project_id": "project",
    "product_id": "product",
    "product_code": "product",
}
_INDEX = re.compile(r"\[\d+\]")


@dataclass
class Refused:
    """What a refused POST carried: its path, the typed values and the problems found."""

    action: str
    values: list[tuple[str, str]]
    problems: list[Problem]
    summary: bool = True  # False when the page lists the problems itself
    heading: str = ""
    general: list[str] = field(default_factory=list)  # lines that name no field


def form_name(problem_field: str) -> str:
    """The name of the form field a service's field path is about.

    >>> form_name("payload.seats"), form_name("items[0].invoice_amount"), form_name("policy_id")
    ('seats', 'invoice_amount', 'cover')
    """
    last = _INDEX.sub("", problem_field.rsplit(".", 1)[-1])
    return FORM_NAMES.get(last, last)


def _attrs(text: str) -> dict[str, str]:
    return {m["name"].lower(): m["value"] or "" for m in _ATTR.finditer(text)}


def _with_value(attrs: str, value: str) -> str:
    return _VALUE.sub("", attrs) + f' value="{escape(value)}"'


def _marked(attrs: str, error_id: str) -> str:
    return attrs + f' aria-invalid="true" aria-describedby="{error_id}"'


def _options(inner: str, chosen: set[str]) -> str:
    def option(match: re.Match) -> str:
        attrs = _SELECTED.sub("", match["attrs"])
        if _attrs(attrs).get("value") in chosen:
            attrs += " selected"
        return f"<option{attrs}>"

    return _OPTION.sub(option, inner)


def _refill_control(match: re.Match, values: dict[str, list[str]], errors: dict[str, list[str]],
                    placed: set[str]) -> str:
    tag, attrs, inner = match["tag"].lower(), match["attrs"].rstrip("/"), match["inner"]
    found = _attrs(attrs)
    name, kind = found.get("name", ""), found.get("type", "text").lower()
    if not name:
        return match[0]
    typed = values.get(name)
    if typed is not None and kind not in NEVER_REFILLED:
        if tag == "textarea":
            inner = escape(typed[-1], quote=False)
        elif tag == "select":
            inner = _options(inner or "", set(typed))
        elif kind in ("checkbox", "radio"):
            attrs = _CHECKED.sub("", attrs) + (" checked" if found.get("value", "on") in typed
                                               else "")
        else:
            attrs = _with_value(attrs, typed[-1])
    elif tag == "input" and kind in ("checkbox", "radio") and values:
        attrs = _CHECKED.sub("", attrs)  # unticked when posted: a browser sends nothing
    before = ""
    if name in errors and name not in placed:
        placed.add(name)
        error_id = f"{found.get('id') or name}-error"
        attrs = _marked(attrs, error_id)
        before = f'<p class="field-error" id="{escape(error_id)}">' + "; ".join(
            escape(line) for line in errors[name]) + "</p>"
    closing = f"{inner}</{tag}>" if tag in ("textarea", "select") else ""
    return f"{before}<{tag}{attrs}>{closing}"


_LABEL = re.compile(r'<label\b[^>]*\bfor="(?P<id>[^"]+)"[^>]*>(?P<text>.*?)</label>', re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _labels(form_body: str) -> dict[str, str]:
    """Each field's label as this form shows it, by field name (the same name can mean
    different things on different forms: a claim's place, a meeting's address)."""
    by_id = {m["id"]: unescape(_TAG.sub("", m["text"])).strip() for m in _LABEL.finditer(form_body)}
    labels = {}
    for control in _CONTROL.finditer(form_body):
        found = _attrs(control["attrs"])
        if found.get("name") and found.get("id") in by_id:
            labels.setdefault(found["name"], by_id[found["id"]])
    return labels


def _summary(refused: Refused, lines: list[str]) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    heading = f"<p><strong>{escape(refused.heading)}</strong></p>" if refused.heading else ""
    return f'<div class="error" id="form-problems" role="alert">{heading}<ul>{items}</ul></div>'


def refill(html: str, refused: Refused, *, problem_words, describe) -> str:
    """The page with the refused form filled in again and its problems beside their fields.

    ``problem_words(problem)`` and ``describe(problem, label=None)`` put a rule, or a whole problem
    with its field's label (the form's own label when it has one), in the reader's language
    (mutua.web.problems).
    """
    values: dict[str, list[str]] = {}
    for name, value in refused.values:
        values.setdefault(name, []).append(value)
    errors: dict[str, list[str]] = {}
    for problem in refused.problems:
        errors.setdefault(form_name(problem.field), []).append(problem_words(problem))
    form = next((m for m in _FORM.finditer(html) if _attrs(m["attrs"]).get("action")
                 == refused.action), None)
    labels = _labels(form["body"]) if form else {}
    lines = [*refused.general, *(
        describe(p, labels[form_name(p.field)]) if form_name(p.field) in labels else describe(p)
        for p in refused.problems)]
    if form is None:  # the page has no such form: the problems at the top of the page
        at = html.find(">", html.find("<main")) + 1 if "<main" in html else 0
        return html[:at] + _summary(refused, lines) + html[at:]
    placed: set[str] = set()
    body = _CONTROL.sub(lambda m: _refill_control(m, values, errors, placed), form["body"])
    top = _summary(refused, lines) if refused.summary and lines else ""
    rebuilt = f"<form{form['attrs']}>{top}{body}</form>"
    start = _open_details(html, form.start())
    return start[0] + rebuilt + html[form.end():] if start else (
        html[:form.start()] + rebuilt + html[form.end():])


def _open_details(html: str, form_start: int) -> tuple[str] | None:
    """The page up to the form, with the collapsed panel holding the form opened."""
    head = html[:form_start]
    opened = head.rfind("<details")
    if opened == -1 or head.rfind("</details>") > opened:
        return None
    match = _DETAILS_OPEN.match(head, opened)
    if match is None or " open" in match["attrs"]:
        return None
    return (head[:opened] + f"<details{match['attrs']} open>" + head[match.end():],)
