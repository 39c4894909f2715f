"""Claims development triangles: read long-format cumulative data and check its shape.

A triangle (赔款进展三角形) has one row per origin period (accident quarter or year) and
one column per development period; cell (i, k) is the cumulative amount of origin i
after k+1 development periods. Unknown future cells are NaN.

The long format is what `mutua claims triangle --csv` writes::

    origin,development,value
    2025Q1,0,1200.00
    2025Q1,1,1800.00
    2025Q2,0,900.00
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mutua.errors import ValidationFailed

# Cumulative amounts may dip a little (recoveries, reserve releases on an incurred basis:
# the RAA triangle falls 0.7% once) but a fall beyond this looks like incremental data.
MAX_CUMULATIVE_FALL = 0.10


@dataclass(frozen=True)
class Triangle:
    origins: list[str]
    developments: list[str]
    values: np.ndarray  # origins x developments, NaN where not yet known

    @property
    def latest_index(self) -> np.ndarray:
        """Index of the last known development of each origin."""
        known = ~np.isnan(self.values)
        return known.sum(axis=1) - 1

    @property
    def latest(self) -> np.ndarray:
        idx = self.latest_index
        return self.values[np.arange(len(self.origins)), idx]


def _sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def from_cells(cells: Iterable[tuple[object, object, object]], *,
               check_cumulative: bool = True) -> Triangle:
    """Build and check a cumulative triangle from (origin, development, value) cells.

    ``check_cumulative=False`` accepts any fall along development (an incurred triangle
    read from the claims books, where released case reserves may lower a cell)."""
    seen: dict[tuple[str, str], float] = {}
    for origin, dev, value in cells:
        key = (str(origin).strip(), str(dev).strip())
        if key in seen:
            raise ValidationFailed("triangle", "cell %(cell)s appears twice", cell=f"{key[0]}/{key[1]}")
        try:
            v = float(value)  # actuarial projections are estimates, not booked money
        except (TypeError, ValueError):
            raise ValidationFailed("triangle", "value %(value)s is not a number",
                                   value=f"{value!r}") from None
        if not math.isfinite(v) or v < 0:
            raise ValidationFailed("triangle", "value %(value)s must be a finite number >= 0",
                                   value=f"{value!r}")
        seen[key] = v
    if not seen:
        raise ValidationFailed("triangle", "has no cells")
    origins = sorted({o for o, _ in seen}, key=_sort_key)
    devs = sorted({d for _, d in seen}, key=_sort_key)
    values = np.full((len(origins), len(devs)), np.nan)
    oi = {o: i for i, o in enumerate(origins)}
    di = {d: k for k, d in enumerate(devs)}
    for (o, d), v in seen.items():
        values[oi[o], di[d]] = v
    tri = Triangle(origins, devs, values)
    check_shape(tri, check_cumulative=check_cumulative)
    return tri


def check_shape(tri: Triangle, *, check_cumulative: bool = True) -> None:
    """Each origin is known from the first development on without holes, younger origins
    are known no further than older ones, and the values are cumulative."""
    known = ~np.isnan(tri.values)
    lengths = known.sum(axis=1)
    for i, origin in enumerate(tri.origins):
        if not known[i, : lengths[i]].all():
            raise ValidationFailed("triangle", "origin %(origin)s has a hole in its development",
                                   origin=origin)
        if i and lengths[i] > lengths[i - 1]:
            raise ValidationFailed(
                "triangle", "origin %(origin)s is developed further than an older origin", origin=origin
            )
        if not check_cumulative:
            continue
        row = tri.values[i, : lengths[i]]
        prev = row[:-1]
        falls = (prev - row[1:]) > MAX_CUMULATIVE_FALL * np.maximum(prev, 1e-12)
        if falls.any():
            k = int(np.argmax(falls))
            raise ValidationFailed(
                "triangle",
                "origin %(origin)s falls from %(high)s to %(low)s at development %(dev)s: "
                "values must be cumulative, not incremental",
                origin=origin, high=f"{prev[k]:g}", low=f"{row[k + 1]:g}", dev=tri.developments[k + 1],
            )


def read_csv(text: str) -> Triangle:
    """Parse long-format CSV with the header ``origin,development,value``."""
    reader = csv.DictReader(io.StringIO(text))
    need = {"origin", "development", "value"}
    if not reader.fieldnames or not need <= {f.strip() for f in reader.fieldnames}:
        raise ValidationFailed("triangle", "CSV header must be origin,development,value")
    rows = [{k.strip(): v for k, v in r.items() if k} for r in reader]
    return from_cells((r["origin"], r["development"], r["value"]) for r in rows)


def from_matrix(rows: list[list[float]], origins: list[str] | None = None) -> Triangle:
    """A triangle from rows of known cumulative values (shorter rows for younger origins)."""
    origins = origins or [str(i) for i in range(len(rows))]
    return from_cells(
        (origins[i], k, v) for i, row in enumerate(rows) for k, v in enumerate(row)
    )
