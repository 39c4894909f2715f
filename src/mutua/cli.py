"""The `mutua` command: operators' and actuaries' entry point. Each domain mounts its own."""

from __future__ import annotations

import sys

import typer

from mutua import wiring  # noqa: F401  (joins the domains' hooks before any use case runs)
from mutua.actuarial.cli import app as actuarial
from mutua.auth.cli import app as users
from mutua.catalog.cli import app as catalog
from mutua.claims.cli import app as claims
from mutua.complaints.cli import app as calendar
from mutua.errors import DomainError
from mutua.governance.cli import app as governance
from mutua.health.cli import app as health
from mutua.jobs import cli as jobs
from mutua.ledger.cli import app as ledger
from mutua.members.cli import app as members
from mutua.notify.cli import app as notify
from mutua.ops import cli as ops
from mutua.policies.cli import app as policies
from mutua.premiums.cli import app as premiums
from mutua.privacy.cli import app as privacy
from mutua.reinsurance.cli import app as reinsurance
from mutua.settings import SecretKeyRefused
from mutua.settlement.cli import app as settle

app = typer.Typer(help="mutua: operating platform for a mutual insurer.", no_args_is_help=True)


def _mount() -> None:
    for name, sub in [("users", users), ("members", members), ("catalog", catalog),
                      ("policies", policies), ("ledger", ledger), ("claims", claims),
                      ("settle", settle), ("actuarial", actuarial), ("governance", governance),
                      ("health", health), ("jobs", jobs.app),
                      ("reinsurance", reinsurance), ("premiums", premiums),
                      ("notify", notify), ("calendar", calendar),
                      ("privacy", privacy)]:
        app.add_typer(sub, name=name)
    app.command("worker")(jobs.worker)
    ops.register(app)


_mount()


def main() -> None:
    """Run the CLI; a DomainError becomes one line on stderr and exit code 2."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        app()  # standalone mode: usage errors and typer.Exit set the exit code themselves
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2)
    except SecretKeyRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            print("error: the database has no schema yet; run `mutua init` first", file=sys.stderr)
            sys.exit(2)
        raise
