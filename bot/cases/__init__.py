"""Absence cases: one episode of unexplained absence, its log, and how it ends."""
