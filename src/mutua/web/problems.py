"""Refused form input, told in the reader's language.

Services name each problem in English (``Problem(field, rule)``) because the API answers in
English for programs. A page shows the same problem to a person, so the field becomes its
label on the form and the rule becomes a sentence in the reader's language::

    describe(Problem("amount", "must not be negative"))     # zh_CN: "金额：不得为负数"
    describe(Problem("quorum", "must be at most 100"))      # zh_CN: "…：不得超过100"

Field labels and rule sentences are gettext msgids (English), translated in the catalogs.
A rule is found in three steps:

1. a fixed rule is its own msgid, listed in ``FIXED_RULES`` so ``pybabel extract`` sees it;
2. a rule carrying values ("must be at most 100") matches one of ``RULE_SHAPES``, whose
   msgid names the values: ``"must be at most %(limit)s"`` -> ``"不得超过%(limit)s"``;
3. any other rule is shown as the service wrote it, so nothing is ever hidden.

Pydantic's own messages ("Field required", "Input should be a valid integer") take the same
path: they are rules like any other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mutua.errors import Problem
from mutua.web.i18n import format_date, format_datetime
from mutua.web.i18n import gettext as _
from mutua.web.render import N_

# The last part of a field path -> the label a person sees on the form.
FIELD_LABELS: dict[str, str] = {
    "amount": N_("Amount"),
    "memo": N_("Memo"),
    "offer_id": N_("Renewal offer"),
    "project": N_("Project"),
    "quarter": N_("Quarter"),
    "category": N_("Category"),
    "retention": N_("Retention (yuan)"),
    "rate": N_("Premium rate"),
    "reinstatements": N_("Reinstatements"),
    "reinstatement_rate": N_("Reinstatement premium rate"),
    "reinsurer": N_("Reinsurer"),
    "premium_factor": N_("Premium risk factor"),
    "reserve_factor": N_("Reserve risk factor"),
    "line": N_("Line of business"),
    # proposals, meetings and feedback (staff governance)
    "title_zh": N_("Title in Chinese"),
    "title_en": N_("Title in English"),
    "body_zh": N_("Text in Chinese"),
    "body_en": N_("Text in English"),
    "quorum": N_("Quorum (share of voters, e.g. 0.1)"),
    "days": N_("Days open"),
    "project_id": N_("Project"),
    "kind": N_("Kind"),
    "threshold": N_("Majority needed"),
    "opens_at": N_("Voting opens"),
    "closes_at": N_("Voting closes"),
    "uplift": N_("Sum-insured uplift, per cent"),
    "aid": N_("Mutual aid fund, per cent"),
    "services": N_("Member services, per cent"),
    "shares": N_("Shares of the surplus"),
    "effective_from": N_("From the close of quarter (e.g. 2026Q4)"),
    "seats": N_("Seats to fill"),
    "candidates": N_("Candidates' member numbers, one a line"),
    "mode": N_("How"),
    "place": N_("Place"),
    "starts_at": N_("Starts (Beijing time)"),
    "capacity": N_("Places"),
    "owner": N_("Owner"),
    "response": N_("Answer"),
    "status": N_("Status"),
    "text": N_("Text"),
    "minutes_zh": N_("Minutes in Chinese"),
    "score": N_("Score"),
    "comment": N_("Comment"),
    "service_kind": N_("Service"),
    "secret": N_("Receipt code"),
    # pricing from experience
    "product": N_("Product"),
    "product_id": N_("Product"),
    "product_code": N_("Product"),
    "period_id": N_("Sale period"),
    "period": N_("Sale period"),
    "experience_from": N_("Experience from"),
    "experience_to": N_("Experience to"),
    "experience": N_("Claims experience"),
    "cells": N_("Coefficients"),
    "coefficient": N_("Coefficient"),
    # claims (member and staff)
    "cover": N_("Policy and benefit"),
    "policy_id": N_("Policy and benefit"),
    "benefit_code": N_("Policy and benefit"),
    "event_date": N_("Date it happened"),
    "event_type": N_("What happened"),
    "event_at": N_("Time it happened"),
    "description": N_("What happened, in your words"),
    "items": N_("Claimed items"),
    "item_id": N_("Claimed item"),
    "claimed_amount": N_("Amount claimed (yuan), if you know it"),
    "invoice_amount": N_("Medical bills in total (yuan)"),
    "social_insurance_paid": N_("Of which social insurance paid (yuan)"),
    "other_insurance_paid": N_("Paid by other insurance (yuan)"),
    "hospital_days": N_("Days in hospital"),
    "disability_grade": N_("Disability grade (1 to 10), if assessed"),
    "symptoms_began_at": N_("When symptoms began"),
    "died_at": N_("Time of death"),
    "approved": N_("Amount to approve"),
    "reason": N_("Reason"),
    "documents_reason": N_("Why approve without the missing documents"),
    "on": N_("Date"),
    "file": N_("File"),
    "filename": N_("File"),
    "document_kind": N_("Kind"),
    "claim_ids": N_("Claims"),
    "duplicate_reason": N_("Why this is a second, separate event"),
    "limit": N_("Overdraft limit (yuan)"),
    "starts_on": N_("From"),
    "ends_on": N_("Until (inclusive)"),
    "by": N_("Staff user"),
    # kidney health
    "value": N_("Value"),
    "taken_on": N_("Date the sample was taken"),
    "effective": N_("Date the sample was taken"),
    "unit": N_("Unit"),
    "code": N_("Code"),
    "patient": N_("Patient"),
    "record": N_("Result"),
    "labs": N_("Lab results"),
    # buying cover (policies/offers.py, members/dependants.py)
    "accept_terms": N_("Terms read"),
    "insured_id": N_("Insured person"),
    "relation": N_("Relation"),
    "dependants": N_("Dependants"),
    "note": N_("Note"),
    "action": N_("Action"),
    "coordinator_user_id": N_("Care coordinator"),
    # members and enrolment
    "member": N_("Member"),
    "member_id": N_("Member"),
    "policy": N_("Policy"),
    "name": N_("Name"),
    "id_number": N_("ID card number"),
    "phone": N_("Phone"),
    "city": N_("City"),
    "occupation_code": N_("Occupation"),
    "occupation_class": N_("Occupation class"),
    # joining and resetting a password with a phone code
    "sms_code": N_("Code from the SMS"),
    "password_again": N_("The password again"),
    "login": N_("Member number or mobile phone"),
    "email_address": N_("E-mail address"),
    # complaints
    "cause": N_("What is it about?"),
    "claim_id": N_("The claim it is about (if any)"),
    "answer": N_("Answer to the member"),
    "locale": N_("Language of SMS and e-mail"),
    "age": N_("Age"),
    # the quarterly close and its settings
    "pure_risk_rate": N_("Pure risk rate"),
    "benefits": N_("Benefits"),
    "expected_loss_ratio": N_("Expected loss ratio"),
    "min_uplift_days": N_("Fewest days of cover left for an uplift"),
    "max_uplift_rate": N_("Largest uplift rate in one close"),
    "reporting_pattern": N_("Reporting pattern (share unreported per quarter)"),
    # care: lab imports, the kidney calculators and coordinator assignment
    "creatinine": N_("Serum creatinine"),
    "creatinine_unit": N_("Creatinine unit"),
    "cystatin_c": N_("Serum cystatin C (optional)"),
    "sex": N_("Sex"),
    "egfr": N_("eGFR"),
    "acr": N_("Urine albumin-creatinine ratio"),
    "acr_unit": N_("ACR unit"),
    "calibration": N_("Calibration"),
    "format": N_("Lab results file"),
    # meetings: attendance and minutes
    "numbers": N_("Or type member numbers, one a line"),
    "minutes_en": N_("Minutes in English"),
    # registering members and importing a group file (staff members)
    "password": N_("Password"),
    "header": N_("Column header"),
    # reserving, claim reserves and sale periods (staff actuarial, claims, catalogue)
    "loss_ratio": N_("Prior loss ratio"),
    "sale_start": N_("On sale from"),
    "sale_end": N_("On sale until (inclusive)"),
    "cover_start": N_("Cover starts"),
    "coefficient_table_id": N_("Coefficient table"),
    # meeting attendance; the trial balance's date (staff meetings, finance)
    "attended": N_("Members present"),
    "as_of": N_("Balances as of"),
    # a member's ballot: casting, checking and changing it (member governance)
    "choice": N_("Your choice"),
    "old_choice": N_("The choice on your receipt"),
    "new_choice": N_("Your new choice"),
}

# Rules with no values: each is its own msgid.
FIXED_RULES: frozenset[str] = frozenset({
    # the health declaration (policies/domain.py declaration_problems)
    N_("is required: answer yes or no"),
    N_("must be yes or no"),
    N_("is not a question of this product"),
    # confirming an enrolment (web/pages/member_enrol.py) and its policy document
    N_("must be ticked: you have read the terms, the exclusions and the waiting period"),
    N_("must be yourself or a dependant you pay for"),
    # dependants (members/dependants.py)
    N_("must be one of child, parent, spouse"),
    N_("a child must be younger than the member"),
    N_("a parent must be older than the member"),
    N_("a dependant cannot add dependants of their own"),
    N_("members enrol only themselves and the dependants they pay for"),
    N_("the policy document is issued when cover starts; this policy's premium is not paid"),
    # phone codes, joining and passwords (auth/phone_codes.py, auth/signup.py)
    N_("no code was sent to this phone; ask for a code"),
    N_("this code has already been used; ask for a new code"),
    N_("this code has expired; ask for a new code"),
    N_("too many wrong codes; ask for a new code"),
    N_("is not the code we sent"),
    N_("too many codes were sent to this phone; wait an hour and try again"),
    N_("too many codes were asked for from this address; wait an hour and try again"),
    N_("too many codes were asked for at once; try again in a minute"),
    N_("the SMS could not be sent; try again in a minute"),
    N_("does not match the password"),
    N_("no such open session"),
    # the working-day calendar (complaints/calendar_days.py)
    N_("a working day in place of a holiday must be a Saturday or Sunday"),
    # complaints (complaints/service.py)
    N_("is not one of your claims"),
    N_("is not an active user of the complaints team"),
    # how a member is told (notify/service.py)
    N_("must be zh_CN or en"),
    N_("is not an e-mail address"),
    N_("is required to be told by e-mail"),
    # numbers, money, dates (money.py, dates.py, shared checks)
    N_("is invalid"),
    N_("must not be negative"),
    N_("must be above zero"),
    # the premium cycle (policies.domain, premiums)
    N_("does not match the body: the callback is refused"),
    N_("names no premium due or invoice in this project"),
    N_("must be a JSON object"),
    N_("must come after the period renewed from"),
    # a product's cancellation terms (catalog/domain.py)
    N_("must be at least 0 and at most the premium"),
    N_("must be between 0 and 1 (100%)"),
    # renewal offers (policies/renewal_offers.py)
    N_("has expired: the cover it renews has ended"),
    N_("must be 1 to 32 characters when the premium is paid with the acceptance"),
    N_("premium unpaid: the policy covers nothing until its premium is paid"),
    N_("lapsed unpaid: the premium was not paid within the grace period, so the policy "
       "never covered a claim"),
    N_("must be greater than zero"),
    N_("must be a finite number"),
    N_("must be a decimal string or integer, not a float"),
    N_("must be a decimal string, not a float"),
    N_("must be below 1,000,000,000,000 yuan in size"),
    N_("must not be in the future"),
    N_("is in the future"),
    N_("must carry a timezone"),
    N_("times must carry a timezone"),
    N_("must be an object"),
    N_("is empty"),
    # the forms' own checks (web pages)
    N_("must be an amount in yuan"),
    N_("must be a whole number"),
    N_("choose a policy and benefit"),
    N_("must be a date"),
    N_("must be a number"),
    N_("must be a date and time"),
    N_("must be a date, e.g. 2026-01-01"),
    N_("must be a percentage, e.g. 60"),
    N_("choose a kind of result from the list"),
    N_("choose a product"),
    N_("choose one of the projects"),
    N_("must be claim or enrolment"),
    N_("must be a YAML file of at most 1 MB"),
    N_("must list the candidates' member numbers"),
    N_("an allocation change belongs to one project"),
    N_("a pricing proposal belongs to one project"),
    N_("a allocation proposal belongs to one project"),
    N_("the voting window has already ended"),
    # governance: proposals, ballots, meetings, feedback, ratings
    N_("must be simple or two_thirds"),
    N_("must be after opens_at"),
    N_("must be a share between 0 and 1, e.g. 0.2"),
    N_("must be a decimal share between 0 and 1, e.g. 0.2"),
    N_("a motion carries no payload"),
    N_("is required and must be an integer"),
    N_("must be a product of the proposal's project"),
    N_("must be a sale period of that product"),
    N_("the product has no coefficient table yet"),
    N_("must list the candidates' member ids"),
    N_("must be member ids"),
    N_("names a candidate twice"),
    N_("must be between 1 and the number of candidates"),
    N_("every candidate must be a member"),
    N_("every candidate must be a member of the project"),
    N_("must be above 0 and at most 100"),
    N_("must be a share between 0 and 1"),
    N_("needs integer age_min, age_max, occupation_class"),
    N_("must not be before experience_from"),
    N_("the product has no period that is not yet on sale"),
    N_("needs at least two cells with exposure"),
    N_("has no exposure to price from"),
    N_("needs claims: an expected cost of zero has no inverse"),
    N_("must be in_person or online"),
    N_("must be at least 1 when given"),
    N_("minutes need some text in Chinese or English"),
    N_("assign an owner before work starts"),
    N_("must be the 64 hex digits given when you voted"),
    N_("does not match a ballot on this proposal with that choice"),
    N_("must be a claim number (CL...), a policy number (P...) or a member number (M...)"),
    N_("name the choice shown on your receipt: this election allows too many ballots to find "
       "yours by the secret alone"),
    N_("must be a whole number from 1 to 5"),
    # refusals of a ballot or of a change of ballot that name no field (Conflict, Forbidden)
    N_("voting on this proposal has not opened"),
    N_("voting on this proposal has closed"),
    N_("ballots on this proposal cannot be changed"),
    N_("only a member who has voted on this proposal can change a ballot"),
    N_("only members vote, each for themselves"),
    N_("results are published when voting closes"),
    N_("the receipt list is published when voting closes"),
    N_("you have already voted on this proposal"),
    N_("you have already voted on this proposal; you may change your ballot with your "
       "receipt secret"),
    # the quarterly close and surplus allocation
    N_("is not a close setting"),
    N_("share must be a decimal between 0 and 1"),
    N_("a product needs a benefit with a pure risk rate to uplift"),
    N_("must be positive with at most 8 decimals"),
    # claims
    N_("at least one claimed item is required"),
    N_("must be a grade from 1 to 10 (JR/T 0083-2013)"),
    N_("must be a whole number of days, at least 1"),
    N_("sudden death needs the time symptoms began and the time of death"),
    N_("must not be before symptoms_began_at"),
    N_("is required for medical expenses"),
    N_("must not be below what social and other insurance paid"),
    N_("must fall on event_date (Shanghai time)"),
    N_("a written reason is required to override the engine"),
    N_("a written reason is required to answer an appeal"),
    N_("a written reason is required to decline a claim"),
    N_("name at least one document to ask for"),
    N_("say why the decision should be looked at again"),
    N_("type must be PDF, JPEG or PNG"),
    N_("must not be before event_at"),
    N_("say why the override is turned down"),
    N_("the handler who asked for the override cannot also approve it"),
    N_("a second approver signs in as themselves; the system cannot approve"),
    N_("only the claims team may answer an override request"),
    # cash and overdrafts (ledger)
    N_("say why the project may overdraw its cash"),
    N_("must not be before starts_on"),
    N_("only finance or an administrator may approve an overdraft"),
    N_("only finance or an administrator may withdraw an overdraft"),
    N_("must be a plain file name of at most 200 characters"),
    # kidney health
    N_("send at least one result"),
    N_("unknown LOINC code"),
    N_("missing or not a number"),
    N_("missing or not an ISO date-time"),
    N_("unknown patient"),
    N_("you may not see this patient"),
    N_("under 18: the adult eGFR equation does not apply"),
    N_("must be after 1970"),
    N_("duplicate of another record in this batch"),
    N_("duplicate of a stored result"),
    N_("must be acknowledge, contact or resolve"),
    N_("say how the alert was resolved"),
    N_("must be an active care coordinator"),
    N_("must be a real age in years (at most 120)"),
    N_("must be below 60: the KFRE is valid for G3-G5 only"),
    N_("must be above 0: the KFRE takes its logarithm"),
    N_("must be a FHIR Bundle (resourceType Bundle)"),
    N_("must be fhir or csv"),
    N_("is larger than the import limit"),
    N_("is larger than the upload limit"),
    # members, enrolment and sign-in
    N_("is required, at most 60 characters"),
    N_("is required, at most 40 characters"),
    N_("must be 17 digits followed by a digit or X"),
    N_("sequence code 000 is not issued"),
    N_("must be a mobile number (for SMS notices)"),
    N_("is not active"),
    N_("is required when staff enrol a member"),
    N_("kidney products are underwritten one by one on the applicant's own lab results"),
    N_("must be at least 8 characters"),
    N_("is required for member logins and only for them"),
    N_("is neither UTF-8 nor GB18030 text"),
    N_("is a legacy .xls workbook; save it as .xlsx or CSV"),
    N_("is named .xlsx but is not an Excel workbook"),
    N_("is binary, not a CSV text file or an .xlsx workbook"),
    N_("has a header but no rows"),
    # product definitions (catalogue)
    N_("must be a mapping with 'project' and 'products'"),
    N_("must be chainladder or bf"),
    N_("must be above 0 and at most 2"),
    N_("must be above 0 and at most 1"),
    N_("must be at least 0 and below 1"),
    # a product's filed reporting pattern (mutua.actuarial.patterns.check_pattern)
    N_("needs at least one quarter"),
    N_("must have at most 40 quarters"),
    N_("shares must be between 0 and 1"),
    N_("must not rise from one quarter to the next"),
    N_("must end at 0 (every claim reported)"),
    N_("ages must satisfy 0 <= min_age <= max_age <= 120"),
    N_("must be accident, ckd or health"),
    N_("must list occupation classes from 1 to 6"),
    N_("a product needs at least one benefit"),
    N_("medical benefits need co-insurance rates"),
    N_("daily benefits need daily_amount and max_days"),
    N_("lists a class twice"),
    N_("coefficients must be above zero"),
    N_("first age is above the last"),
    N_("at least one age band is needed"),
    N_("must not be before sale_start"),
    # reserving and credibility
    N_("must be a number >= 0"),
    N_("cover end must not be before its start"),
    N_("has no cells"),
    N_("needs at least two groups with data"),
    N_("needs a group observed in two periods or more"),
    N_("ratios and weights must be 2-D arrays of one shape"),
    N_("CSV header must be origin,development,value"),
    # pydantic's own messages (requests a form could not have sent)
    N_("Field required"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid integer"),
    N_("Input should be a valid integer, got a number with a fractional part"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Input should be a valid number"),
    N_("Input should be a valid decimal"),
    N_("Input should be a finite number"),
    N_("Input should be a valid boolean, unable to interpret input"),
    N_("Input should be a valid boolean"),
    N_("Input should be a valid string"),
    N_("Input should be a valid list"),
    N_("Input should be a valid dictionary"),
    N_("Extra inputs are not permitted"),
    N_("String should have at least 1 character"),
    # surplus allocation adopted by finance (staff finance page)
    N_("must be a percentage from 0 to 100 with at most 2 decimals"),
    N_("must be 1 to 50 characters"),
    # necessary costs by category (staff finance page, settlement expenses)
    N_("must be one of staff, systems, claims_handling, member_services"),
    # reinsurance treaties and recoveries (reinsurance/service.py)
    N_("must be per_risk or catastrophe"),
    N_("must be 1 to 100 characters"),
    N_("must be an amount in yuan above zero, to the fen, at most 10,000,000,000"),
    N_("must be a share from 0 to 1 with at most 6 decimals"),
    N_("must be a whole number from 0 to 10"),
    N_("must be on or after starts_on, at most three years later"),
    N_("must not be before the recovery was recorded"),
    # solvency factors (settlement/capital.py)
    N_("must be accident, health or ckd"),
    N_("must be a share above 0 and at most 1 with at most 4 decimals"),
    N_("must say where the factors come from in 5 to 200 characters"),
    # sign-in and accounts
    N_("is not this account's password"),
    # a workbook its own reading process could not read within its limits (xlsx_reader.py)
    N_("needs more memory or time to read than an upload may use (a sheet far larger than "
       "its file); split it or save it as CSV"),
})


def _shape(pattern: str, msgid: str) -> tuple[re.Pattern[str], str]:
    return re.compile(pattern), msgid


# Rules that carry values: the whole rule must match; the named groups fill the msgid.
# Specific shapes come before general ones ("must be 1 to 200 characters" before "… to …").
RULE_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # lengths, bounds and lists of choices (many services)
    _shape(r"is outside the (?P<seconds>\d+)-second window around now",
           N_("is outside the %(seconds)s-second window around now")),
    _shape(r"must be 1 to (?P<limit>\d+) characters",
           N_("must be 1 to %(limit)s characters")),
    _shape(r"must be (?P<least>\d+) to (?P<most>\d+) characters",
           N_("must be %(least)s to %(most)s characters")),
    _shape(r"must be at most (?P<limit>\d+) characters",
           N_("must be at most %(limit)s characters")),
    _shape(r"must be at least (?P<limit>\d+) characters",
           N_("must be at least %(limit)s characters")),
    _shape(r"must be at most (?P<limit>\S+)", N_("must be at most %(limit)s")),
    _shape(r"must be at least (?P<limit>\S+)", N_("must be at least %(limit)s")),
    _shape(r"must be between (?P<low>\S+) and (?P<high>\S+)",
           N_("must be between %(low)s and %(high)s")),
    _shape(r"must be between (?P<low>\S+) and (?P<high>\S+) days",
           N_("must be between %(low)s and %(high)s days")),
    _shape(r"must be on or after (?P<day>\S+)", N_("must be on or after %(day)s")),
    _shape(r"must be on or before (?P<day>\S+)", N_("must be on or before %(day)s")),
    _shape(r"must be open or one of (?P<choices>.+)",
           N_("must be open or one of %(choices)s")),
    _shape(r"must be one of (?P<choices>.+), got (?P<got>.+)",
           N_("must be one of %(choices)s, got %(got)s")),
    _shape(r"must be one of (?P<choices>.+)", N_("must be one of %(choices)s")),
    _shape(r"must be after the last closed quarter \((?P<quarter>\S+)\)",
           N_("must be after the last closed quarter (%(quarter)s)")),
    _shape(r"must be above zero and at most the (?P<owed>\S+) owed",
           N_("must be above zero and at most the %(owed)s owed")),
    _shape(r"overlaps treaty (?P<code>.+) of the same kind",
           N_("overlaps treaty %(code)s of the same kind")),
    _shape(r"unknown product (?P<code>.+)", N_("unknown product %(code)s")),
    _shape(r"unknown project (?P<code>.+)", N_("unknown project %(code)s")),
    _shape(r"unknown period (?P<code>.+)", N_("unknown period %(code)s")),
    _shape(r"unknown member (?P<code>.+)", N_("unknown member %(code)s")),
    # votes refused for the state of their proposal (governance service)
    _shape(r"voting opens at (?P<when>\S+)", N_("voting opens at %(when)s")),
    _shape(r"the voting window runs until (?P<when>\S+)",
           N_("the voting window runs until %(when)s")),
    _shape(r"proposal (?P<number>\d+) is (?P<status>\w+), not a draft",
           N_("proposal %(number)s is %(status)s, not a draft")),
    _shape(r"proposal (?P<number>\d+) is (?P<status>\w+), not open",
           N_("proposal %(number)s is %(status)s, not open")),
    # the close's checks, as the close preview gives their reasons (settlement/close.py)
    _shape(r"start-up costs are covered", N_("start-up costs are covered")),
    _shape(r"start-up costs covered: (?P<recovered>\S+) recovered this quarter",
           N_("start-up costs covered: %(recovered)s recovered this quarter")),
    _shape(r"start-up costs not yet covered: (?P<left>\S+) outstanding after recovering "
           r"(?P<recovered>\S+); nothing may be distributed",
           N_("start-up costs not yet covered: %(left)s outstanding after recovering "
              "%(recovered)s; nothing may be distributed")),
    _shape(r"stabilisation reserve (?P<reserve>\S+) is at or above its minimum (?P<minimum>\S+) "
           r"and no deficit is carried",
           N_("stabilisation reserve %(reserve)s is at or above its minimum %(minimum)s and no "
              "deficit is carried")),
    _shape(r"reserve (?P<reserve>\S+) below its minimum (?P<minimum>\S+) or deficit "
           r"(?P<deficit>\S+) carried forward: surplus is retained",
           N_("reserve %(reserve)s below its minimum %(minimum)s or deficit %(deficit)s carried "
              "forward: surplus is retained")),
    _shape(r"no borrowed initial operating fund outstanding",
           N_("no borrowed initial operating fund outstanding")),
    _shape(r"initial operating fund (?P<fund>\S+) outstanding; no repayment approved by the "
           r"member assembly and the regulator, so none is made",
           N_("initial operating fund %(fund)s outstanding; no repayment approved by the member "
              "assembly and the regulator, so none is made")),
    _shape(r"repayment of the initial operating fund is suspended while start-up costs are "
           r"uncovered or solvency is insufficient; surplus is retained",
           N_("repayment of the initial operating fund is suspended while start-up costs are "
              "uncovered or solvency is insufficient; surplus is retained")),
    _shape(r"reserve plus undistributed surplus (?P<total>\S+) has not yet reached the fund "
           r"outstanding (?P<fund>\S+): surplus is retained until the approved repayment can "
           r"be made",
           N_("reserve plus undistributed surplus %(total)s has not yet reached the fund "
              "outstanding %(fund)s: surplus is retained until the approved repayment can be "
              "made")),
    _shape(r"approved instalment of (?P<repaid>\S+) repaid on the initial operating fund; "
           r"(?P<left>\S+) remains",
           N_("approved instalment of %(repaid)s repaid on the initial operating fund; "
              "%(left)s remains")),
    # the C-ROSS solvency gate (settlement/solvency.py gate_reason)
    _shape(r"no insurance risk on the books: minimum capital is zero",
           N_("no insurance risk on the books: minimum capital is zero")),
    _shape(r"comprehensive solvency ratio (?P<comp>\S+)% \(at least 100%\), core (?P<core>\S+)% "
           r"\(at least 50%\): below a threshold, so no surplus is distributed",
           N_("comprehensive solvency ratio %(comp)s%% (at least 100%%), core %(core)s%% (at "
              "least 50%%): below a threshold, so no surplus is distributed")),
    _shape(r"comprehensive solvency ratio (?P<comp>\S+)% \(at least 100%\), core (?P<core>\S+)% "
           r"\(at least 50%\): only (?P<allowed>\S+) may be distributed and keep both ratios "
           r"at their thresholds; the rest is retained",
           N_("comprehensive solvency ratio %(comp)s%% (at least 100%%), core %(core)s%% (at "
              "least 50%%): only %(allowed)s may be distributed and keep both ratios at their "
              "thresholds; the rest is retained")),
    _shape(r"comprehensive solvency ratio (?P<comp>\S+)% \(at least 100%\), core (?P<core>\S+)% "
           r"\(at least 50%\)",
           N_("comprehensive solvency ratio %(comp)s%% (at least 100%%), core %(core)s%% (at "
              "least 50%%)")),
    # why the close reserved IBNR as it did (actuarial/patterns.py choose_basis)
    _shape(r"the pool has 1 development quarter \(needs (?P<needed>\d+)\)",
           N_("the pool has 1 development quarter (needs %(needed)s)")),
    _shape(r"the pool has (?P<quarters>\d+) development quarters \(needs (?P<needed>\d+)\)",
           N_("the pool has %(quarters)s development quarters (needs %(needed)s)")),
    _shape(r"the pool has (?P<claims>\d+) claims \(needs (?P<needed>\d+)\)",
           N_("the pool has %(claims)s claims (needs %(needed)s)")),
    _shape(r"(?P<quarters>\d+) development quarters and (?P<claims>\d+) claims: the pool's own "
           r"pattern has credibility (?P<z>\S+) \(full at (?P<full>\d+) claims\); the project "
           r"books its chain ladder",
           N_("%(quarters)s development quarters and %(claims)s claims: the pool's own pattern "
              "has credibility %(z)s (full at %(full)s claims); the project books its chain "
              "ladder")),
    _shape(r"(?P<quarters>\d+) development quarters and (?P<claims>\d+) claims: the pool's own "
           r"pattern has credibility (?P<z>\S+) \(full at (?P<full>\d+) claims\)",
           N_("%(quarters)s development quarters and %(claims)s claims: the pool's own pattern "
              "has credibility %(z)s (full at %(full)s claims)")),
    # numbers and dates typed in (money.py, dates.py, payloads, clinical)
    _shape(r"must be a number, got (?P<got>.+)", N_("must be a number, got %(got)s")),
    _shape(r"must be a number of years, got (?P<got>.+)",
           N_("must be a number of years, got %(got)s")),
    _shape(r"must be a real date as YYYY-MM-DD, got (?P<got>.+)",
           N_("must be a real date as YYYY-MM-DD, got %(got)s")),
    _shape(r"must be M followed by 9 digits, got (?P<got>.+)",
           N_("must be M followed by 9 digits, got %(got)s")),
    _shape(r"must look like 2026Q3, got (?P<got>.+)",
           N_("must look like 2026Q3, got %(got)s")),
    _shape(r"must be a quarter from (?P<first>\S+) to (?P<last>\S+), got (?P<got>.+)",
           N_("must be a quarter from %(first)s to %(last)s, got %(got)s")),
    _shape(r"must be F or M, got (?P<got>.+)", N_("must be F or M, got %(got)s")),
    _shape(r"must be (?P<age>\d+) or over: the adult equations do not apply",
           N_("must be %(age)s or over: the adult equations do not apply")),
    # the quarterly close and surplus shares
    _shape(r"(?P<quarter>\S+) has not ended \(it ends (?P<end>\S+)\)",
           N_("%(quarter)s has not ended (it ends %(end)s)")),
    _shape(r"(?P<quarter>\S+) is already closed \(last close (?P<last>\S+)\); "
           r"choose a later quarter",
           N_("%(quarter)s is already closed (last close %(last)s); choose a later quarter")),
    _shape(r"(?P<quarter>\S+) has already ended; choose the current quarter or later",
           N_("%(quarter)s has already ended; choose the current quarter or later")),
    _shape(r"uplift, aid and services must add up to 100%, got (?P<total>\S+)%",
           N_("uplift, aid and services must add up to 100%%, got %(total)s%%")),
    _shape(r"must add up to 100%, got (?P<total>\S+)%",
           N_("must add up to 100%%, got %(total)s%%")),
    # refusals of the close and of a vote that name no field (Conflict, NotFound)
    _shape(r"(?P<project>\S+): a later quarter \((?P<later>\S+)\) is already closed",
           N_("%(project)s: a later quarter (%(later)s) is already closed")),
    _shape(r"(?P<project>\S+): close (?P<previous>\S+) first \(last close (?P<last>\S+)\)",
           N_("%(project)s: close %(previous)s first (last close %(last)s)")),
    _shape(r"(?P<quarter>\S+) is already closed with different inputs \(allocation policy, "
           r"settings or reserving method changed\); a closed quarter is never edited, so the "
           r"change applies from the next close",
           N_("%(quarter)s is already closed with different inputs (allocation policy, settings "
              "or reserving method changed); a closed quarter is never edited, so the change "
              "applies from the next close")),
    _shape(r"(?P<project>\S+) (?P<quarter>\S+) has not been closed",
           N_("%(project)s %(quarter)s has not been closed")),
    _shape(r"proposal (?P<id>\d+) is (?P<status>\S+), not open",
           N_("proposal %(id)s is %(status)s, not open")),
    _shape(r"proposal (?P<id>\d+) is (?P<status>\S+), not a draft",
           N_("proposal %(id)s is %(status)s, not a draft")),
    _shape(r"the voting window runs until (?P<until>\S+)",
           N_("the voting window runs until %(until)s")),
    _shape(r"feedback is (?P<status>\S+); its status only moves forward",
           N_("feedback is %(status)s; its status only moves forward")),
    # governance
    _shape(r"a (?P<kind>\S+) proposal belongs to one project",
           N_("a %(kind)s proposal belongs to one project")),
    _shape(r"period (?P<period>\S+) is already on sale; choose a later period",
           N_("period %(period)s is already on sale; choose a later period")),
    _shape(r"(?P<option>.+) is not an option of this proposal \(options: (?P<options>.+)\)",
           N_("%(option)s is not an option of this proposal (options: %(options)s)")),
    _shape(r"choose 1 to (?P<limit>\d+) different options, or abstain alone",
           N_("choose 1 to %(limit)s different options, or abstain alone")),
    _shape(r"(?P<number>\S+) is not a member number", N_("%(number)s is not a member number")),
    _shape(r"cell for ages (?P<ages>\S+), class (?P<cls>\S+) is given twice",
           N_("cell for ages %(ages)s, class %(cls)s is given twice")),
    _shape(r"ages (?P<ages>\S+), class (?P<cls>\S+) is not a cell of the product's table",
           N_("ages %(ages)s, class %(cls)s is not a cell of the product's table")),
    _shape(r"missing cell for ages (?P<ages>\S+), class (?P<cls>\S+)",
           N_("missing cell for ages %(ages)s, class %(cls)s")),
    _shape(r"is required before the item is (?P<status>\S+)",
           N_("is required before the item is %(status)s")),
    # claims
    _shape(r"is outside the policy's cover (?P<start>\S+) to (?P<end>\S+)",
           N_("is outside the policy's cover %(start)s to %(end)s")),
    _shape(r"(?P<code>.+) is not a benefit of this policy",
           N_("%(code)s is not a benefit of this policy")),
    _shape(r"must not be before the report on (?P<day>\S+)",
           N_("must not be before the report on %(day)s")),
    _shape(r"cannot approve less than the (?P<paid>\S+) already paid",
           N_("cannot approve less than the %(paid)s already paid")),
    _shape(r"(?P<item>\S+) is not an item of this claim",
           N_("%(item)s is not an item of this claim")),
    _shape(r"required documents are missing \((?P<documents>.+)\): attach them, or say "
           r"why the claim is approved without them",
           N_("required documents are missing (%(documents)s): attach them, or say why the "
              "claim is approved without them")),
    _shape(r"must not exceed (?P<ceiling>\S+) for this item",
           N_("must not exceed %(ceiling)s for this item")),
    _shape(r"must be within the event's window (?P<start>\S+) to (?P<end>\S+)",
           N_("must be within the event's window %(start)s to %(end)s")),
    _shape(r"claim (?P<claim>\S+) already reports this event \(same policy, date and type\)",
           N_("claim %(claim)s already reports this event (same policy, date and type)")),
    _shape(r"claim (?P<claim>\S+) has an override awaiting a second approver; approve or "
           r"reject it first",
           N_("claim %(claim)s has an override awaiting a second approver; approve or reject "
              "it first")),
    _shape(r"no override of claim (?P<claim>\S+) awaits approval",
           N_("no override of claim %(claim)s awaits approval")),
    _shape(r"another payment batch for (?P<project>\S+) is running, or a handler is changing "
           r"one of its claims; run again when it has finished",
           N_("another payment batch for %(project)s is running, or a handler is changing one "
              "of its claims; run again when it has finished")),
    _shape(r"another payment batch for (?P<project>\S+) ran at the same time; run again to "
           r"pay what is left",
           N_("another payment batch for %(project)s ran at the same time; run again to pay "
              "what is left")),
    _shape(r"cash is (?P<short>\S+) yuan short: this needs (?P<amount>\S+), the cash balance "
           r"is (?P<balance>\S+) and the approved overdraft (?P<overdraft>\S+)",
           N_("cash is %(short)s yuan short: this needs %(amount)s, the cash balance is "
              "%(balance)s and the approved overdraft %(overdraft)s")),
    _shape(r"overdraft (?P<id>\d+) is in force over those dates; withdraw it first",
           N_("overdraft %(id)s is in force over those dates; withdraw it first")),
    _shape(r"overdraft (?P<id>\d+) is already withdrawn",
           N_("overdraft %(id)s is already withdrawn")),
    _shape(r"(?P<user>.+) is not an active staff user", N_("%(user)s is not an active staff user")),
    _shape(r"(?P<user>.+) is not an active claims handler",
           N_("%(user)s is not an active claims handler")),
    _shape(r"claim (?P<claim>\S+) is (?P<status>\S+): documents can be asked for only while it "
           r"is open and not already waiting",
           N_("claim %(claim)s is %(status)s: documents can be asked for only while it is open "
              "and not already waiting")),
    _shape(r"claim (?P<claim>\S+) is (?P<status>\S+): only open claims are assigned",
           N_("claim %(claim)s is %(status)s: only open claims are assigned")),
    _shape(r"claim (?P<claim>\S+) is not approved and unpaid in this project",
           N_("claim %(claim)s is not approved and unpaid in this project")),
    _shape(r"is larger than the (?P<limit>\S+) bytes allowed",
           N_("is larger than the %(limit)s bytes allowed")),
    _shape(r"content is not a (?P<type>\S+) file", N_("content is not a %(type)s file")),
    # kidney health
    _shape(r"(?P<what>.+) is not physiologically possible \(plausible (?P<low>\S+)-(?P<high>\S+)"
           r" (?P<unit>\S+)\)",
           N_("%(what)s is not physiologically possible (plausible %(low)s-%(high)s %(unit)s)")),
    _shape(r"unknown unit (?P<unit>.+) for (?P<kind>[^;]+); use one of (?P<units>.+)",
           N_("unknown unit %(unit)s for %(kind)s; use one of %(units)s")),
    _shape(r"unknown unit (?P<unit>.+) for (?P<kind>\S+)",
           N_("unknown unit %(unit)s for %(kind)s")),
    _shape(r"unknown kind (?P<kind>.+); known: (?P<kinds>.+)",
           N_("unknown kind %(kind)s; known: %(kinds)s")),
    _shape(r"a spouse must be at least (?P<age>\d+) \(the legal age of marriage\)",
           N_("a spouse must be at least %(age)s (the legal age of marriage)")),
    _shape(r"at most (?P<count>\d+) dependants a member",
           N_("at most %(count)s dependants a member")),
    _shape(r"answered (?P<answer>\S+): this product does not cover that risk, so it "
           r"cannot be bought",
           N_("answered %(answer)s: this product does not cover that risk, so it cannot be "
              "bought")),
    _shape(r"needs a creatinine result from the last (?P<days>\d+) days; none on file",
           N_("needs a creatinine result from the last %(days)s days; none on file")),
    _shape(r"needs a urine ACR result from the last (?P<days>\d+) days; none on file",
           N_("needs a urine ACR result from the last %(days)s days; none on file")),
    _shape(r"stage (?P<stage>\S+) \(eGFR (?P<egfr>\S+) on (?P<day>\S+)\) is not covered: "
           r"this product covers (?P<stages>.+)",
           N_("stage %(stage)s (eGFR %(egfr)s on %(day)s) is not covered: this product "
              "covers %(stages)s")),
    _shape(r"stage (?P<stage>\S+) is not covered: this product needs albuminuria "
           r"(?P<albuminuria>.+)",
           N_("stage %(stage)s is not covered: this product needs albuminuria "
              "%(albuminuria)s")),
    _shape(r"CSV needs the columns (?P<columns>.+); missing (?P<missing>.+)",
           N_("CSV needs the columns %(columns)s; missing %(missing)s")),
    _shape(r"is not JSON: (?P<detail>.+)", N_("is not JSON: %(detail)s")),
    _shape(r"is not valid FHIR R4: (?P<detail>.+)", N_("is not valid FHIR R4: %(detail)s")),
    # members, identity and enrolment
    _shape(r"must be 18 characters, got (?P<got>\d+)", N_("must be 18 characters, got %(got)s")),
    _shape(r"area code (?P<code>\S+) is not a Chinese province-level area",
           N_("area code %(code)s is not a Chinese province-level area")),
    _shape(r"birth date (?P<day>\S+) is not a real date",
           N_("birth date %(day)s is not a real date")),
    _shape(r"birth date (?P<day>\S+) is impossible", N_("birth date %(day)s is impossible")),
    _shape(r"check character is (?P<got>\S+), expected (?P<expected>\S+) "
           r"\(ISO 7064 MOD 11-2\)",
           N_("check character is %(got)s, expected %(expected)s (ISO 7064 MOD 11-2)")),
    _shape(r"is not a valid phone number: (?P<got>.+)",
           N_("is not a valid phone number: %(got)s")),
    _shape(r"is not a phone number: (?P<got>.+)", N_("is not a phone number: %(got)s")),
    _shape(r"unknown occupation code (?P<code>.+); see the occupation table",
           N_("unknown occupation code %(code)s; see the occupation table")),
    _shape(r"unknown occupation code (?P<code>.+)", N_("unknown occupation code %(code)s")),
    _shape(r"is not open for sale on (?P<day>\S+) \(open (?P<start>\S+) to (?P<end>\S+)\)",
           N_("is not open for sale on %(day)s (open %(start)s to %(end)s)")),
    _shape(r"is (?P<age>\d+) at cover start; (?P<product>\S+) covers ages (?P<low>\d+) to "
           r"(?P<high>\d+)",
           N_("is %(age)s at cover start; %(product)s covers ages %(low)s to %(high)s")),
    _shape(r"class (?P<cls>\S+) is not covered by (?P<product>\S+)",
           N_("class %(cls)s is not covered by %(product)s")),
    _shape(r"no coefficient for age (?P<age>\S+), class (?P<cls>\S+)",
           N_("no coefficient for age %(age)s, class %(cls)s")),
    _shape(r"member (?P<member>\S+) not found", N_("member %(member)s not found")),
    _shape(r"member already holds a (?P<product>\S+) policy for period (?P<period>\S+)",
           N_("member already holds a %(product)s policy for period %(period)s")),
    _shape(r"is larger than the limit of (?P<limit>\S+) bytes",
           N_("is larger than the limit of %(limit)s bytes")),
    _shape(r"has more than (?P<limit>\S+) rows; split it",
           N_("has more than %(limit)s rows; split it")),
    _shape(r"is not well-formed CSV: (?P<detail>.+)", N_("is not well-formed CSV: %(detail)s")),
    _shape(r"is not a readable \.xlsx workbook \((?P<detail>.+)\)",
           N_("is not a readable .xlsx workbook (%(detail)s)")),
    _shape(r"holds (?P<parts>\S+) parts; a workbook has at most (?P<limit>\S+)",
           N_("holds %(parts)s parts; a workbook has at most %(limit)s")),
    _shape(r"unpacks to (?P<size>\S+) bytes, more than the (?P<limit>\S+) allowed; split it "
           r"or save it as CSV",
           N_("unpacks to %(size)s bytes, more than the %(limit)s allowed; split it or save "
              "it as CSV")),
    # documents of any kind: JSON bodies, FHIR bundles, YAML definitions (bounds.py)
    _shape(r"must not nest deeper than (?P<limit>\d+) levels",
           N_("must not nest deeper than %(limit)s levels")),
    _shape(r"must hold at most (?P<limit>\d+) values, aliases expanded",
           N_("must hold at most %(limit)s values, aliases expanded")),
    _shape(r"must be at most (?P<limit>\d+) characters as JSON",
           N_("must be at most %(limit)s characters as JSON")),
    _shape(r"must be a date from (?P<first>\S+) to (?P<last>\S+)",
           N_("must be a date from %(first)s to %(last)s")),
    # claims triangles: the valuation day and the span (claims/triangles.py)
    _shape(r"must not be after today \((?P<day>\S+)\)",
           N_("must not be after today (%(day)s)")),
    _shape(r"must not be before the project's first cover \((?P<day>\S+)\)",
           N_("must not be before the project's first cover (%(day)s)")),
    _shape(r"the triangle would span (?P<span>\d+) quarters; at most (?P<limit>\d+) can be built",
           N_("the triangle would span %(span)s quarters; at most %(limit)s can be built")),
    _shape(r"is not a member list: its first line names none of the columns (?P<columns>.+)",
           N_("is not a member list: its first line names none of the columns %(columns)s")),
    _shape(r"must name the columns (?P<columns>.+) once each \((?P<detail>.+)\)",
           N_("must name the columns %(columns)s once each (%(detail)s)")),
    # product definitions (catalogue)
    _shape(r"is not valid YAML: (?P<detail>.+)", N_("is not valid YAML: %(detail)s"),
           ),
    _shape(r"(?P<code>\S+) appears twice", N_("%(code)s appears twice")),
    _shape(r"names no benefit of this product: (?P<code>.+)",
           N_("names no benefit of this product: %(code)s")),
    _shape(r"missing class (?P<classes>.+) that the product allows",
           N_("missing class %(classes)s that the product allows")),
    _shape(r"class (?P<classes>.+) is not allowed by the product",
           N_("class %(classes)s is not allowed by the product")),
    _shape(r"needs (?P<count>\d+) coefficients, one per class",
           N_("needs %(count)s coefficients, one per class")),
    _shape(r"must cover ages (?P<low>\d+) to (?P<high>\d+) exactly",
           N_("must cover ages %(low)s to %(high)s exactly")),
    _shape(r"age bands (?P<first>\S+) and (?P<second>\S+) overlap",
           N_("age bands %(first)s and %(second)s overlap")),
    _shape(r"ages (?P<low>\S+) to (?P<high>\S+) have no band",
           N_("ages %(low)s to %(high)s have no band")),
    _shape(r"ages (?P<ages>\S+) list a class twice", N_("ages %(ages)s list a class twice")),
    _shape(r"ages (?P<ages>\S+) miss class (?P<classes>.+)",
           N_("ages %(ages)s miss class %(classes)s")),
    _shape(r"ages (?P<ages>\S+) have extra classes", N_("ages %(ages)s have extra classes")),
    _shape(r"expected claims (?P<cost>\S+) over the term for ages (?P<ages>\S+), class "
           r"(?P<cls>\S+) are not within (?P<tolerance>\S+) of premium x expected loss ratio "
           r"(?P<target>\S+); check the pure risk rates",
           N_("expected claims %(cost)s over the term for ages %(ages)s, class %(cls)s are not "
              "within %(tolerance)s of premium x expected loss ratio %(target)s; check the "
              "pure risk rates")),
    # reserving
    _shape(r"no premium for origin (?P<origin>\S+)", N_("no premium for origin %(origin)s")),
    _shape(r"premium of origin (?P<origin>\S+) must be greater than zero",
           N_("premium of origin %(origin)s must be greater than zero")),
    _shape(r"cell (?P<cell>\S+) appears twice", N_("cell %(cell)s appears twice")),
    _shape(r"value (?P<value>.+) is not a number", N_("value %(value)s is not a number")),
    _shape(r"value (?P<value>.+) must be a finite number >= 0",
           N_("value %(value)s must be a finite number >= 0")),
    _shape(r"origin (?P<origin>\S+) has a hole in its development",
           N_("origin %(origin)s has a hole in its development")),
    _shape(r"origin (?P<origin>\S+) is developed further than an older origin",
           N_("origin %(origin)s is developed further than an older origin")),
    _shape(r"origin (?P<origin>\S+) falls from (?P<high>\S+) to (?P<low>\S+) at development "
           r"(?P<dev>\S+): values must be cumulative, not incremental",
           N_("origin %(origin)s falls from %(high)s to %(low)s at development %(dev)s: "
              "values must be cumulative, not incremental")),
    # pydantic's own messages
    _shape(r"Input should be greater than or equal to (?P<limit>\S+)",
           N_("must be at least %(limit)s")),
    _shape(r"Input should be less than or equal to (?P<limit>\S+)",
           N_("must be at most %(limit)s")),
    _shape(r"Input should be greater than (?P<limit>\S+)",
           N_("must be greater than %(limit)s")),
    _shape(r"Input should be less than (?P<limit>\S+)", N_("must be less than %(limit)s")),
    _shape(r"String should have at most (?P<limit>\d+) characters?",
           N_("must be at most %(limit)s characters")),
    _shape(r"String should have at least (?P<limit>\d+) characters?",
           N_("must be at least %(limit)s characters")),
    _shape(r"Input should be a valid date.*", N_("must be a date")),
    _shape(r"Input should be a valid datetime.*", N_("must be a date and time")),
    _shape(r"Input should be (?P<choices>'.+)", N_("must be one of %(choices)s")),
    _shape(r"String should match pattern '.+'", N_("is not in the expected form")),
    _shape(r"List should have at least (?P<limit>\d+) items? after validation, not \d+",
           N_("needs at least %(limit)s entries")),
    _shape(r"Decimal input should have no more than (?P<limit>\d+) decimal places?",
           N_("must have at most %(limit)s decimal places")),
    _shape(r"Decimal input should have no more than (?P<limit>\d+) digits? in total",
           N_("must have at most %(limit)s digits")),
)

# Pydantic wraps a validator's own rule: "Value error, must be a date".
_WRAPPED = re.compile(r"(?:Value|Assertion) error, (?P<rule>.+)", re.S)
# Parts of a field path that only wrap the form's own fields: "payload.seats", "items[0].x".
_WRAPPER = re.compile(r"payload|body|query|form|items\[\d+\]")
_INDEX = re.compile(r"\[\d+\]$")


def field_label(field: str) -> str:
    """The label of a field on its form; a nested path keeps where it is.

    In English: ``"payload.seats"`` -> ``"Seats to fill"`` (the payload only wraps the form);
    ``"products[0].benefits[1].pure_risk_rate"`` -> ``"products[0].benefits[1] Pure risk
    rate"``; a field with no label is shown as given.
    """
    parts = field.split(".")
    key = _INDEX.sub("", parts[-1])
    if key not in FIELD_LABELS:
        return field
    label = _(FIELD_LABELS[key])
    where = [p for p in parts[:-1] if not _WRAPPER.fullmatch(p)]
    return f"{'.'.join(where)} {label}" if where else label


def rule_words(rule: str) -> str:
    """The rule in the reader's language; a rule no catalog knows stays as written.

    In Chinese: ``"must not be negative"`` -> ``"不得为负数"``; ``"must be at most 100"`` ->
    ``"不得超过100"``; ``"Value error, must be a date"`` -> ``"须为日期"``.
    """
    if rule in FIXED_RULES:
        return _(rule)
    wrapped = _WRAPPED.fullmatch(rule)
    if wrapped:
        return rule_words(wrapped.group("rule"))
    for pattern, msgid in RULE_SHAPES:
        match = pattern.fullmatch(rule)
        if match:
            return _(msgid, **{k: _value_words(k, v) for k, v in match.groupdict().items()})
    return _(rule)


# Stored codes a rule can carry, shown in the reader's words (mutua.web.labels tables).
_VALUE_TABLES = {"status": ("PROPOSAL_STATUS", "CLAIM_STATUS", "PROJECT_STATUS")}


def _value_words(name: str, value: str) -> str:
    """A value carried by a rule, as the page shows such values: an ISO date or time as a
    date in the reader's language (``2026-01-31T16:00:00+00:00`` -> "2026年2月1日 00:00:00"
    in Chinese), a status code in words; anything else as written."""
    from mutua.web import labels

    if name == "documents":  # document kinds, as the claim's checklist names them
        return _(", ").join(_(labels.DOCUMENT_KINDS.get(k, k)) for k in value.split(", "))
    for table in _VALUE_TABLES.get(name, ()):
        msgid = getattr(labels, table, {}).get(value)
        if msgid:
            return _(msgid)
    if len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" in value or " " in value:
            return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        return format_date(moment.date())
    return value


def describe(problem: Problem, label: str | None = None) -> str:
    """One line for the page: the field's label (``label``: as its form shows it) and the
    broken rule, translated."""
    return _("%(field)s: %(rule)s", field=label or field_label(problem.field),
             rule=rule_words(problem.rule))


class Described(list):
    """Lines for the page, one per problem, that remember the problems they describe: a
    page rendering them after a refused POST also gets each one beside its field
    (mutua.web.refill)."""

    def __init__(self, lines, problems=()):
        super().__init__(lines)
        self.problems = list(problems)

    def __add__(self, other):
        return Described([*self, *other], [*self.problems, *getattr(other, "problems", [])])

    def __radd__(self, other):
        return Described([*other, *self], self.problems)


def describe_all(exc: Exception, *, lead: str | None = None) -> Described:
    """Every problem of a refusal, or its message when it names no field; ``lead`` first."""
    problems = getattr(exc, "problems", None)
    first = [lead] if lead else []
    if problems:
        return Described([*first, *(describe(p) for p in problems)], problems)
    return Described([*first, rule_words(str(getattr(exc, "message", exc)))])
