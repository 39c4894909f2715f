"""Where the domains are joined that a lower package calls but may not import (mutua/hooks.py).

Imported by every process that runs use cases: the web app, the jobs (jobs/kinds.py), the
command line (mutua/cli.py), the benchmarks and the tests' conftest. Nothing in a domain
package imports it.
"""

from __future__ import annotations

from mutua.catalog import service as catalog_service
from mutua.claims import workflow
from mutua.health import underwriting as health_underwriting
from mutua.ledger import service as ledger_service
from mutua.notify import delivery
from mutua.policies import underwriting
from mutua.reinsurance import service as reinsurance_service
from mutua.settlement import terms as settlement_terms
from mutua.web import notices

# A project's chart of accounts is opened when the catalogue creates the project.
catalog_service.project_created.join(ledger_service.open_books)
# Kidney products are underwritten on the member's own lab results, which health keeps.
underwriting.kidney_labs.join(health_underwriting.kidney_labs)
underwriting.underwrite.join(health_underwriting.underwrite)
# A decision that changes a claim's approved amount books what the treaties owe.
workflow.approved_changed.join(reinsurance_service.on_decision)
# A treaty term may not start inside a quarter the project has closed.
reinsurance_service.last_closed_quarter.join(settlement_terms.last_closed_quarter)
# A notification is delivered in the words the member's inbox shows, in their language.
delivery.notice_words.join(notices.words)
