"""Kidney-disease monitoring: eGFR, staging, risk, alerts."""
