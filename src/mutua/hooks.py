"""Calls a lower package makes into a package above it, which it may not import (the layers,
docs/architecture.md "The import graph"): the lower package declares the hook where its use
case needs it, and mutua/wiring.py joins the upper package's function to it. Every process
that runs use cases (the web app, the jobs, the command line, the tests) imports
mutua.wiring first.

A hook is called in the caller's transaction, so what the upper package writes commits or
rolls back with the use case. Calling a hook that nothing is joined to raises: a project
without its books, or a claim decided without its reinsurance recoveries, is a defect to
see at once, not a silence.

>>> decided = Hook("a claim is decided")
>>> seen = []
>>> _ = decided.join(seen.append)
>>> decided(7)
>>> seen
[7]
>>> labs = Reader("a member's recent labs")
>>> labs(1)
Traceback (most recent call last):
...
RuntimeError: nothing is joined to "a member's recent labs": import mutua.wiring first
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _Joint:
    def __init__(self, moment: str):
        self.moment = moment
        self.joined: list[Callable[..., Any]] = []

    def join(self, call: Callable[..., Any]) -> Callable[..., Any]:
        if call not in self.joined:
            self.joined.append(call)
        return call

    def _calls(self) -> list[Callable[..., Any]]:
        if not self.joined:
            raise RuntimeError(f"nothing is joined to {self.moment!r}: import mutua.wiring first")
        return self.joined


class Hook(_Joint):
    """A moment of a use case that packages above act on: every joined call is made, in
    the order joined."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        for call in self._calls():
            call(*args, **kwargs)


class Reader(_Joint):
    """A question a lower package asks, answered by the one package above that owns the
    answer (joined once)."""

    def join(self, call: Callable[..., Any]) -> Callable[..., Any]:
        if self.joined and call not in self.joined:
            raise RuntimeError(f"{self.moment!r} is answered by {self.joined[0]!r} already")
        return super().join(call)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._calls()[0](*args, **kwargs)
