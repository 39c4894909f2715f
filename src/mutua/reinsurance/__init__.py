"""Reinsurance (再保险): treaties filed as data, ceded premium and recoveries in the books."""
