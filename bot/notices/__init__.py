"""Absence notices: what families already told the school, and the sessions it covers (issue 15)."""
