"""The production password hash cost, which tests/conftest.py lowers for the test process only.

RFC 9106 section 4 recommends Argon2id with t=3 iterations, m=64 MiB and p=4 lanes when
memory is constrained (its second option); argon2-cffi's defaults are that option.
"""

import subprocess
import sys

from argon2 import extract_parameters

PROGRAM = "from mutua.auth import security; print(security.hash_password('a long pass phrase'))"


def test_the_server_hashes_passwords_at_the_rfc_9106_cost():
    # A fresh interpreter: this one runs with the cheap hasher the test conftest installs.
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         check=True).stdout.strip()
    params = extract_parameters(out)
    assert out.startswith("$argon2id$")
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
