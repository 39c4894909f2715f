"""Tables of the claims domain."""
