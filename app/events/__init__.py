"""Outbound events (Standard Webhooks): `emit` writes an event to the outbox in the caller's
transaction (outbox.py); the workers deliver it (delivery.py)."""

from app.events.outbox import emit

__all__ = ["emit"]
