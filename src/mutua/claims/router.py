"""HTTP routes under /api/v1/claims."""

from fastapi import APIRouter

router = APIRouter(prefix="/claims", tags=["claims"])
