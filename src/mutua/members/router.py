"""HTTP routes under /api/v1/members."""

from fastapi import APIRouter

router = APIRouter(prefix="/members", tags=["members"])
