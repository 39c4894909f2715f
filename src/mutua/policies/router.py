"""HTTP routes under /api/v1/policies."""

from fastapi import APIRouter

router = APIRouter(prefix="/policies", tags=["policies"])
