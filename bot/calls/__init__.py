"""Automated voice calls to families: the script in their language, and what happened on the call."""
