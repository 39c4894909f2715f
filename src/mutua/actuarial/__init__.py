"""Actuarial tools: earned premium, IBNR, credibility."""
