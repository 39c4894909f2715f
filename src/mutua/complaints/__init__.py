"""Complaints (投诉): filed by members, owned by staff, answered within the time allowed."""
