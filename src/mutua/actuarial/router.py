"""HTTP routes under /api/v1/actuarial: the pure tools, for actuaries and finance."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, Field

from mutua.actuarial import cli as tools
from mutua.actuarial import credibility as cred
from mutua.actuarial import reserving, triangle
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import Router, allow
from mutua.errors import ValidationFailed

router = Router(prefix="/actuarial", tags=["actuarial"])
Actuary = Annotated[Principal, Depends(allow(Role.ACTUARY, Role.FINANCE))]


# Figures an actuary types into these tools: large enough for any pool, small enough that
# no sum of them overflows.
FIGURE = 1e15
Figure = Annotated[float, Field(ge=-FIGURE, le=FIGURE)]


class EarnedIn(BaseModel):
    premium: str = Field(max_length=40)
    start: str = Field(max_length=40)
    end: str = Field(max_length=40)


class Cell(BaseModel):
    origin: str = Field(max_length=16)
    development: str = Field(max_length=16)
    value: Figure


class IbnrIn(BaseModel):
    cells: list[Cell] = Field(max_length=10_000)  # 100 origins by 100 developments
    method: str = Field(default="chainladder", max_length=16)
    premiums: dict[Annotated[str, Field(max_length=16)], Figure] | None = Field(
        default=None, max_length=100)
    loss_ratio: str | None = Field(default=None, max_length=20)


class Observation(BaseModel):
    group: str = Field(max_length=60)
    period: str = Field(max_length=20)
    ratio: Figure
    weight: Annotated[float, Field(ge=0, le=FIGURE)]


class CredibilityIn(BaseModel):
    observations: list[Observation] = Field(max_length=100_000)


@router.post("/earned")
def earned(body: EarnedIn, _: Actuary) -> dict:
    return tools.earned_report(body.premium, body.start, body.end)


@router.post("/ibnr")
def ibnr(body: IbnrIn, _: Actuary) -> dict:
    tri = triangle.from_cells((c.origin, c.development, c.value) for c in body.cells)
    if body.method == "chainladder":
        return tools.reserve_report(reserving.chain_ladder(tri))
    if body.method == "bf":
        lr = tools.parse_loss_ratio(body.loss_ratio)
        return tools.reserve_report(reserving.bornhuetter_ferguson(tri, body.premiums or {}, lr))
    raise ValidationFailed("method", "must be chainladder or bf")


@router.post("/credibility")
def credibility(body: CredibilityIn, _: Actuary) -> dict:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["group", "period", "ratio", "weight"])
    for o in body.observations:
        w.writerow([o.group, o.period, o.ratio, o.weight])
    groups, x, wt = tools.read_credibility_csv(buf.getvalue())
    return tools.credibility_report(groups, cred.buhlmann_straub(x, wt))
