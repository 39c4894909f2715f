"""Buhlmann-Straub credibility (信度理论), computed as R package actuar's ``bstraub``
does with its default unbiased estimator of the between-group variance.

For groups i with ratios X_ij and weights w_ij over periods j:

- w_i = sum_j w_ij, X_iw = sum_j w_ij X_ij / w_i, X_ww = sum_i w_i X_iw / w
- s^2 = sum_ij w_ij (X_ij - X_iw)^2 / sum_i (n_i - 1)            (within groups)
- a = c (sum_i w_i (X_iw - X_ww)^2 - (I - 1) s^2), c = w / (w^2 - sum_i w_i^2)
- Z_i = w_i / (w_i + s^2 / a)
- collective mean = sum_i Z_i X_iw / sum_i Z_i
- premium_i = collective mean + Z_i (X_iw - collective mean)

A non-positive ``a`` means no visible difference between groups: every Z_i is 0 and each
group's premium is the collective mean (actuar does the same).

The governance domain uses it to recalibrate coefficient tables: groups are cells of a
table, periods are quarters, ratios are loss ratios and weights earned premium.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mutua.errors import ValidationFailed


@dataclass(frozen=True)
class CredibilityResult:
    collective_mean: float
    credibility: np.ndarray  # Z_i per group
    premiums: np.ndarray  # credibility premium per group
    individual_means: np.ndarray  # X_iw
    weights: np.ndarray  # w_i
    within_variance: float  # s^2
    between_variance: float  # a


def buhlmann_straub(ratios: np.ndarray, weights: np.ndarray) -> CredibilityResult:
    """Fit the model; ``ratios`` and ``weights`` are groups x periods, NaN where missing."""
    x = np.asarray(ratios, dtype=float)
    w = np.asarray(weights, dtype=float)
    if x.ndim != 2 or x.shape != w.shape:
        raise ValidationFailed("ratios", "ratios and weights must be 2-D arrays of one shape")
    seen = ~np.isnan(x) & ~np.isnan(w)
    if (w[seen] < 0).any():
        raise ValidationFailed("weight", "must not be negative")
    w = np.where(seen, w, 0.0)
    x = np.where(seen, x, 0.0)
    seen &= w > 0
    n_i = seen.sum(axis=1)
    groups = int((n_i > 0).sum())  # a group with no data gets the collective mean
    if groups < 2:
        raise ValidationFailed("ratios", "needs at least two groups with data")
    if n_i.sum() - groups == 0:
        raise ValidationFailed("ratios", "needs a group observed in two periods or more")
    w_i = w.sum(axis=1)
    w_tot = w_i.sum()
    x_iw = np.divide((w * x).sum(axis=1), w_i, out=np.zeros_like(w_i), where=w_i > 0)
    x_ww = (w_i * x_iw).sum() / w_tot
    s2 = float((w * (x - x_iw[:, None]) ** 2)[seen].sum() / (n_i.sum() - groups))
    c = w_tot / (w_tot**2 - (w_i**2).sum())
    a = float(c * ((w_i * (x_iw - x_ww) ** 2).sum() - (groups - 1) * s2))
    if a > 0:
        z = w_i / (w_i + s2 / a)
        mean = float((z * x_iw).sum() / z.sum())
    else:
        z = np.zeros_like(w_i)
        mean = float(x_ww)
    premiums = mean + z * (x_iw - mean)
    return CredibilityResult(mean, z, premiums, x_iw, w_i, s2, a)
