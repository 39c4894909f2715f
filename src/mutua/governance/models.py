"""Tables of the governance domain."""
