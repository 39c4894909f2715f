"""Bounds on everything a caller sends: nesting of documents, sizes, numbers, dates, text.

Every input has a limit, checked before any work is done on it. A request within the
limits costs what its answer is worth; one beyond them gets a 4xx naming the field and the
rule. The limits live here so each schema, page and file reader says the same thing.

Documents (JSON bodies, FHIR bundles, YAML product definitions) are refused when they nest
deeper than ``MAX_DEPTH`` (100,000 nested ``[`` crashed the JSON parser with a
RecursionError) or, for YAML, when its aliases expand to more than ``MAX_NODES`` values.

>>> json_depth(b'{"a": [1, {"b": "[[[["}]}')
3
>>> load_json(b"[" * 100_000, field="file")
Traceback (most recent call last):
...
mutua.errors.ValidationFailed: file: must not nest deeper than 32 levels
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field

from mutua.dates import Quarter
from mutua.errors import BrokenRule, ValidationFailed

MAX_DEPTH = 32
MAX_NODES = 200_000
# A JSON string: brackets inside one do not nest. Possessive, so a long string without its
# closing quote is scanned once.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)


def json_depth(raw: bytes | str) -> int:
    """How deeply a JSON text nests arrays and objects (read without parsing it)."""
    data = raw.encode() if isinstance(raw, str) else raw
    bare = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    if bare.size == 0:
        return 0
    step = (np.isin(bare, (ord("["), ord("{"))).astype(np.int32)
            - np.isin(bare, (ord("]"), ord("}"))).astype(np.int32))
    return int(np.cumsum(step).max(initial=0))


def too_deep(field: str) -> ValidationFailed:
    return ValidationFailed(field, "must not nest deeper than %(limit)s levels", limit=MAX_DEPTH)


def load_json(raw: bytes | str, *, field: str = "body") -> object:
    """Parse JSON nested at most MAX_DEPTH deep, or ValidationFailed naming ``field``."""
    if json_depth(raw) > MAX_DEPTH:
        raise too_deep(field)
    try:
        return json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(field, "is not JSON: %(detail)s", detail=exc) from None


def load_yaml(text: str, *, field: str = "file") -> object:
    """Parse YAML nested at most MAX_DEPTH deep whose aliases expand to at most MAX_NODES
    values (a few lines of anchors can stand for billions of values: 'billion laughs')."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise too_deep(field) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(field, "is not valid YAML: %(detail)s", detail=exc) from None
    depth, nodes = _expanded_shape(data)
    if depth > MAX_DEPTH:
        raise too_deep(field)
    if nodes > MAX_NODES:
        raise ValidationFailed(field, "must hold at most %(limit)s values, aliases expanded", limit=MAX_NODES)
    return data


def _expanded_shape(data: object) -> tuple[int, int]:
    """(depth, number of values) of a parsed document with shared parts counted every time
    they appear; each shared part is measured once (so an alias bomb is measured fast)."""
    measured: dict[int, tuple[int, int]] = {}
    stack: list[tuple[object, bool]] = [(data, False)]
    while stack:
        node, children_done = stack.pop()
        kids = _children(node)
        if id(node) in measured:
            continue
        if kids and not children_done:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in measured)
            continue
        shapes = [measured.get(id(k), (0, 1)) for k in kids]
        measured[id(node)] = (1 + max((d for d, _ in shapes), default=0),
                              1 + sum(n for _, n in shapes))
    return measured.get(id(data), (1, 1))


def _children(node: object) -> list:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, list | tuple):
        return list(node)
    return []


# --- schema types ---------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
MAX_YUAN = Decimal("1000000000")  # one billion yuan: more than any premium, claim or fund
MAX_ID = 2**63 - 1  # the database's 64-bit keys


def supported_day(value: date | None) -> date | None:
    """A pydantic validator: the date, if the system holds it (None passes)."""
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise BrokenRule("must be a date from %(first)s to %(last)s", first=FIRST_DAY,
                         last=LAST_DAY)
    return value


def supported_moment(value: datetime) -> datetime:
    """A pydantic validator: the moment, if its day is one the system holds."""
    supported_day(value.date())
    return value


# Documents the range in the OpenAPI schema (JSON Schema's formatMinimum/formatMaximum).
DAY_RANGE = {"formatMinimum": FIRST_DAY.isoformat(), "formatMaximum": LAST_DAY.isoformat()}

# A calendar date the system can hold: 1900-01-01 to 2100-12-31 (birth dates to cover ends).
Day = Annotated[date, AfterValidator(supported_day), Field(json_schema_extra=DAY_RANGE)]
# A moment of those days.
Moment = Annotated[datetime, AfterValidator(supported_moment),
                   Field(json_schema_extra=DAY_RANGE)]
# A quarter named YYYYQn, of a year from 2000 to 2100, in its canonical form (dates.Quarter).
QuarterName = Annotated[str, Field(max_length=16, examples=["2026Q3"]),
                        AfterValidator(lambda text: str(_quarter(text)))]
# A project's code (catalogue), as requests name it.
ProjectCode = Annotated[str, Field(max_length=32, examples=["SZ-NEWCITIZEN"])]
# A row's id in a path, query or body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Money in yuan to the fen, never negative.
Yuan = Annotated[Decimal, Field(ge=0, le=MAX_YUAN, decimal_places=2)]


def _quarter(text: str):
    try:
        return Quarter.parse(text)
    except ValidationFailed as exc:
        problem = exc.problems[0]
        raise BrokenRule(problem.code, **problem.params) from None


def bounded_json(max_chars: int):
    """A validator for free-form JSON values (dicts of settings, payloads): at most
    ``max_chars`` characters when written out, nested at most MAX_DEPTH deep."""

    def check(value):
        written = json.dumps(value, default=str, ensure_ascii=False)
        if len(written) > max_chars:
            raise BrokenRule("must be at most %(limit)s characters as JSON", limit=max_chars)
        if json_depth(written) > MAX_DEPTH:
            raise BrokenRule("must not nest deeper than %(limit)s levels", limit=MAX_DEPTH)
        return value

    return check
