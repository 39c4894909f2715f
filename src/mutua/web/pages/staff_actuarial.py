"""Staff pages under /staff/actuarial (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/staff/actuarial")
