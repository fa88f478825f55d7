"""Escalation of unexplained absence: the day-3 / day-4 / day-5 ladder, re-alerts and DSL emails."""
