"""Money through a payment provider: the provider interface (a checkout, a refund), its signed
callbacks, and the lines of the settlement files that banks and wallets send."""
