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
    """A member as the caller may see them (the API's answer; the fields an API client reads
    are described here, in the OpenAPI document)."""

    id: int
    member_number: str = Field(description="the member's number, printed on every policy")
    name: str
    id_number: str = Field(description="resident ID number (GB 11643); masked, e.g. "
                                       "4403**********1234, unless the caller is the member "
                                       "or a role that needs it in full")
    birth_date: date = Field(description="from the ID number")
    sex: str = Field(description='"F" or "M", from the ID number')
    phone: str = Field(description="E.164, e.g. +8613800138000; masked as the ID number is")
    occupation_code: str = Field(description="code in the occupation table "
                                             "(GET /api/v1/members/occupations)")
    occupation_class: int = Field(ge=1, le=6, description="risk class 1 to 6 of that code; "
                                  "with the age, it picks the coefficient for the sum insured")
    city: str
    status: str = Field(description='"active", or "closed" once the member closed the account')


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
