"""Sending a message by SMS or e-mail, whoever it is for: the senders and what they share."""
