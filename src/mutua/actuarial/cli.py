"""`mutua actuarial ...`: earned premium, IBNR and credibility from files, no database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import typer

from mutua.actuarial import credibility as cred
from mutua.actuarial import earned as earning
from mutua.actuarial import reserving, triangle
from mutua.dates import parse_date
from mutua.errors import ValidationFailed
from mutua.money import fmt, to_money

app = typer.Typer(help="Actuarial tools: earned premium, IBNR, credibility.", no_args_is_help=True)


def _read(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationFailed(field, f"cannot read {path}: {exc.strerror}") from None


def earned_report(premium: str, start: str, end: str) -> dict:
    rows = earning.earned_by_quarter(
        to_money(premium, field="premium"),
        parse_date(start, field="start"),
        parse_date(end, field="end"),
    )
    return {"quarters": [{"quarter": str(r.quarter), "earned": fmt(r.earned),
                          "unearned_at_end": fmt(r.unearned_at_end)} for r in rows]}


@app.command()
def earned(
    premium: str = typer.Option(..., help="Premium in yuan, e.g. 1200"),
    start: str = typer.Option(..., help="First day of cover, YYYY-MM-DD"),
    end: str = typer.Option(..., help="Last day of cover (inclusive), YYYY-MM-DD"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Earned premium per quarter and the unearned premium reserve (1/365 method)."""
    out = earned_report(premium, start, end)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for q in out["quarters"]:
        typer.echo(f"{q['quarter']}  earned {q['earned']:>12}  UPR {q['unearned_at_end']:>12}")


def _amount(x: float | None) -> str | None:
    return None if x is None else f"{x:.2f}"


def reserve_report(result: reserving.ReserveResult) -> dict:
    return {
        "method": result.method,
        "link_ratios": [round(f, 6) for f in result.link_ratios],
        "origins": [
            {"origin": o.origin, "latest": _amount(o.latest), "ultimate": _amount(o.ultimate),
             "ibnr": _amount(o.ibnr), "std_err": _amount(o.std_err)}
            for o in result.origins
        ],
        "total": {"ultimate": _amount(result.total_ultimate), "ibnr": _amount(result.total_ibnr),
                  "std_err": _amount(result.total_std_err)},
    }


def read_premiums(text: str) -> dict[str, float]:
    """CSV with header ``origin,premium``."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"origin", "premium"} <= set(reader.fieldnames):
        raise ValidationFailed("premium", "premium CSV header must be origin,premium")
    out = {}
    for r in reader:
        out[r["origin"].strip()] = float(to_money(r["premium"], field="premium"))
    return out


def parse_loss_ratio(value: str | None) -> float:
    if value is None:
        raise ValidationFailed("loss_ratio", "is required for Bornhuetter-Ferguson")
    try:
        lr = float(value)
    except ValueError:
        raise ValidationFailed("loss_ratio", f"must be a number, got {value!r}") from None
    if lr < 0:
        raise ValidationFailed("loss_ratio", "must not be negative")
    return lr


@app.command()
def ibnr(
    triangle_csv: Path = typer.Argument(..., help="Long-format cumulative CSV: origin,development,value"),
    method: str = typer.Option("chainladder", help="chainladder | bf"),
    premium: Path | None = typer.Option(None, help="CSV origin,premium (for bf)"),
    loss_ratio: str | None = typer.Option(None, help="A-priori loss ratio (for bf), e.g. 0.6"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """IBNR by chain ladder (with Mack's standard error) or Bornhuetter-Ferguson."""
    tri = triangle.read_csv(_read(triangle_csv, "triangle"))
    if method == "chainladder":
        result = reserving.chain_ladder(tri)
    elif method == "bf":
        lr = parse_loss_ratio(loss_ratio)
        if premium is None:
            raise ValidationFailed("premium", "a premium file is required for Bornhuetter-Ferguson")
        result = reserving.bornhuetter_ferguson(tri, read_premiums(_read(premium, "premium")), lr)
    else:
        raise ValidationFailed("method", "must be chainladder or bf")
    out = reserve_report(result)
    if as_json:
        typer.echo(json.dumps(out))
        return
    for o in out["origins"]:
        typer.echo(f"{o['origin']:>8}  ultimate {o['ultimate']:>14}  IBNR {o['ibnr']:>14}"
                   f"  s.e. {o['std_err'] or '-':>12}")
    t = out["total"]
    typer.echo(f"{'total':>8}  ultimate {t['ultimate']:>14}  IBNR {t['ibnr']:>14}"
               f"  s.e. {t['std_err'] or '-':>12}")


def read_credibility_csv(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Long CSV ``group,period,ratio,weight`` -> group labels, ratio and weight matrices."""
    reader = csv.DictReader(io.StringIO(text))
    need = {"group", "period", "ratio", "weight"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise ValidationFailed("file", "CSV header must be group,period,ratio,weight")
    rows = list(reader)
    groups = list(dict.fromkeys(r["group"].strip() for r in rows))
    periods = list(dict.fromkeys(r["period"].strip() for r in rows))
    gi = {g: i for i, g in enumerate(groups)}
    pi = {p: j for j, p in enumerate(periods)}
    x = np.full((len(groups), len(periods)), np.nan)
    w = np.full_like(x, np.nan)
    for r in rows:
        i, j = gi[r["group"].strip()], pi[r["period"].strip()]
        try:
            x[i, j], w[i, j] = float(r["ratio"]), float(r["weight"])
        except ValueError:
            raise ValidationFailed("file", f"ratio and weight must be numbers: {r}") from None
    return groups, x, w


@app.command()
def credibility(
    file: Path = typer.Argument(..., help="CSV group,period,ratio,weight"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Buhlmann-Straub credibility premiums per group."""
    groups, x, w = read_credibility_csv(_read(file, "file"))
    r = cred.buhlmann_straub(x, w)
    out = credibility_report(groups, r)
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"collective mean {out['collective_mean']}")
    for g in out["groups"]:
        typer.echo(f"{g['group']:>12}  Z {g['credibility']:.4f}  premium {g['premium']:.4f}")


def credibility_report(groups: list[str], r: cred.CredibilityResult) -> dict:
    return {
        "collective_mean": r.collective_mean,
        "within_variance": r.within_variance,
        "between_variance": r.between_variance,
        "groups": [
            {"group": g, "weight": float(r.weights[i]), "mean": float(r.individual_means[i]),
             "credibility": float(r.credibility[i]), "premium": float(r.premiums[i])}
            for i, g in enumerate(groups)
        ],
    }
