"""HTTP routes under /api/v1/health."""

from fastapi import APIRouter

router = APIRouter(prefix="/health", tags=["health"])
