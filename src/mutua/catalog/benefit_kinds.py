"""The kinds of benefit a product may carry: one home for the catalogue's checks and the
claims rules, so a new kind is added once.
"""

BENEFIT_KINDS = (
    "accidental_death", "disability", "accidental_medical", "sudden_death",
    "hospital_allowance", "ckd_progression", "dialysis_start", "ckd_hospital_cash",
    "dialysis_allowance", "transplant",
)
# Benefits paid per day (sum insured = daily amount x max days).
DAILY_KINDS = frozenset({"hospital_allowance", "ckd_hospital_cash", "dialysis_allowance"})
