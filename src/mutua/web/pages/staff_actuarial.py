"""Reserving (/staff/actuarial): a project's claims triangles and its IBNR (已发生未报案准备金).

The actuary picks a project, a valuation quarter and an a-priori loss ratio, and reads:

- the paid and incurred development triangles (accident quarter x development quarter), each
  with a chart and a CSV download;
- chain ladder on the incurred triangle (as the quarterly close books it): development
  factors, ultimate, IBNR and Mack's standard error per accident quarter and in total;
- Bornhuetter-Ferguson with the entered loss ratio and each quarter's earned premium.

Every number comes from the tested cores (mutua.actuarial.reserving, claims.triangle,
settlement.bf_premiums); this module only arranges them for reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import Query, Request
from starlette.responses import Response

from mutua.actuarial import reserving, triangle
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.dates import Quarter, today
from mutua.deps import DbSession, Router
from mutua.errors import NotFound, Problem, ValidationFailed
from mutua.money import round_fen
from mutua.settlement import service as settlement_service
from mutua.web import charts
from mutua.web.i18n import format_date
from mutua.web.i18n import gettext as _
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all
from mutua.web.render import N_, render

router = Router(prefix="/staff/actuarial")

MAX_LOSS_RATIO = Decimal(5)
# The rules this page's own form checks, as msgids (problems.describe translates them).
RULES = (N_("must be a number greater than 0 and at most 5, e.g. 0.65"),
         N_("must have at most two decimals"),
         N_("must not be after the current quarter"))


# --- reading the form ---------------------------------------------------------------------

def parse_loss_ratio(text: str) -> Decimal:
    """The a-priori loss ratio an actuary types: 0 < ratio <= 5, at most two decimals.

    >>> parse_loss_ratio(" 0.65 ")
    Decimal('0.65')
    """
    try:
        ratio = Decimal((text or "").strip())
    except InvalidOperation:
        raise ValidationFailed("loss_ratio", RULES[0]) from None
    if not ratio.is_finite() or not Decimal(0) < ratio <= MAX_LOSS_RATIO:
        raise ValidationFailed("loss_ratio", RULES[0])
    if ratio != ratio.quantize(Decimal("0.01")):
        raise ValidationFailed("loss_ratio", RULES[1])
    return ratio


def parse_quarter(text: str, *, now: date) -> Quarter:
    """A valuation quarter like 2026Q2, not later than the quarter ``now`` falls in."""
    q = Quarter.parse(text, field="quarter")
    if q.start > now:
        raise ValidationFailed("quarter", RULES[2])
    return q


def last_complete_quarter(now: date) -> Quarter:
    return Quarter.of(now).previous()


# --- arranging the numbers ------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A triangle as rows for a table: origins down, development quarters across."""

    origins: list[str]
    developments: list[int]
    rows: list[tuple[str, list[Decimal | None]]]

    @property
    def empty(self) -> bool:
        return not self.origins


def grid_of(cells: list[tuple[str, int, Decimal]]) -> Grid:
    origins = list(dict.fromkeys(o for o, _d, _v in cells))
    devs = sorted({d for _o, d, _v in cells})
    value = {(o, d): v for o, d, v in cells}
    return Grid(origins, devs, [(o, [value.get((o, d)) for d in devs]) for o in origins])


def estimate(x: float | None) -> Decimal | None:
    """An actuarial estimate (a float from the projection) shown as yuan to the fen."""
    return None if x is None else round_fen(Decimal(repr(x)))


def result_rows(result: reserving.ReserveResult) -> dict:
    return {
        "origins": [{"origin": o.origin, "latest": estimate(o.latest),
                     "ultimate": estimate(o.ultimate), "ibnr": estimate(o.ibnr),
                     "std_err": estimate(o.std_err)} for o in result.origins],
        "total": {"latest": estimate(sum(o.latest for o in result.origins)),
                  "ultimate": estimate(result.total_ultimate),
                  "ibnr": estimate(result.total_ibnr),
                  "std_err": estimate(result.total_std_err)},
        "factors": [(k, k + 1, Decimal(repr(f)).quantize(Decimal("0.0001")))
                    for k, f in enumerate(result.link_ratios)],
    }


def development_chart(grid: Grid, chart_id: str, title: str) -> dict:
    """Cumulative development per accident quarter, one line each."""
    series = {origin: values for origin, values in grid.rows}
    figure = charts.lines_figure(title, [str(d) for d in grid.developments], series, "¥")
    # development quarters are steps 0, 1, 2..., not a continuous scale
    figure["layout"]["xaxis"].update(type="category", title={"text": _("Development quarter")})
    # the legend of the accident quarters goes below the axis title
    figure["layout"]["legend"]["y"] = -0.35
    figure["layout"]["margin"]["b"] = 88
    return {"id": chart_id, "json": charts.to_json(figure), "label": title}


