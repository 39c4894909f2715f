"""Telling members things: the notifications outbox and its delivery (the senders are in
messaging)."""
