"""Staff pages under /staff/finance (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/staff/finance")
