"""Words for the codes the domains store (statuses, reason codes, kinds), as msgids.

Templates translate them with ``_(labels[code])``; an unknown code shows as itself.
"""

from __future__ import annotations

from mutua.web.render import N_

CLAIM_STATUS = {
    "reported": N_("Reported"), "under_review": N_("Under review"), "decided": N_("Decided"),
    "awaiting_docs": N_("Waiting for documents from the member"),
    "paid": N_("Paid"), "closed": N_("Closed"), "reopened": N_("Reopened on appeal"),
    "awaiting_approval": N_("Override awaiting a second approver"),
}
CLAIM_OUTCOME = {
    "approve": N_("Approved"), "partly_approve": N_("Partly approved"), "deny": N_("Declined"),
    "approved": N_("Approved"), "partly_approved": N_("Partly approved"),
    "denied": N_("Declined"),
}
EVENT_TYPES = {"accident": N_("Accident"), "sudden_death": N_("Sudden death"),
               "illness": N_("Illness")}
CLAIM_REASONS = {
    "COVERED": N_("Covered"),
    "NOT_IN_FORCE": N_("The policy was not in force on the day of the event"),
    "WAITING_PERIOD": N_("The event fell within the waiting period"),
    "CLASS_EXCLUDED": N_("The occupation class at the time is not covered"),
    "EXCLUSION": N_("An exclusion of the policy applies"),
    "NO_SUCH_BENEFIT": N_("The policy has no such benefit"),
    "EVENT_NOT_COVERED": N_("This benefit does not cover this kind of event"),
    "DUPLICATE": N_("Already claimed before"),
    "DISABILITY_GRADE_SHARE": N_("Paid at the share set for the disability grade"),
    "DEDUCTIBLE": N_("The deductible was taken off"),
    "COINSURANCE": N_("Paid at the co-insurance share"),
    "OUT_OF_POCKET_CAP": N_("Capped at what you paid yourself"),
    "LIMIT": N_("Capped at the remaining sum insured"),
    "SHARED_SUM_INSURED_REDUCED": N_("Reduced: this benefit shares its sum insured with another"),
    "SUDDEN_DEATH_OVER_24H": N_("Death came more than 24 hours after the symptoms began"),
    "ALLOWANCE_DAYS_CAP": N_("Capped at the most days the benefit pays"),
    "PROGRESSION_NOT_VERIFIED": N_("Lab results do not confirm the kidney disease progressed"),
    "HANDLER_OVERRIDE": N_("Amount set by the claims handler, with a written reason"),
}
DOCUMENT_KINDS = {
    "invoice": N_("Invoice"), "medical_record": N_("Medical record"),
    "discharge_summary": N_("Discharge summary"), "id_card": N_("ID card"),
    "death_certificate": N_("Death certificate"),
    "disability_assessment": N_("Disability assessment"),
    "police_report": N_("Police or traffic report"), "bank_card": N_("Bank card"),
    "other": N_("Other"),
}
ALERT_STATUS = {"open": N_("Open"), "acknowledged": N_("Acknowledged"),
                "contacted": N_("Contacted"), "resolved": N_("Resolved")}
SEVERITY = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"),
            "critical": N_("Critical")}
ROLE_LABELS = {
    "admin": N_("Administrator"), "underwriter": N_("Underwriter"), "claims": N_("Claims handler"),
    "finance": N_("Finance"), "actuary": N_("Actuary"), "care": N_("Care coordinator"),
    "secretary": N_("Secretary"), "member": N_("Member"),
}
CLOSE_GATES = {
    "start_up_costs": N_("Start-up costs recovered"),
    "solvency": N_("Reserve at or above its minimum, no deficit carried"),
    "operating_fund": N_("Borrowed operating fund repaid"),
    "c_ross_solvency": N_("Solvency ratios at or above their thresholds (C-ROSS)"),
}
BENEFIT_KINDS = {
    "accidental_death": N_("Accidental death"), "disability": N_("Disability"),
    "accidental_medical": N_("Accidental medical expenses"), "sudden_death": N_("Sudden death"),
    "hospital_allowance": N_("Hospital allowance"),
    "ckd_progression": N_("Kidney disease progression"), "dialysis_start": N_("Start of dialysis"),
    "ckd_hospital_cash": N_("Kidney disease hospital cash"),
    "dialysis_allowance": N_("Dialysis allowance"), "transplant": N_("Kidney transplant"),
}
EXCLUSIONS = {
    "drunk_driving": N_("Driving under the influence of alcohol"),
    "unlicensed_driving": N_("Driving without a licence"),
    "self_harm": N_("Self-harm"), "war": N_("War"), "alcohol_abuse": N_("Alcohol abuse"),
    "overloading": N_("Overloaded vehicle"),
}
PROPOSAL_STATUS = {"draft": N_("Draft"), "open": N_("Open"), "closed": N_("Closed")}
PROJECT_STATUS = {"active": N_("Active"), "closed": N_("Closed"), "draft": N_("Draft")}
RESERVING_METHODS = {"bf": N_("Bornhuetter-Ferguson"), "chainladder": N_("Chain ladder")}
# How a close set the reserve for claims not yet reported (mutua.actuarial.patterns).
IBNR_BASES = {
    "bf_filed": N_("Bornhuetter-Ferguson on the products' filed reporting pattern"),
    "bf_blended": N_("Bornhuetter-Ferguson on the filed pattern blended with the pool's own"),
    "chainladder": N_("the pool's own chain ladder"),
}
FEEDBACK_STATUS = {"open": N_("Open"), "in_progress": N_("In progress"),
                   "answered": N_("Answered"), "done": N_("Done")}
FEEDBACK_SOURCE = {"meeting": N_("Meeting"), "rating": N_("Rating"), "member": N_("Member")}
SERVICE_KINDS = {"claim": N_("Claims"), "enrolment": N_("Enrolment"),
                 "care_contact": N_("Care contact")}
TEAMS = {"claims": N_("Claims team"), "enrolment": N_("Enrolment team"),
         "care": N_("Care team")}
TABLE_SOURCES = {"catalogue": N_("from the product definition"),
                 "proposal": N_("from a pricing proposal")}
MEETING_MODES = {"in_person": N_("In person"), "online": N_("Online")}

# What signing in as each demo member shows (mutua.demo.logins.story_members), with its facts.
DEMO_STORIES = {
    "uplifts": N_("Quarterly closes that raised the sum insured: %(closes)s"),
    "aid": N_("Received %(aid)s yuan of aid after a claim (%(quarter)s)"),
    "kidney": N_("Kidney patient, stage %(stage)s: results on file %(results)s, alerts in the "
                 "care queue %(alerts)s"),
    "voter": N_("Voted on “%(proposal)s”; check the ballot receipt with the secret below"),
    "policyholder": N_("A policy in force today"),
}


def demo_story(login: dict, gettext=lambda text: text, chinese: bool = False) -> str:
    """A demo sign-in's story in words (``login`` as ``StoryMember.to_dict`` gives it), in
    English or, with the page's ``gettext``, in the reader's language."""
    facts = dict(login["facts"])
    if login["story"] == "voter":
        facts["proposal"] = facts["title_zh"] if chinese else facts["title_en"]
    return gettext(DEMO_STORIES[login["story"]]) % facts
