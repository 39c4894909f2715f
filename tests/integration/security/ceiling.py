"""Run a hostile case in a child process with a ceiling on its memory.

A regression in a bound (a triangle to 9999, a zip bomb read whole) would otherwise take
the memory of the machine the tests share; under ``resource.setrlimit(RLIMIT_AS)`` it takes
only the child's, which fails with MemoryError, and so fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MIB = 1024 * 1024
ROOT = Path(__file__).parents[3]  # the checkout: the child imports tests.* from it


def under_ceiling(code: str, *, memory_bytes: int, timeout: int = 600) -> subprocess.CompletedProcess:
    prelude = ("import resource\n"
               f"resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes}))\n")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)
