"""The worked examples in docstrings hold (rules a reader learns from their examples)."""

import doctest

import pytest

from mutua import hooks
from mutua.claims import adjudication, ceilings
from mutua.claims import service as claims_service
from mutua.governance import tally
from mutua.health import rules
from mutua.web import qr
from mutua.web.pages import staff


@pytest.mark.parametrize("module", [adjudication, ceilings, claims_service, tally, rules, qr, staff,
                                    hooks],
                         ids=lambda m: m.__name__)
def test_the_examples_hold(module):
    assert doctest.testmod(module).failed == 0
