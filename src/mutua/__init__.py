"""mutua: an operating platform for mutual insurers (相互保险社)."""

__version__ = "0.1.0"
