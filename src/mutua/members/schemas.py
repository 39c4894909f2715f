"""Request and response shapes for members."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class MemberIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(max_length=40,
                           description="18-character resident ID number (GB 11643)")
    phone: str = Field(max_length=30)
    occupation_code: str = Field(max_length=12)
    city: str = Field(min_length=1, max_length=40)
    password: str | None = Field(default=None, min_length=8, max_length=128,
                                 description="creates a member login if given")


class MemberOut(BaseModel):
    id: int
    member_number: str
    name: str
    id_number: str  # masked unless the caller's role needs it
    birth_date: date
    sex: str
    phone: str
    occupation_code: str
    occupation_class: int
    city: str
    status: str


class IdCheck(BaseModel):
    valid: bool
    reason: str | None
    birth_date: date | None
    sex: str | None


class OccupationOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    occupation_class: int
