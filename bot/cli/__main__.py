"""``python -m bot.cli`` is ``attendance-bot``."""

from bot.cli import main

main()
