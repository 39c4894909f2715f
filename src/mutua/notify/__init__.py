"""Telling members things: SMS and e-mail senders, the notifications outbox and its delivery."""
