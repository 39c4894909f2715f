"""What each notification says, in the member's language: a subject (the inbox line, the
e-mail subject) and a text (the SMS, the e-mail body). The msgids are translated in the
gettext catalogs like every page's words; the values are the notification's own (a claim
number, a quarter, an amount formatted for the language).

Nothing here ever carries an ID number or a health value: a kidney patient's alert says that
their care team has something for them, and the portal shows it after they sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mutua.web import i18n
from mutua.web.render import N_


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str


NOTICES = {
    "claim.reported": Notice(N_("Claim %(ref)s reported"),
                             N_("We have your claim %(ref)s. We will tell you each step.")),
    "claim.documents": Notice(N_("Claim %(ref)s needs more documents"),
                              N_("To decide claim %(ref)s we need more documents. The list is "
                                 "on the claim's page in the portal.")),
    "claim.decided": Notice(N_("Claim %(ref)s decided"),
                            N_("Claim %(ref)s is decided: %(amount)s approved. The reasons "
                               "are on the claim's page in the portal.")),
    "claim.paid": Notice(N_("Claim %(ref)s paid"),
                         N_("%(amount)s was paid on claim %(ref)s.")),
    "statement.published": Notice(
        N_("Statement for %(ref)s published"),
        N_("The %(ref)s quarter is closed and your statement is ready. The close added "
           "%(amount)s to your sum insured.")),
    "vote.opened": Notice(N_("A vote is open"),
                          N_("Voting is open: %(ref)s. Every member has one vote.")),
    "vote.closing": Notice(N_("Voting closes soon"),
                           N_("Voting on %(ref)s closes within a day. You have not voted yet.")),
    "vote.result": Notice(N_("The result of a vote"),
                          N_("The result of the vote on %(ref)s is published.")),
    "account.ready": Notice(N_("Your member account is ready"),
                            N_("Your member account %(ref)s is ready. To sign in the first "
                               "time, open the portal's sign-in page, follow \"First sign-in "
                               "or forgotten password?\" and ask for a code with this phone.")),
    "complaint.answered": Notice(N_("Your complaint %(ref)s is answered"),
                                 N_("We have answered your complaint %(ref)s. The answer is in "
                                    "the portal under Complaints.")),
    "premium.due": Notice(N_("Premium due on policy %(ref)s"),
                          N_("The premium of %(amount)s on policy %(ref)s is due. Cover starts "
                             "when it is paid; you can pay in the portal under Premiums.")),
    "premium.reminder": Notice(N_("Premium on policy %(ref)s still unpaid"),
                               N_("%(amount)s is still owed on policy %(ref)s. Unless it is "
                                  "paid within days the policy lapses and covers nothing.")),
    "premium.lapsed": Notice(N_("Policy %(ref)s lapsed"),
                             N_("The premium on policy %(ref)s was not paid in time, so the "
                                "policy lapsed and covers nothing. Anything paid in part is "
                                "refunded.")),
    "renewal.offered": Notice(N_("Renew policy %(ref)s"),
                              N_("Your policy %(ref)s can be renewed into the next period for "
                                 "%(amount)s, with no new waiting period. Accept or decline in "
                                 "the portal.")),
    "cover.ending": Notice(N_("Cover of policy %(ref)s ends soon"),
                           N_("Your policy %(ref)s ends soon and will not be renewed, so your "
                              "cover stops then. An offer you have not answered can still be "
                              "accepted in the portal until the last day.")),
    "health.alert": Notice(N_("A note from your care team"),
                           N_("Your care team has a new note about your kidney health. Please "
                              "sign in to read it.")),
}


def words(event: str, *, ref_text: str, amount: Decimal | None, locale: str) -> tuple[str, str]:
    """The subject and text of a notification in ``locale``."""
    notice = NOTICES[event]
    tr = i18n.translations(i18n.normalise(locale))
    values = {"ref": ref_text,
              "amount": i18n.format_money(amount, locale) if amount is not None else ""}
    return tr.gettext(notice.subject) % values, tr.gettext(notice.text) % values
