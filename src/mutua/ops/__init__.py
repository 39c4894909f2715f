"""Operator commands: schema, serving, the demo."""
