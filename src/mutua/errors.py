"""Error types shared by every domain.

Services raise these; the HTTP layer maps them to status codes with a JSON body
naming the field and the rule, and the CLI prints one line and exits non-zero.

A rule or message is written where it is raised as a template with named values, never
as finished English: ``ValidationFailed("name", "must be at most %(limit)s characters",
limit=200)``. The template is the rule's code (a gettext msgid, extracted from the raise
sites by ``mutua.web.catalogs``); the English the API and the CLI answer is the template
filled with the values, and a page translates the template and fills in the same values
in the reader's words (mutua.web.problems).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def shown(value: object, limit: int = 40) -> str:
    """A caller's value quoted in a rule, cut short: a refusal never echoes 10 MB back.

    >>> shown("2026Q9"), shown("x" * 100, limit=5)
    ("'2026Q9'", "'xxxxx…' (100 characters)")
    """
    text = str(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else repr(text)
    return f"{text[:limit]!r}"[:-1] + f"…' ({len(text)} characters)"


def field_path(loc: tuple) -> str:
    """A field as the services name it, from pydantic's location of an error (the request
    body itself is implied).

    >>> field_path(("body", "items", 0, "invoice_amount"))
    'items[0].invoice_amount'
    """
    path = ""
    for part in loc:
        if part == "body":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def filled(template: str, params: dict) -> str:
    """A template with its values put in, each as an f-string would show it; a template
    given no values is the text itself (so a literal "100%" needs no escaping).

    >>> filled("must be at most %(limit)s characters", {"limit": 200})
    'must be at most 200 characters'
    >>> filled("must add up to 100%%, got %(total)s%%", {"total": 110}), filled("100%", {})
    ('must add up to 100%, got 110%', '100%')
    """
    if not params:
        return template
    return template % {name: format(value, "") for name, value in params.items()}


class Worded(str):
    """Text filled in from a template, that keeps its template and values: it is the English
    everywhere a string goes (equality, JSON, logs), and a page translates it from its
    template. Rules passed around as text (a check that returns the rule a value breaks, a
    (field, rule) pair, the reason a close gate held) are ``Worded``.

    >>> w = Worded("birth date %(day)s is impossible", day="1800-01-01")
    >>> w, w.template, w.params
    ('birth date 1800-01-01 is impossible', 'birth date %(day)s is impossible', {'day': '1800-01-01'})
    """

    template: str
    params: dict

    def __new__(cls, template: str, /, **params):
        text = super().__new__(cls, filled(template, params))
        text.template, text.params = template, params
        return text


def _template_of(text: str, params: dict) -> tuple[str, dict]:
    """A rule or message and its values, unwrapping a ``Worded`` given without values."""
    if isinstance(text, Worded) and not params:
        return text.template, text.params
    return text, params


def worded_record(text: str, prefix: str = "") -> dict:
    """The template and values of a rule kept as text, for a stored record beside the English
    (``Problem.from_record`` and mutua.web.problems read them back).

    >>> worded_record(Worded("needs %(n)s", n=2), "reason_")
    {'reason_code': 'needs %(n)s', 'reason_params': {'n': '2'}}
    """
    template, params = _template_of(text, {})
    return {f"{prefix}code": template, f"{prefix}params": json_params(params)}


def json_params(params: dict) -> dict[str, str]:
    """The values of a template as text, as a JSON body or a stored job result carries them."""
    return {name: format(value, "") for name, value in params.items()}


class DomainError(Exception):
    """Base for errors a user can act on. ``message`` is a template when values follow:
    ``Conflict("proposal %(number)s is %(status)s, not open", number=7, status="closed")``."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, /, **params):
        self.template, self.params = _template_of(message, params)
        self.message = filled(self.template, self.params)
        super().__init__(self.message)

    def to_dict(self) -> dict:
        """The error and its English (what a subclass adds goes here too)."""
        return {"error": self.code, "message": self.message}

    def to_record(self) -> dict:
        """The JSON body the API answers, and a failed job keeps: the English with each
        template and its values beside it, so a client or a page can tell the refusal in
        its reader's language (the templates are the msgids of the zh_CN catalog)."""
        return {**self.to_dict(), "template": self.template, "params": json_params(self.params)}


