"""Tables of the actuarial domain."""
