"""Staff pages under /staff/meetings (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/staff/meetings")
