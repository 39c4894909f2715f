"""Quarterly close and surplus sharing (结余共享)."""
