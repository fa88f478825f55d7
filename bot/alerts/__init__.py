"""Alerts to staff (pastoral channel, DSL, attendance lead): raised once, delivered by a sender."""
