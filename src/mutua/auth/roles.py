"""Roles. Staff act by role; a member acts only on their own records."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    UNDERWRITER = "underwriter"
    CLAIMS = "claims"
    FINANCE = "finance"
    ACTUARY = "actuary"
    CARE = "care"  # care coordinator (kidney monitoring)
    SECRETARY = "secretary"  # runs proposals and meetings
    MEMBER = "member"


STAFF_ROLES = frozenset(r for r in Role if r is not Role.MEMBER)
