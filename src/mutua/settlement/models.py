"""Tables of the settlement domain."""
