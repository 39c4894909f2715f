"""Lab results as numpy columns: parsing values and times in bulk, and the small column
helpers the ingest pipeline and its alerts share."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import numpy as np

from mutua.db import batched

CHUNK = 5000
EPOCH = np.datetime64("1970-01-01T00:00:00", "us")
SHANGHAI_OFFSET = np.timedelta64(8, "h")



def parse_values(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Floats and a mask of which parsed; the fast path converts the whole column at once."""
    try:
        arr = np.asarray(values, dtype=np.float64)
        return arr, np.isfinite(arr)
    except (TypeError, ValueError):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            with contextlib.suppress(TypeError, ValueError):
                out[i] = float(v)
        return out, np.isfinite(out)


def parse_times(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTC datetime64[us] and a mask of which parsed. No offset means Shanghai time.

    Texts without an offset (the bulk of a lab file) are parsed by numpy in one call; the
    ones with an offset ("+08:00", "Z") one by one with ``datetime.fromisoformat``.
    """
    arr = np.asarray(["" if t is None else str(t).strip() for t in texts], dtype=str)
    out = np.full(len(arr), np.datetime64("NaT"), dtype="datetime64[us]")
    zoned = ((np.char.find(arr, "+") >= 0) | (np.char.find(arr, "Z") >= 0)
             | (np.char.rfind(arr, "-") > 10))
    plain = np.flatnonzero(~zoned & (arr != ""))
    try:
        out[plain] = np.asarray(arr[plain], dtype="datetime64[us]") - SHANGHAI_OFFSET
        slow = np.flatnonzero(zoned)
    except ValueError:
        slow = np.flatnonzero(arr != "")
    for i in slow:
        try:
            d = datetime.fromisoformat(arr[i].replace("Z", "+00:00"))
        except ValueError:
            out[i] = np.datetime64("NaT")
            continue
        if d.tzinfo is None:
            out[i] = np.datetime64(d, "us") - SHANGHAI_OFFSET
        else:
            out[i] = np.datetime64(d.astimezone(UTC).replace(tzinfo=None), "us")
    return out, ~np.isnat(out)


def member_chunks(column, members: list[int]):
    """WHERE clauses covering ``members``: one id range when they are dense (a big file
    covers most patients; a range scan beats thousands of bound parameters), else IN lists.
    Callers filter the rows by member afterwards when they need exactness."""
    if not members:
        return []
    lo, hi = min(members), max(members)
    if len(members) > CHUNK and hi - lo < 4 * len(members):
        return [column.between(lo, hi)]
    return [column.in_(part) for part in batched(members, CHUNK)]


def np_now(now: datetime) -> np.datetime64:
    return np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")


def nullable(ids: np.ndarray) -> np.ndarray:
    return np.where(ids < 0, None, ids.astype(object))


def unique_inverse(column: list) -> tuple[list[str], np.ndarray]:
    """Distinct values as text (None -> "None", which no code, unit or member number is)
    and each row's index into them; a dict pass, cheaper than sorting a million strings."""
    uniq = list(dict.fromkeys(column))
    position = {v: i for i, v in enumerate(uniq)}
    inverse = np.fromiter(map(position.__getitem__, column), dtype=np.int64, count=len(column))
    return [str(v) for v in uniq], inverse


def epoch_days(when: np.ndarray) -> np.ndarray:
    """Each time's day since 1970-01-01 (UTC)."""
    # A row without a date (NaT) was refused already; its day is never read, so numpy need
    # not warn about dividing it.
    with np.errstate(invalid="ignore"):
        return ((when - EPOCH) // np.timedelta64(1, "D")).astype(np.int64)
