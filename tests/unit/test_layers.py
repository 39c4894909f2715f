"""The domain packages stand in layers: a package's core (all but its edges: ``router``,
``cli``, ``demo``, and the jobs' ``kinds``) imports only the kernel (top-level modules of ``mutua``) and
packages below it. docs/architecture.md draws the layers.

The back-edges still in the code are listed in ``KNOWN`` with why they are there. The test
fails on a new back-edge, and on a listed one that is gone (strike it from the list), so the
list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import mutua

SRC = Path(mutua.__file__).parent

# From the bottom up; operations, jobs, the demo and the web sit above every domain.
LAYERS = [
    "actuarial", "audit", "messaging", "payments", "auth", "catalog", "ledger", "members", "notify",
    "policies", "premiums", "health", "claims", "reinsurance", "settlement", "governance",
    "complaints", "privacy", "ops", "jobs", "demo", "web",
]
# Edges meet the outside (HTTP, the command line, the demo data) and may call any domain;
# jobs/kinds.py is the jobs' edge: it names the work of every domain a job can run.
EDGES = {"router", "cli", "demo", "kinds"}  # and any <name>_router or <name>_cli

# (importing package, imported package): why it is still there. None today: a lower package
# that needs a step of a higher one declares a hook (mutua/hooks.py, joined in mutua/wiring.py).
KNOWN: dict[tuple[str, str], str] = {}


def _is_edge(stem: str) -> bool:
    return stem in EDGES or stem.endswith(("_router", "_cli"))


def _package(parts: tuple[str, ...]) -> str | None:
    return parts[0] if len(parts) > 1 and (SRC / parts[0]).is_dir() else None


def back_edges() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        package = _package(parts)
        if package is None or package == "migrations" or _is_edge(path.stem):
            continue
        level = LAYERS.index(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                bits = tuple(name.split("."))
                if bits[0] != "mutua":
                    continue
                target = _package(bits[1:] + ("",))
                if target and target != package and LAYERS.index(target) > level:
                    found[(package, target)].append(f"{'/'.join(parts)}.py:{node.lineno}")
    return dict(found)


def test_every_package_has_a_layer():
    packages = {p.name for p in SRC.iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name != "migrations"}
    assert packages <= set(LAYERS), f"place these in LAYERS: {sorted(packages - set(LAYERS))}"


def test_no_new_import_runs_up_the_layers():
    found = back_edges()
    new = {edge: where for edge, where in found.items() if edge not in KNOWN}
    assert not new, f"imports that run up the layers (move the code, or pass it in): {new}"


def test_the_known_back_edges_are_still_there():
    gone = set(KNOWN) - set(back_edges())
    assert not gone, f"no longer imported: strike from KNOWN {sorted(gone)}"

