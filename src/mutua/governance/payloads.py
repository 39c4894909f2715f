"""Pure checks of what a proposal would enact, made before anyone votes on it.

A proposal whose payload could never take effect must not be put to the members, so
each payload is checked when the proposal is made (and again at enactment).

>>> grid = [(18, 40, 1), (18, 40, 2)]
>>> check_coefficient_cells([{"age_min": 18, "age_max": 40, "occupation_class": 1,
...                           "coefficient": "1.0"}], grid=grid)
Traceback (most recent call last):
...
mutua.errors.ValidationFailed: payload.cells: missing cell for ages 18-40, class 2
>>> check_allocation_shares(uplift="0.6", aid="0.3", services="0.1")
(Decimal('0.6'), Decimal('0.3'), Decimal('0.1'))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from mutua.dates import Quarter
from mutua.errors import ProblemCollector, ValidationFailed

Cell = tuple[int, int, int]  # (age_min, age_max, occupation_class)
MAX_COEFFICIENT = Decimal("100")


def _decimal(value: object, field: str) -> Decimal:
    if isinstance(value, float | bool):
        raise ValidationFailed(field, "must be a decimal string, not a float")
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(field, "must be a number, got %(got)s", got=f"{value!r}") from None
    if not d.is_finite():
        raise ValidationFailed(field, "must be a finite number")
    return d


def check_coefficient_cells(cells: Sequence[dict], *, grid: Iterable[Cell]) -> list[dict]:
    """Every cell of the product's grid exactly once, each coefficient in (0, 100].

    Returns the cells in canonical form: ints and Decimal coefficients to 4 places.
    """
    expected = set(grid)
    problems = ProblemCollector()
    seen: dict[Cell, dict] = {}
    for i, raw in enumerate(cells):
        try:
            key = (int(raw["age_min"]), int(raw["age_max"]), int(raw["occupation_class"]))
        except (KeyError, TypeError, ValueError):
            problems.add(f"payload.cells[{i}]", "needs integer age_min, age_max, occupation_class")
            continue
        coefficient = _decimal(raw.get("coefficient"), f"payload.cells[{i}].coefficient")
        if not Decimal(0) < coefficient <= MAX_COEFFICIENT:
            problems.add(f"payload.cells[{i}].coefficient", "must be above 0 and at most 100")
        if key in seen:
            problems.add("payload.cells", "cell for ages %(ages)s, class %(cls)s is given twice",
                         ages=f"{key[0]}-{key[1]}", cls=key[2])
        elif key not in expected:
            problems.add("payload.cells", "ages %(ages)s, class %(cls)s is not a cell of the "
                                          "product's table", ages=f"{key[0]}-{key[1]}", cls=key[2])
        seen[key] = {"age_min": key[0], "age_max": key[1], "occupation_class": key[2],
                     "coefficient": coefficient.quantize(Decimal("0.0001"))}
    for key in sorted(expected - set(seen)):
        problems.add("payload.cells", "missing cell for ages %(ages)s, class %(cls)s",
                     ages=f"{key[0]}-{key[1]}", cls=key[2])
    problems.raise_if_any()
    return [seen[k] for k in sorted(seen)]


def check_allocation_shares(*, uplift: object, aid: object, services: object
                            ) -> tuple[Decimal, Decimal, Decimal]:
    """Shares of a quarter's surplus: each between 0 and 1, together exactly 1 (100%)."""
    shares = tuple(_decimal(v, f"payload.{n}") for n, v in
                   (("uplift", uplift), ("aid", aid), ("services", services)))
    problems = ProblemCollector()
    for name, share in zip(("uplift", "aid", "services"), shares, strict=True):
        if not Decimal(0) <= share <= Decimal(1):
            problems.add(f"payload.{name}", "must be a share between 0 and 1")
    problems.raise_if_any()
    if sum(shares) != Decimal(1):
        raise ValidationFailed("payload.shares",
                               "uplift, aid and services must add up to 100%%, got %(total)s%%",
                               total=sum(shares) * 100)
    return shares  # type: ignore[return-value]


def check_quarter(text: object, field: str = "payload.effective_from") -> str:
    """The quarter in its canonical form, read by the one parser (mutua.dates.Quarter)."""
    return str(Quarter.parse(text, field=field))
