"""Understanding parents' free-text replies (offline: vocabulary tables, no model)."""
