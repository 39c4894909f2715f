"""Scale runs that print figures (never tests): `python -m benchmarks NAME --json`."""

import os
import secrets

# The app refuses to sign with no key: a benchmark run makes its own, which the servers it
# starts inherit.
os.environ.setdefault("MUTUA_SECRET_KEY", secrets.token_urlsafe(48))
