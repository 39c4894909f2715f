"""Scale runs that print figures (never tests): `python -m benchmarks NAME --json`."""
