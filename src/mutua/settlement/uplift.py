"""Which policies a close's uplift raises, and their benefits' current cover, as columns.

The close reads the policies in force on the first day of the next quarter and the uplifts
they hold so far (two reads through the driver, no ORM rows), keeps those with at least
their product's ``min_uplift_days`` of cover left, and lays out one row per (policy,
raised benefit) for :func:`mutua.settlement.allocation.allocate`:

- a benefit is raised when it has a sum insured of its own: not one that shares another's
  (disability pays out of death's sum insured), not a daily amount (a hospital allowance);
  the rates of the benefits that share its sum insured are added to its own, because a
  rise of death's sum insured raises what disability pays too;
- its current sum insured is the base scaled by the policy's coefficient (to the fen, half
  up, as ``policies.domain.sums_insured``) plus every uplift in effect on that day;
- its rate is the benefit's pure risk rate at coefficient 1; ``allocation`` divides it by
  the policy's coefficient (``catalog.domain.risk_rate``).

Bounded memory: the pool is read in ranges of ``CHUNK_POLICIES`` policy ids, and the rows
of each range are kept as compact columns, on disk once there is more than one range
(``UpliftRows``). The rise then makes a few passes over the ranges, each holding one:

1. while reading: the total exposure sum(SI x r x t) and the largest cap, so the rate;
2. the money per row rounded down and the fen's fractions left, summed (how many rows get
   one fen more) and counted in a histogram of the fractions;
3. the exact fractions in the one histogram bin where the largest ``short`` end, so the
   cut: rows above the cut get their fen, and of the rows exactly at it the first in
   policy order, as a stable sort of all the rows would give;
4. the rows' rises, counted for the statement, and again when the close writes them.

A pool that fits one range is computed exactly as one array of all its rows would be;
over several ranges only the float sums (exposure, fractions) are added range by range.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.catalog.models import Benefit, Product
from mutua.money import to_fen
from mutua.settlement import allocation, figures

COEFFICIENT_HALF = allocation.COEFFICIENT_SCALE
CHUNK_POLICIES = 200_000  # policy ids read at a time: about 60 MB of columns at the peak
FRACTION_BINS = 1 << 16


@dataclass(frozen=True)
class ProductTerms:
    """A product's uplift settings and the benefits its uplift raises."""

    product_id: int
    code: str
    min_days: int
    cap_units: int  # max_uplift_rate in 1e-8
    benefit_ids: np.ndarray
    benefit_codes: tuple[str, ...]
    base_fen: np.ndarray
    rate_units: np.ndarray  # own rate plus the rates of the benefits sharing its sum insured


@dataclass(frozen=True)
class Candidates:
    """The policies in force on the uplift day, how many are eligible, and their rows."""

    day: date
    policies_in_force: int
    members_in_force: int
    policies_eligible: int
    too_few_days: int  # in force, but fewer than min_uplift_days left
    basis: UpliftRows
    codes: tuple[str, ...]
    products: dict[int, ProductTerms]


def product_terms(db: Session, *, project_id: int) -> dict[int, ProductTerms]:
    """Each product of the project with its uplift settings and raised benefits."""
    out = {}
    for p in db.scalars(select(Product).where(Product.project_id == project_id)
                        .order_by(Product.id)):
        benefits = db.execute(select(Benefit.id, Benefit.code, Benefit.base_sum_insured,
                                     Benefit.pure_risk_rate, Benefit.shares_sum_insured_with,
                                     Benefit.daily_amount)
                              .where(Benefit.product_id == p.id).order_by(Benefit.id)).all()
        followers: dict[str, int] = {}
        for b in benefits:
            if b.shares_sum_insured_with:
                followers[b.shares_sum_insured_with] = (
                    followers.get(b.shares_sum_insured_with, 0)
                    + allocation.rate_units(b.pure_risk_rate))
        raised = [b for b in benefits if allocation.raises(
            shares_sum_insured_with=b.shares_sum_insured_with, daily_amount=b.daily_amount,
            pure_risk_rate=b.pure_risk_rate)]
        out[p.id] = ProductTerms(
            p.id, p.code, int(p.min_uplift_days),
            int(allocation.rate_units(p.max_uplift_rate)),
            np.array([b.id for b in raised], dtype=np.int64), tuple(b.code for b in raised),
            np.array([to_fen(b.base_sum_insured) for b in raised], dtype=np.int64),
            np.array([allocation.rate_units(b.pure_risk_rate) + followers.get(b.code, 0)
                      for b in raised], dtype=np.int64))
    return out


