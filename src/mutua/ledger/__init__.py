"""Per-project double-entry books (账本)."""
