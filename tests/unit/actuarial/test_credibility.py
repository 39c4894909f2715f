"""Buhlmann-Straub against the Hachemeister (1975) data shipped with R package actuar.

Expected values follow actuar's `bstraub(..., method = "unbiased")` (R/bstraub.R:
s^2 over ntotal - ncontracts, the unbiased between variance, a credibility-weighted
collective mean). The within variance 136,793,600.7, the between variance 100,301.9 and
the state means 2070.336, 1510.944, 1606.249, 1356.491, 1605.640 agree with independent
reproductions of the Hachemeister fit.
"""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mutua.actuarial.cli import app
from mutua.actuarial.credibility import buhlmann_straub
from mutua.errors import ValidationFailed

RATIOS = np.array([
    [1738, 1642, 1794, 2051, 2079, 2234, 2032, 2035, 2115, 2262, 2267, 2517],
    [1364, 1408, 1597, 1444, 1342, 1675, 1470, 1448, 1464, 1831, 1612, 1471],
    [1759, 1685, 1479, 1763, 1674, 1517, 1448, 1464, 1634, 1519, 1656, 1657],
    [1223, 1146, 1010, 1247, 1492, 1290, 1332, 1349, 1393, 1396, 1677, 1716],
    [1456, 1499, 1609, 1741, 1482, 1572, 1606, 1573, 1613, 1741, 1659, 1685],
], dtype=float)
WEIGHTS = np.array([
    [7861, 9251, 8706, 8792, 9593, 9077, 9470, 9364, 8742, 8921, 9145, 9800],
    [1622, 1742, 1523, 1515, 1622, 1602, 1764, 1861, 1698, 1765, 1721, 1765],
    [2592, 2466, 2321, 2127, 2122, 2339, 2291, 2145, 2289, 2203, 2219, 2419],
    [802, 900, 774, 836, 801, 796, 936, 814, 828, 805, 813, 854],
    [2755, 2668, 2910, 3097, 3295, 2976, 3197, 3198, 2976, 3070, 3089, 3481],
], dtype=float)


def test_hachemeister():
    r = buhlmann_straub(RATIOS, WEIGHTS)
    assert r.within_variance == pytest.approx(136793600.7, abs=0.1)
    assert r.between_variance == pytest.approx(100301.9, abs=0.1)
    assert np.round(r.individual_means, 3).tolist() == [
        2070.336, 1510.944, 1606.249, 1356.491, 1605.640]
    # Z = w / (w + s^2/a) with s^2/a = 1363.818
    assert r.credibility[0] == pytest.approx(108722 / (108722 + 1363.818), rel=1e-6)
    assert r.collective_mean == pytest.approx(
        (r.credibility * r.individual_means).sum() / r.credibility.sum())
    assert np.round(r.premiums, 2).tolist() == [2064.98, 1518.97, 1607.74, 1390.37, 1606.79]


def test_missing_periods_are_nan():
    x, w = RATIOS.copy(), WEIGHTS.copy()
    x[4, 11] = w[4, 11] = np.nan
    r = buhlmann_straub(x, w)
    assert r.weights[4] == WEIGHTS[4, :11].sum()


def test_no_heterogeneity_gives_the_collective_mean():
    x = np.array([[1.0, 1.0], [1.0, 1.0]])
    r = buhlmann_straub(x, np.ones((2, 2)))
    assert r.credibility.tolist() == [0, 0] and r.premiums.tolist() == [1.0, 1.0]


def test_bad_input():
    with pytest.raises(ValidationFailed):
        buhlmann_straub(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValidationFailed):
        buhlmann_straub(np.ones((2, 2)), -np.ones((2, 2)))
    with pytest.raises(ValidationFailed):
        buhlmann_straub(np.ones((1, 3)), np.ones((1, 3)))


def test_cli(tmp_path):
    p = tmp_path / "c.csv"
    lines = ["group,period,ratio,weight"] + [
        f"state{i + 1},{j + 1},{RATIOS[i, j]},{WEIGHTS[i, j]}" for i in range(5) for j in range(12)]
    p.write_text("\n".join(lines))
    out = CliRunner().invoke(app, ["credibility", str(p), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["groups"][0]["group"] == "state1"
    assert round(data["groups"][0]["premium"], 2) == 2064.98