def reserves(db, *, project, as_of: date, loss_ratio: Decimal | None) -> dict:
    """Triangles, chain ladder and Bornhuetter-Ferguson for one project at ``as_of``."""
    paid = claims_service.triangle(db, project_id=project.id, basis="paid", as_of=as_of)
    incurred = claims_service.triangle(db, project_id=project.id, basis="incurred",
                                       as_of=as_of)
    out = {"paid": grid_of(paid), "incurred": grid_of(incurred), "chain_ladder": None,
           "bf": None, "too_little": None, "charts": []}
    if out["incurred"].empty:
        out["too_little"] = _("No claim has been reported in this project by %(day)s, so "
                              "there is nothing to project yet.", day=_day(as_of))
        return out
    out["charts"] = [
        development_chart(out["paid"], "chart-paid", _("Paid claims: cumulative development")),
        development_chart(out["incurred"], "chart-incurred",
                          _("Incurred claims: cumulative development"))]
    if len(out["incurred"].origins) < 2:
        out["too_little"] = _("Only one accident quarter of history so far: the chain ladder "
                              "needs at least two to estimate a development factor.")
        return out
    try:
        # Incurred amounts may fall when a case reserve is released, as at the close.
        tri = triangle.from_cells(((o, k, float(v)) for o, k, v in incurred),
                                  check_cumulative=False)
        out["chain_ladder"] = result_rows(reserving.chain_ladder(tri))
        if loss_ratio is not None:
            premiums = settlement_service.bf_premiums(db, project_id=project.id,
                                                      origins=tri.origins)
            bf = result_rows(reserving.bornhuetter_ferguson(tri, premiums, float(loss_ratio)))
            bf["premiums"] = {o: estimate(p) for o, p in premiums.items()}
            out["bf"] = bf
    except ValidationFailed as exc:
        out["too_little"] = _("The history cannot be projected yet: %(why)s",
                              why="; ".join(describe_all(exc)))
    return out


def _day(d: date) -> str:
    return format_date(d)


# --- the pages ----------------------------------------------------------------------------

@router.get("")
def reserving_page(request: Request, db: DbSession, principal: Principal = open_to("reserving"),
                   project: str = Query("", max_length=32),
                   quarter: str = Query("", max_length=16),
                   loss_ratio: str = Query("", max_length=16)):
    projects = catalog_service.list_projects(db)
    current = next((p for p in projects if p.code == project), projects[0] if projects else None)
    now = today()
    form = {"project": current.code if current else "",
            "quarter": quarter or str(last_complete_quarter(now)),
            "loss_ratio": loss_ratio or (f"{current.a_priori_loss_ratio:.2f}" if current else "")}
    problems: list[Problem] = []
    q = ratio = view = None
    if current is None:  # nothing to value yet
        return render(request, "staff/actuarial.html", projects=projects, current=None,
                      form=form, problems=[], view=None)
    try:
        q = parse_quarter(form["quarter"], now=now)
    except ValidationFailed as exc:
        problems += exc.problems
    try:
        ratio = parse_loss_ratio(form["loss_ratio"])
    except ValidationFailed as exc:
        problems += exc.problems
    if q is not None:
        as_of = min(q.end, now)
        view = reserves(db, project=current, as_of=as_of, loss_ratio=ratio)
        view["as_of"] = as_of
    shown = describe_all(ValidationFailed(problems)) if problems else []
    return render(request, "staff/actuarial.html", status_code=422 if problems else 200,
                  projects=projects, current=current, form=form, problems=shown, view=view,
                  uses_charts=bool(view and view["charts"]))


@router.get("/triangle.csv")
def triangle_csv(db: DbSession, principal: Principal = open_to("reserving"),
                 project: str = Query(..., max_length=32),
                 basis: str = Query("paid", pattern="^(paid|incurred)$", max_length=8),
                 quarter: str = Query(..., max_length=16)):
    """One triangle in the long format ``mutua actuarial ibnr`` reads."""
    try:
        item = catalog_service.get_project(db, code=project)
    except NotFound:
        raise ValidationFailed("project", "choose one of the projects") from None
    now = today()
    q = parse_quarter(quarter, now=now)
    cells = claims_service.triangle(db, project_id=item.id, basis=basis, as_of=min(q.end, now))
    name = f"{item.code}-{basis}-{q}.csv"
    return Response(claims_service.triangle_csv(cells), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
