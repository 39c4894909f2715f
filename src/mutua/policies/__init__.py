"""Enrolment and policies (保单)."""
