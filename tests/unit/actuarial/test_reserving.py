"""Chain ladder, Mack and Bornhuetter-Ferguson against published results.

RAA: the Reinsurance Association of America triangle shipped with R ChainLadder
(`RAA`) and chainladder-python (`raa.csv`). R ChainLadder `MackChainLadder(RAA,
est.sigma="Mack")` prints total IBNR 52,135 and Mack S.E. 26,909; DOMAIN.md quotes
52,135.23 and 26,909.01 (chainladder-python with sigma_interpolation="mack").

Taylor-Ashe: Taylor & Ashe (1983) as used by Mack (1993), ASTIN Bulletin 23(2), and
shipped with R ChainLadder as `GenIns` (incremental here, accumulated below).
`MackChainLadder(GenIns)` in the ChainLadder vignette prints total IBNR 18,680,856 and
Mack S.E. 2,447,095, and per-origin S.E. 75,535 ... 1,363,155.
"""

import itertools
import json

import pytest
from typer.testing import CliRunner

from mutua.actuarial import reserving, triangle
from mutua.actuarial.cli import app
from mutua.errors import ValidationFailed

RAA = [
    [5012, 8269, 10907, 11805, 13539, 16181, 18009, 18608, 18662, 18834],
    [106, 4285, 5396, 10666, 13782, 15599, 15496, 16169, 16704],
    [3410, 8992, 13873, 16141, 18735, 22214, 22863, 23466],
    [5655, 11555, 15766, 21266, 23425, 26083, 27067],
    [1092, 9565, 15836, 22169, 25955, 26180],
    [1513, 6445, 11702, 12935, 15852],
    [557, 4020, 10946, 12314],
    [1351, 6947, 13112],
    [3133, 5395],
    [2063],
]
GENINS_INCREMENTAL = [
    [357848, 766940, 610542, 482940, 527326, 574398, 146342, 139950, 227229, 67948],
    [352118, 884021, 933894, 1183289, 445745, 320996, 527804, 266172, 425046],
    [290507, 1001799, 926219, 1016654, 750816, 146923, 495992, 280405],
    [310608, 1108250, 776189, 1562400, 272482, 352053, 206286],
    [443160, 693190, 991983, 769488, 504851, 470639],
    [396132, 937085, 847498, 805037, 705960],
    [440832, 847631, 1131398, 1063269],
    [359480, 1061648, 1443370],
    [376686, 986608],
    [344014],
]
GENINS = [list(itertools.accumulate(r)) for r in GENINS_INCREMENTAL]
RAA_YEARS = [str(y) for y in range(1981, 1991)]


def test_raa_mack():
    r = reserving.chain_ladder(triangle.from_matrix(RAA, RAA_YEARS))
    assert round(r.total_ibnr, 2) == 52135.23
    assert round(r.total_std_err, 2) == 26909.01
    assert round(r.link_ratios[0], 3) == 2.999  # R ChainLadder: 2.999 8.920 ... (ata)


def test_taylor_ashe_mack():
    r = reserving.chain_ladder(triangle.from_matrix(GENINS))
    assert round(r.total_ibnr) == 18680856
    assert round(r.total_std_err) == 2447095
    assert [round(o.std_err) for o in r.origins[1:]] == [
        75535, 121699, 133549, 261406, 411010, 558317, 875328, 971258, 1363155]


def test_bf_equals_chain_ladder_when_the_prior_is_the_chain_ladder_ultimate():
    tri = triangle.from_matrix(RAA, RAA_YEARS)
    cl = reserving.chain_ladder(tri)
    premiums = {o.origin: o.ultimate for o in cl.origins}
    bf = reserving.bornhuetter_ferguson(tri, premiums, 1.0)
    for a, b in zip(cl.origins, bf.origins, strict=True):
        assert b.ibnr == pytest.approx(a.ibnr, rel=1e-9)


def test_bf_worked_example():
    # Two origins, link 1.5: the young origin has 1 - 1/1.5 = 1/3 still to come.
    tri = triangle.from_matrix([[100, 150], [80]], ["A", "B"])
    bf = reserving.bornhuetter_ferguson(tri, {"A": 200, "B": 300}, 0.6)
    assert bf.origins[0].ibnr == 0
    assert bf.origins[1].ibnr == pytest.approx(300 * 0.6 / 3)


def test_negative_loss_ratio_refused():
    tri = triangle.from_matrix([[100, 150], [80]], ["A", "B"])
    with pytest.raises(ValidationFailed) as e:
        reserving.bornhuetter_ferguson(tri, {"A": 1, "B": 1}, -0.1)
    assert e.value.problems[0].field == "loss_ratio"


def test_zero_premium_refused():
    tri = triangle.from_matrix([[100, 150], [80]], ["A", "B"])
    with pytest.raises(ValidationFailed, match="greater than zero"):
        reserving.bornhuetter_ferguson(tri, {"A": 1, "B": 0}, 0.5)


def test_hole_refused():
    cells = [("A", 0, 1), ("A", 2, 3), ("A", 1, 2), ("B", 0, 1), ("B", 2, 2)]
    with pytest.raises(ValidationFailed, match="hole"):
        triangle.from_cells(cells)


def test_incremental_triangle_refused():
    with pytest.raises(ValidationFailed, match="cumulative"):
        triangle.from_matrix(GENINS_INCREMENTAL)


def test_csv_header_and_duplicates():
    with pytest.raises(ValidationFailed, match="header"):
        triangle.read_csv("a,b,c\n1,2,3\n")
    with pytest.raises(ValidationFailed, match="twice"):
        triangle.read_csv("origin,development,value\nA,0,1\nA,0,2\n")


def _write(tmp_path, rows, name="tri.csv"):
    p = tmp_path / name
    lines = ["origin,development,value"] + [
        f"{RAA_YEARS[i]},{k},{v}" for i, row in enumerate(rows) for k, v in enumerate(row)]
    p.write_text("\n".join(lines))
    return p


def test_cli_chainladder_json(tmp_path):
    out = CliRunner().invoke(app, ["ibnr", str(_write(tmp_path, RAA)), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["total"] == {"ultimate": "213122.23", "ibnr": "52135.23", "std_err": "26909.01"}
    assert len(data["link_ratios"]) == 9 and data["origins"][0]["origin"] == "1981"


def test_cli_bf_json(tmp_path):
    prem = tmp_path / "p.csv"
    prem.write_text("origin,premium\n" + "\n".join(f"{y},20000" for y in RAA_YEARS))
    out = CliRunner().invoke(app, ["ibnr", str(_write(tmp_path, RAA)), "--method", "bf",
                                   "--premium", str(prem), "--loss-ratio", "0.8", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["origins"][0]["ibnr"] == "0.00"


def test_cli_bad_triangle(tmp_path):
    out = CliRunner().invoke(app, ["ibnr", str(_write(tmp_path, GENINS_INCREMENTAL))])
    assert isinstance(out.exception, ValidationFailed)
    out = CliRunner().invoke(app, ["ibnr", str(_write(tmp_path, RAA)), "--method", "bf",
                                   "--loss-ratio", "-1"])
    assert isinstance(out.exception, ValidationFailed)