def candidates(db: Session, *, project_id: int, day: date,
               chunk: int | None = None) -> Candidates:
    """Everything the uplift of a close taking effect on ``day`` needs to know, read in
    ranges of ``chunk`` policy ids (default CHUNK_POLICIES)."""
    products = product_terms(db, project_id=project_id)
    codes = tuple(sorted({c for t in products.values() for c in t.benefit_codes}))
    rows = UpliftRows.of(products, codes)
    in_force = eligible = 0
    members = MemberSet()
    span = figures.policy_id_span(db, project_id=project_id)
    for ids in id_ranges(*span, chunk or CHUNK_POLICIES):
        policies = figures.in_force_on(db, project_id=project_id, day=day, ids=ids)
        if not len(policies.policy_id):
            continue
        in_force += len(policies.policy_id)
        members.add(policies.member_id)
        min_days = np.zeros(len(policies.product_id), dtype=np.int64)
        for pid, terms in products.items():
            min_days[policies.product_id == pid] = terms.min_days
        ok = allocation.eligible(policies.remaining_days, min_days)
        eligible += int(ok.sum())
        if ok.any() and len(rows.term_benefit_id):
            so_far = figures.uplifted_so_far(db, project_id=project_id, day=day, ids=ids)
            rows.add(_chunk_rows(rows, products, _subset(policies, ok), so_far))
    return Candidates(day, in_force, len(members), eligible, in_force - eligible, rows, codes,
                      products)


def id_ranges(lowest: int, highest: int, size: int) -> list[tuple[int, int]]:
    """Ranges of ``size`` ids from ``lowest`` to ``highest``, both ends included.

    >>> id_ranges(1, 10, 4)
    [(1, 4), (5, 8), (9, 10)]
    >>> id_ranges(0, -1, 4)
    []
    """
    return [(lo, min(lo + size - 1, highest)) for lo in range(lowest, highest + 1, size)]


def _subset(policies: figures.InForce, keep: np.ndarray) -> figures.InForce:
    return figures.InForce(*(getattr(policies, f.name)[keep] for f in fields(figures.InForce)))


def _chunk_rows(rows: UpliftRows, products: dict[int, ProductTerms],
                policies: figures.InForce, so_far: np.ndarray) -> dict[str, np.ndarray]:
    """One range's eligible policies and their rows: each policy's raised benefits side by
    side, policy-major (policies in id order, benefits in their product's order)."""
    parts = []
    for pid, terms in products.items():
        k = len(terms.benefit_ids)
        where = np.flatnonzero(policies.product_id == pid)
        if not k or not len(where):
            continue
        n = len(where)
        coef = np.repeat(policies.coefficient_units[where], k)
        base = np.tile(terms.base_fen, n)
        # base x coefficient to the fen, half up: (2 x base x c + 10^4) // (2 x 10^4)
        si = (2 * base * coef + COEFFICIENT_HALF) // (2 * COEFFICIENT_HALF)
        index = np.repeat(where, k)
        term = np.tile(rows.offsets[pid] + np.arange(k), n)
        si += _added_so_far(so_far, policies.policy_id[index], rows.term_benefit_id[term])
        parts.append((index, term, si))
    index, term, si = (np.concatenate([p[i] for p in parts]) for i in range(3))
    if len(parts) > 1:  # policy-major, so the rows are written in index order
        order = np.argsort(index, kind="stable")
        index, term, si = index[order], term[order], si[order]
    return {"policy_id": policies.policy_id, "member_id": policies.member_id,
            "coefficient": policies.coefficient_units, "days": policies.remaining_days,
            "row_policy": index.astype(np.int32), "row_term": term.astype(np.int16),
            "row_sum_insured": si}


