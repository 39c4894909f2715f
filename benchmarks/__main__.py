"""`python -m benchmarks NAME [args]`: run benchmarks/NAME.py's main(argv); scale runs, not tests."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from mutua import wiring  # noqa: F401  (joins the domains' hooks before any use case runs)


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m benchmarks NAME [args]   (NAME: " + ", ".join(names()) + ")")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names():
        print(f"unknown benchmark {name!r}; choose from {', '.join(names())}", file=sys.stderr)
        return 2
    return importlib.import_module(f"benchmarks.{name}").main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
