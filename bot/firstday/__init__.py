"""First-day response: at register close, message the families of unexplained absences; chase daily."""
