"""HTTP routes under /api/v1/catalog."""

from fastapi import APIRouter

router = APIRouter(prefix="/catalog", tags=["catalog"])
