"""The member's personal data across every domain: its export, the closing of the account and
the purge after retention (above the domains, since each reads them all)."""
