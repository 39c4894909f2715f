"""Every domain's tables, imported so Base.metadata and Alembic see them all."""

from mutua import numbering  # noqa: F401
from mutua.actuarial import models as actuarial_models  # noqa: F401
from mutua.audit import models as audit_models  # noqa: F401
from mutua.auth import models as auth_models  # noqa: F401
from mutua.catalog import models as catalog_models  # noqa: F401
from mutua.claims import models as claims_models  # noqa: F401
from mutua.complaints import models as complaints_models  # noqa: F401
from mutua.governance import models as governance_models  # noqa: F401
from mutua.health import models as health_models  # noqa: F401
from mutua.jobs import models as jobs_models  # noqa: F401
from mutua.ledger import models as ledger_models  # noqa: F401
from mutua.members import models as members_models  # noqa: F401
from mutua.notify import models as notify_models  # noqa: F401
from mutua.policies import models as policies_models  # noqa: F401
from mutua.premiums import models as premiums_models  # noqa: F401
from mutua.reinsurance import models as reinsurance_models  # noqa: F401
from mutua.settlement import models as settlement_models  # noqa: F401
