"""Which documents a claim on each kind of benefit needs (理赔材料清单).

Catalogue data: the checklist a handler works through and the member is shown when they
report, one list per benefit kind. A claim needs the union of its items' lists. The lists
follow what Chinese accident and health claims usually ask for (证明材料): proof of the
event and its cost, proof of who is paid (bank card), and for a death the death
certificate; a kind not listed needs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "accidental_death": ("death_certificate", "police_report", "id_card", "bank_card"),
    "sudden_death": ("death_certificate", "medical_record", "id_card", "bank_card"),
    "disability": ("disability_assessment", "medical_record", "id_card", "bank_card"),
    "accidental_medical": ("invoice", "medical_record", "bank_card"),
    "hospital_allowance": ("discharge_summary", "bank_card"),
    "ckd_hospital_cash": ("discharge_summary", "bank_card"),
    "dialysis_allowance": ("medical_record", "bank_card"),
    "ckd_progression": ("medical_record", "bank_card"),
    "dialysis_start": ("medical_record", "bank_card"),
    "transplant": ("discharge_summary", "medical_record", "bank_card"),
}


def required_for(benefit_kinds: Iterable[str]) -> tuple[str, ...]:
    """The documents a claim on these benefit kinds needs, each once, in checklist order.

    >>> required_for(["accidental_medical", "hospital_allowance"])
    ('invoice', 'medical_record', 'bank_card', 'discharge_summary')
    >>> required_for(["unknown_kind"])
    ()
    """
    kinds = [d for k in benefit_kinds for d in REQUIRED_BY_KIND.get(k, ())]
    return tuple(dict.fromkeys(kinds))


def missing(benefit_kinds: Iterable[str], uploaded: Iterable[str]) -> tuple[str, ...]:
    """The required documents not among the uploaded kinds.

    >>> missing(["accidental_medical"], ["invoice", "other"])
    ('medical_record', 'bank_card')
    """
    have = set(uploaded)
    return tuple(d for d in required_for(benefit_kinds) if d not in have)
