"""HTTP routes under /api/v1/actuarial."""

from fastapi import APIRouter

router = APIRouter(prefix="/actuarial", tags=["actuarial"])
