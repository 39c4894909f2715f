"""HTTP routes under /api/v1/settlement."""

from fastapi import APIRouter

router = APIRouter(prefix="/settlement", tags=["settlement"])
