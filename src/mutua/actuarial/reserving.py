"""IBNR (已发生未报案准备金) by chain ladder with Mack's standard error, and by
Bornhuetter-Ferguson from an a-priori loss ratio.

Chinese reserving rules ask for two methods; the close computes both and books the one
the project's reserving policy names.

Chain ladder (volume weighted): f_k = sum_i C[i,k+1] / sum_i C[i,k] over origins that
know both cells. Mack (1993), "Distribution-free calculation of the standard error of
chain ladder reserve estimates", ASTIN Bulletin 23(2): sigma_k^2 from the weighted
spread of the individual link ratios, the last sigma by Mack's rule
min(sigma_{n-2}^4 / sigma_{n-3}^2, sigma_{n-3}^2, sigma_{n-2}^2).

Bornhuetter-Ferguson: IBNR_i = premium_i x loss ratio x (1 - 1 / CDF_i), with CDF_i the
product of the chain-ladder link ratios still to come for origin i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mutua.actuarial.triangle import Triangle
from mutua.errors import ValidationFailed


@dataclass(frozen=True)
class OriginReserve:
    origin: str
    latest: float
    ultimate: float
    ibnr: float
    std_err: float | None


@dataclass(frozen=True)
class ReserveResult:
    method: str
    link_ratios: list[float]
    sigmas: list[float]  # sigma_k^2 of Mack (chain ladder only)
    origins: list[OriginReserve]
    total_std_err: float | None

    @property
    def total_ultimate(self) -> float:
        return sum(o.ultimate for o in self.origins)

    @property
    def total_ibnr(self) -> float:
        return sum(o.ibnr for o in self.origins)


def link_ratios(tri: Triangle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volume-weighted link ratios f, Mack's sigma^2 and the denominators S_k."""
    c = tri.values
    n = c.shape[1]
    f = np.ones(max(n - 1, 0))
    s2 = np.zeros(max(n - 1, 0))
    denom = np.zeros(max(n - 1, 0))
    pairs = np.zeros(max(n - 1, 0), dtype=int)
    for k in range(n - 1):
        both = ~np.isnan(c[:, k]) & ~np.isnan(c[:, k + 1])
        pairs[k] = both.sum()
        denom[k] = c[both, k].sum()
        if pairs[k] and denom[k] > 0:
            f[k] = c[both, k + 1].sum() / denom[k]
        if pairs[k] > 1:
            base = c[both, k]
            ok = base > 0
            indiv = c[both, k + 1][ok] / base[ok]
            s2[k] = (base[ok] * (indiv - f[k]) ** 2).sum() / (pairs[k] - 1)
    for k in range(n - 1):
        if pairs[k] <= 1:  # Mack's rule for a link seen once
            s2[k] = _mack_last_sigma(s2, k)
    return f, s2, denom


def _mack_last_sigma(s2: np.ndarray, k: int) -> float:
    if k < 2:
        return 0.0
    a, b = s2[k - 2], s2[k - 1]
    return float(min(b * b / a, a, b)) if a > 0 else float(min(a, b))


def chain_ladder(tri: Triangle) -> ReserveResult:
    """Ultimates, IBNR and Mack standard errors per origin and in total."""
    f, s2, denom = link_ratios(tri)
    c = tri.values
    n_orig, n = c.shape
    a = tri.latest_index
    full = c.copy()
    for i in range(n_orig):
        for k in range(a[i], n - 1):
            full[i, k + 1] = full[i, k] * f[k]
    ult = full[:, -1]
    latest = tri.latest
    mse = np.zeros(n_orig)
    ratio = np.divide(s2, f**2, out=np.zeros_like(s2), where=f > 0)
    for i in range(n_orig):
        for k in range(a[i], n - 1):
            if full[i, k] > 0 and denom[k] > 0:
                mse[i] += ratio[k] * (1 / full[i, k] + 1 / denom[k])
        mse[i] *= ult[i] ** 2
    total_mse = mse.sum()
    for i in range(n_orig):
        younger = ult[i + 1 :].sum()
        cross = sum(
            2 * ratio[k] / denom[k] for k in range(a[i], n - 1) if denom[k] > 0
        )
        total_mse += ult[i] * younger * cross
    origins = [
        OriginReserve(tri.origins[i], float(latest[i]), float(ult[i]),
                      float(ult[i] - latest[i]), math.sqrt(max(mse[i], 0.0)))
        for i in range(n_orig)
    ]
    return ReserveResult("chainladder", f.tolist(), s2.tolist(), origins,
                         math.sqrt(max(total_mse, 0.0)))


def bornhuetter_ferguson(
    tri: Triangle, premiums: dict[str, float], loss_ratio: float
) -> ReserveResult:
    """BF reserves from each origin's premium and an a-priori loss ratio."""
    if not math.isfinite(loss_ratio) or loss_ratio < 0:
        raise ValidationFailed("loss_ratio", "must be a number >= 0")
    missing = [o for o in tri.origins if o not in premiums]
    if missing:
        raise ValidationFailed("premium", "no premium for origin %(origin)s", origin=missing[0])
    for o in tri.origins:
        if premiums[o] <= 0:
            raise ValidationFailed("premium", "premium of origin %(origin)s must be greater "
                                              "than zero", origin=o)
    f, _s2, _d = link_ratios(tri)
    cdf_from = np.append(np.cumprod(f[::-1])[::-1], 1.0)  # CDF from development k to ultimate
    out = []
    for i, o in enumerate(tri.origins):
        k = int(tri.latest_index[i])
        cdf = float(cdf_from[k])
        ibnr = premiums[o] * loss_ratio * (1 - 1 / cdf) if cdf > 0 else 0.0
        latest = float(tri.latest[i])
        out.append(OriginReserve(o, latest, latest + ibnr, ibnr, None))
    return ReserveResult("bf", f.tolist(), [], out, None)
