"""The document checklist per benefit kind: complete, and named in the upload kinds."""

from __future__ import annotations

import doctest

from mutua.catalog import claim_documents
from mutua.catalog.benefit_kinds import BENEFIT_KINDS
from mutua.claims.documents import KINDS as UPLOAD_KINDS


def test_the_doctests_hold():
    assert doctest.testmod(claim_documents).failed == 0


def test_every_benefit_kind_has_a_checklist_of_kinds_a_member_can_upload():
    assert set(claim_documents.REQUIRED_BY_KIND) == set(BENEFIT_KINDS)
    for kind, needed in claim_documents.REQUIRED_BY_KIND.items():
        assert needed, kind
        assert set(needed) <= set(UPLOAD_KINDS), kind
        assert "bank_card" in needed  # whoever is paid, the money goes to a named account


def test_a_claim_needs_the_union_of_its_items_lists_once_each():
    both = claim_documents.required_for(["accidental_death", "disability"])
    assert len(both) == len(set(both))
    assert set(both) == (set(claim_documents.REQUIRED_BY_KIND["accidental_death"])
                         | set(claim_documents.REQUIRED_BY_KIND["disability"]))
    assert claim_documents.missing(["disability"], list(both)) == ()
