"""Server-rendered pages for members and staff (filled in by the web issue)."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the page routes on the app."""
