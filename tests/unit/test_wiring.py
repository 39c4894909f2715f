"""Every hook a lower package declares (mutua/hooks.py) is joined by mutua/wiring.py, and
every process that runs use cases imports mutua.wiring."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import mutua
from mutua import wiring  # noqa: F401
from mutua.hooks import Hook, Reader


def _declared() -> dict[str, Hook | Reader]:
    found = {}
    for info in pkgutil.walk_packages(mutua.__path__, "mutua."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Hook | Reader) and not name.startswith("_"):
                found[f"{info.name}.{name}"] = value
    return found


def test_every_hook_is_joined():
    declared = _declared()
    assert declared, "no hook found: the walk is broken"
    assert not [name for name, hook in declared.items() if not hook.joined]


@pytest.mark.parametrize("assembly", ["mutua.web.app", "mutua.cli", "mutua.jobs.kinds"])
def test_each_assembly_joins_the_hooks(assembly):
    code = f"import sys, {assembly}; sys.exit(0 if 'mutua.wiring' in sys.modules else 1)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
