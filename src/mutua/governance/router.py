"""HTTP routes under /api/v1/governance."""

from fastapi import APIRouter

router = APIRouter(prefix="/governance", tags=["governance"])
