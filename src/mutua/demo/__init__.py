"""The synthetic mutual that `mutua demo` builds."""
