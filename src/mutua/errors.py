"""Error types shared by every domain.

Services raise these; the HTTP layer maps them to status codes with a JSON body
naming the field and the rule, and the CLI prints one line and exits non-zero.
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


class DomainError(Exception):
    """Base for errors a user can act on."""

    status_code = 400
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


@dataclass
class Problem:
    """One broken rule: which field, which rule."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ValidationFailed(DomainError):
    """Bad input. Carries one or more (field, rule) problems; HTTP 422."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, field_or_problems: str | list[Problem], rule: str | None = None):
        if isinstance(field_or_problems, str):
            problems = [Problem(field_or_problems, rule or "is invalid")]
        else:
            problems = list(field_or_problems)
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def to_dict(self) -> dict:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [{"field": p.field, "rule": p.rule} for p in self.problems],
        }


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

    def add(self, field_name: str, rule: str) -> None:
        self.problems.append(Problem(field_name, rule))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)
