"""Tables of the health domain."""