def _added_so_far(so_far: np.ndarray, policy: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """Sum insured each (policy, benefit) row already gained from earlier closes."""
    out = np.zeros(len(policy), dtype=np.int64)
    if len(so_far) == 0 or len(policy) == 0:
        return out
    width = int(max(so_far[:, 1].max(), benefit.max())) + 1
    keys = so_far[:, 0] * width + so_far[:, 1]  # sorted: uplifted_so_far orders by both
    wanted = policy * width + benefit
    at = np.searchsorted(keys, wanted)
    found = at < len(keys)
    found[found] = keys[at[found]] == wanted[found]
    out[found] = so_far[at[found], 2]
    return out


# ---------------------------------------------------------------- the rows, in ranges

class MemberSet:
    """Distinct member ids seen over the ranges: one byte per id up to the largest (10 MB
    for ten million members), where a set of Python ints would take fifty times that."""

    def __init__(self) -> None:
        self._seen = np.zeros(0, dtype=bool)

    def add(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        top = int(ids.max()) + 1
        if top > len(self._seen):
            grown = np.zeros(max(top, 2 * len(self._seen)), dtype=bool)
            grown[:len(self._seen)] = self._seen
            self._seen = grown
        self._seen[ids] = True

    def __len__(self) -> int:
        return int(np.count_nonzero(self._seen))


@dataclass(frozen=True)
class Cut:
    """Which rows get one fen more: every row whose fraction is above ``value`` and the
    first ``ties`` rows (in policy order) whose fraction equals it."""

    value: float
    ties: int


NO_CUT = Cut(math.inf, 0)  # no row gets a fen more


@dataclass
class Raised:
    """What the uplift bought, told without a column of every row: the rate, its cost, the
    cut of the largest remainders, and the counts the statement shows."""

    rate: Decimal
    capped: bool
    spent: int
    cut: Cut = NO_CUT
    policies: int = 0
    members: int = 0
    sum_insured_added: int = 0
    by_code: dict[str, list[int]] = field(default_factory=dict)  # code: [money, added]

    @classmethod
    def of(cls, bought) -> Raised:
        """The close's summary of what ``allocate`` bought; nothing when it bought none."""
        if isinstance(bought, cls):
            return bought
        return cls(bought.rate, bought.capped, bought.spent)


class UpliftRows:
    """The close's (eligible policy, raised benefit) rows, one range of policies at a time.

    Per range: the eligible policies' ids, members, coefficients and days left, and per
    row the policy (an index into those), the term (product and benefit, an index into
    ``term_*``) and the current sum insured. Held in memory while there is one range, in
    a temporary directory from the second on; the directory goes when the rows do.
    """

    def __init__(self, term_benefit_id: np.ndarray, term_code: np.ndarray,
                 term_rate: np.ndarray, term_cap: np.ndarray, term_product: np.ndarray,
                 codes: tuple[str, ...] = ()) -> None:
        self.term_benefit_id, self.term_code = term_benefit_id, term_code
        self.term_rate, self.term_cap = term_rate, term_cap
        self.offsets = {int(p): int(np.flatnonzero(term_product == p)[0])
                        for p in np.unique(term_product)}
        self.codes = codes
        self.exposure = 0.0  # sum(SI x r x t) over every row, in fen
        self.cap_units = 0  # the largest cap of any row
        self._rows = 0
        self._held: list[dict[str, np.ndarray]] = []
        self._dir: tempfile.TemporaryDirectory | None = None
        self._files: list[Path] = []

    @classmethod
    def of(cls, products: dict[int, ProductTerms], codes: tuple[str, ...]) -> UpliftRows:
        terms = [(t.product_id, bid, codes.index(code), rate, t.cap_units)
                 for t in products.values()
                 for bid, code, rate in zip(t.benefit_ids.tolist(), t.benefit_codes,
                                            t.rate_units.tolist(), strict=True)]
        cols = np.array(terms, dtype=np.int64).reshape(-1, 5)
        return cls(cols[:, 1], cols[:, 2], cols[:, 3], cols[:, 4], cols[:, 0], codes)

    def __len__(self) -> int:
        return self._rows

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        basis = self.basis(chunk)
        if not len(basis):
            return
        self.exposure += float(basis.exposure().sum())
        self.cap_units = max(self.cap_units, int(basis.cap_units.max()))
        self._rows += len(basis)
        if self._dir is None and not self._held:
            self._held.append(chunk)
            return
        if self._dir is None:  # a second range: from now on the ranges wait on disk
            self._dir = tempfile.TemporaryDirectory(prefix="mutua-close-")
            for held in self._held:
                self._spill(held)
            self._held.clear()
        self._spill(chunk)

    def _spill(self, chunk: dict[str, np.ndarray]) -> None:
        path = Path(self._dir.name) / f"{len(self._files):06d}.npz"
        np.savez(path, **chunk)
        self._files.append(path)

    def chunks(self) -> Iterator[dict[str, np.ndarray]]:
        yield from self._held
        for path in self._files:
            with np.load(path) as stored:
                yield {name: stored[name] for name in stored.files}

    def basis(self, chunk: dict[str, np.ndarray]) -> allocation.UpliftBasis:
        p, t = chunk["row_policy"], chunk["row_term"]
        return allocation.UpliftBasis(p.astype(np.int64), chunk["row_sum_insured"],
                                      self.term_rate[t], chunk["coefficient"][p],
                                      chunk["days"][p], self.term_cap[t])

    # -- the rise, pass by pass (see the module docstring)

    def buy(self, pot: int) -> Raised:
        """Spend at most ``pot`` on one rate for every row, as allocation.buy_uplift."""
        rate, capped = allocation.rate_for(pot, self.exposure, self.cap_units)
        while True:
            floor, fractions, histogram = self._remainders(rate)
            short = int(fractions)  # as allocation.raise_cover
            if floor + short <= pot:  # float error in the total may leave u a unit high
                break
            rate -= allocation.RATE_PLACES
        raised = Raised(rate, capped, floor + short, self._cut(rate, short, histogram))
        self._count(raised)
        return raised

    def _remainders(self, rate: Decimal) -> tuple[int, float, np.ndarray]:
        floor, fractions = 0, 0.0
        histogram = np.zeros(FRACTION_BINS, dtype=np.int64)
        for chunk in self.chunks():
            _added, money, fraction = allocation.cover_parts(rate, self.basis(chunk))
            floor += int(money.sum())
            fractions += float(fraction.sum())
            histogram += np.bincount(_bin(fraction), minlength=FRACTION_BINS)
        return floor, fractions, histogram

    def _cut(self, rate: Decimal, short: int, histogram: np.ndarray) -> Cut:
        """The ``short`` largest fractions over all rows: the histogram finds their bin,
        one more pass the exact values in it."""
        if short <= 0:
            return NO_CUT
        from_top = np.cumsum(histogram[::-1])
        i = int(np.searchsorted(from_top, short))
        edge = FRACTION_BINS - 1 - i
        above = int(from_top[i - 1]) if i else 0
        values, counts = np.zeros(0), np.zeros(0, dtype=np.int64)
        for chunk in self.chunks():
            fraction = allocation.cover_parts(rate, self.basis(chunk))[2]
            v, c = np.unique(fraction[_bin(fraction) == edge], return_counts=True)
            values, inverse = np.unique(np.concatenate((values, v)), return_inverse=True)
            counts = np.bincount(inverse, weights=np.concatenate((counts, c)),
                                 minlength=len(values)).astype(np.int64)
        taken = above + np.cumsum(counts[::-1])
        j = int(np.searchsorted(taken, short))
        before = int(taken[j - 1]) if j else above
        return Cut(float(values[::-1][j]), short - before)

    def rises(self, raised: Raised) -> Iterator[tuple[dict, np.ndarray, np.ndarray]]:
        """Per range: (the range, sum insured added, money) per row at ``raised``."""
        ties = raised.cut.ties
        for chunk in self.chunks():
            added, money, fraction = allocation.cover_parts(raised.rate, self.basis(chunk))
            money += fraction > raised.cut.value
            if ties:
                at = np.flatnonzero(fraction == raised.cut.value)[:ties]
                money[at] += 1
                ties -= len(at)
            yield chunk, added, money

    def _count(self, raised: Raised) -> None:
        members = MemberSet()
        by_code = {code: [0, 0] for code in self.codes}
        for chunk, added, money in self.rises(raised):
            reached = np.unique(chunk["row_policy"][added > 0])
            raised.policies += len(reached)
            members.add(chunk["member_id"][reached])
            raised.sum_insured_added += int(added.sum())
            code = self.term_code[chunk["row_term"]]
            for i, name in enumerate(self.codes):
                rows = code == i
                by_code[name][0] += int(money[rows].sum())
                by_code[name][1] += int(added[rows].sum())
        raised.members = len(members)
        raised.by_code = by_code

    def reached(self, raised: Raised) -> Iterator[tuple[np.ndarray, ...]]:
        """Per range: (policy id, benefit id, money, sum insured added) of the rows the
        rise reached, for the close to write."""
        for chunk, added, money in self.rises(raised):
            keep = added > 0
            yield (chunk["policy_id"][chunk["row_policy"][keep]],
                   self.term_benefit_id[chunk["row_term"][keep]], money[keep], added[keep])


def _bin(fraction: np.ndarray) -> np.ndarray:
    return np.minimum((fraction * FRACTION_BINS).astype(np.int64), FRACTION_BINS - 1)