class Problem:
    """One broken rule: which field, which rule (a template and its values).

    >>> p = Problem("name", "must be at most %(limit)s characters", limit=200)
    >>> p.rule, p.code
    ('must be at most 200 characters', 'must be at most %(limit)s characters')
    """

    __slots__ = ("field", "code", "params", "rule")

    def __init__(self, field: str, rule: str, /, **params):
        self.field = field
        # the template (a gettext msgid, or pydantic's error type) and its values
        self.code, self.params = _template_of(rule, params)
        self.rule = filled(self.code, self.params)  # the English the API and the CLI answer

    @classmethod
    def from_pydantic(cls, field: str, error: dict) -> Problem:
        """A problem pydantic found: its English stays pydantic's message, its code is a
        validator's own template (a ``BrokenRule`` it raised) or else pydantic's error type, with
        the error's context as the values."""
        problem = cls(field, error["msg"])
        context = dict(error.get("ctx") or {})
        cause = context.get("error")
        if isinstance(cause, BrokenRule):
            problem.code, problem.params = cause.template, cause.params
        else:
            problem.code, problem.params = error["type"], context
        return problem

    def to_dict(self) -> dict:
        return {"field": self.field, "rule": self.rule}

    def to_record(self) -> dict:
        return {**self.to_dict(), "code": self.code, "params": json_params(self.params)}

    def at(self, field: str) -> Problem:
        """The same problem named at another field (a record's place put before it)."""
        moved = Problem(field, self.rule)
        moved.code, moved.params = self.code, self.params
        return moved

    @classmethod
    def from_record(cls, record: dict) -> Problem:
        """The problem a stored record describes (``to_record``; a bare field and rule too)."""
        problem = cls(record["field"], record["rule"])
        problem.code = record.get("code", record["rule"])
        problem.params = record.get("params") or {}
        return problem

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.field, self.rule) == (other.field, other.rule)

    def __hash__(self) -> int:
        return hash((self.field, self.rule))

    def __repr__(self) -> str:
        return f"Problem(field={self.field!r}, rule={self.rule!r})"

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class BrokenRule(ValueError):
    """A validator's refusal inside a pydantic model, as a template with values: pydantic
    shows it as "Value error, <the English>" and keeps it in the error's context, so a page
    translates it like any rule (``Problem.from_pydantic``).

    >>> str(BrokenRule("must be at most %(limit)s", limit=5))
    'must be at most 5'
    """

    def __init__(self, template: str, /, **params):
        self.template = template
        self.params = params
        super().__init__(filled(template, params))


class ValidationFailed(DomainError):
    """Bad input. Carries one or more (field, rule) problems; HTTP 422."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, field_or_problems: str | list[Problem], rule: str | None = None, /,
                 **params):
        if isinstance(field_or_problems, str):
            problems = [Problem(field_or_problems, rule or "is invalid", **params)]
        else:
            problems = list(field_or_problems)
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def to_dict(self) -> dict:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_record(self) -> dict:
        return {**super().to_record(), "problems": [p.to_record() for p in self.problems]}


class TooLarge(ValidationFailed):
    """A body or upload over its limit; HTTP 413."""

    status_code = 413
    code = "too_large"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Conflict(DomainError):
    """The request is well-formed but clashes with the state (a second vote, a closed quarter)."""

    status_code = 409
    code = "conflict"


@dataclass
class ProblemCollector:
    """Collects problems so a form can be checked whole before raising once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, field_name: str, rule: str, /, **params) -> None:
        self.problems.append(Problem(field_name, rule, **params))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)
