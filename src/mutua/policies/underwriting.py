"""What enrolment asks of a member's health to underwrite a kidney product (核保).

The answers are health's (the member's stored lab results), and health sits above policies
because it reads who holds a kidney policy; so policies asks through these readers, which
mutua/wiring.py joins to health.underwriting's functions.
"""

from __future__ import annotations

from mutua.hooks import Reader

# (db, *, member_id, on) -> policies.domain.KidneyLabs: the latest creatinine and ACR.
kidney_labs = Reader("a member's recent kidney labs")
# (db, *, member_id, product, on) -> the stage ("G3a"), or ValidationFailed naming the rule.
underwrite = Reader("kidney underwriting on a member's labs")
