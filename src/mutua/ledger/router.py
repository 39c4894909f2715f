"""HTTP routes under /api/v1/ledger."""

from fastapi import APIRouter

router = APIRouter(prefix="/ledger", tags=["ledger"])
