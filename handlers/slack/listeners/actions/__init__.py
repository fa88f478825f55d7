"""Button presses (Block Kit actions)."""
