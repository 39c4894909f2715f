"""Premium collection: bank and payment-platform settlement files, online payments through a
payment provider, and the reconciliation queue finance works (issue 18 item 2)."""
